package ioc

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// Classify types a single value that a person typed, for example the argument
// of `/enrich 1.2.3[.]4`. The value is trimmed, unwrapped from one pair of
// quotes or brackets and refanged first, because people paste indicators
// straight from defanged reports.
//
// Unlike Extract, Classify applies no prose heuristics: someone who asks to
// enrich update.zip means the domain, not the file. Every value that Extract
// returns classifies to the same type, value and scope. Host and user names
// are never returned because a bare word carries no type.
func Classify(value string) (Indicator, bool) {
	v := unwrap(strings.TrimSpace(value))
	v, _ = refang(v)
	v = strings.TrimSpace(v)
	if v == "" {
		return Indicator{}, false
	}
	if strings.Contains(v, "://") {
		u, ok := parseURL(v)
		if !ok {
			return Indicator{}, false
		}
		return Indicator{Type: TypeURL, Value: u.value, Scope: u.scope}, true
	}
	if at := strings.LastIndexByte(v, '@'); at >= 0 {
		local, domain := v[:at], toLowerASCII(v[at+1:])
		if !validEmail(local, domain) {
			return Indicator{}, false
		}
		return Indicator{Type: TypeEmail, Value: toLowerASCII(local) + "@" + domain}, true
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return ipIndicator(a), true
	}
	if c, ok := parseCVE(v); ok {
		return Indicator{Type: TypeCVE, Value: c}, true
	}
	if t, ok := hashType(v); ok {
		return Indicator{Type: t, Value: toLowerASCII(v)}, true
	}
	if d := strings.TrimSuffix(toLowerASCII(v), "."); validDomain(d) {
		return Indicator{Type: TypeDomain, Value: d}, true
	}
	return Indicator{}, false
}

// unwrap removes one pair of enclosing quotes or brackets, as in "[::1]" or
// `<alice@example.com>`, which chat clients and mail headers add.
func unwrap(v string) string {
	if len(v) < 2 {
		return v
	}
	switch v[0:1] + v[len(v)-1:] {
	case `""`, "''", "``", "<>", "[]", "()":
		return strings.TrimSpace(v[1 : len(v)-1])
	}
	return v
}

// validDomain reports whether d (lower case, no trailing dot) is a
// registrable name under an ICANN-managed public suffix. See the package
// documentation for why private suffixes fall back to their ICANN part.
func validDomain(d string) bool {
	if len(d) < 4 || len(d) > 253 {
		return false
	}
	start, labels := 0, 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			c := d[i]
			if !(isDigit(c) || c >= 'a' && c <= 'z' || c == '-') {
				return false
			}
			continue
		}
		l := d[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	if labels < 2 {
		return false
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if !validTLD(tld) || tld == "arpa" { // arpa holds reverse-DNS names, not registrations
		return false
	}
	suffix := icannSuffix(d)
	return suffix != "" && len(d) > len(suffix)
}

// validTLD rejects numeric and other odd last labels before the public
// suffix lookup, so that version strings never reach it.
func validTLD(t string) bool {
	if strings.HasPrefix(t, "xn--") {
		return len(t) > 4
	}
	if len(t) < 2 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 'a' || t[i] > 'z' {
			return false
		}
	}
	return true
}

// icannSuffix returns the longest ICANN-managed public suffix of d, or ""
// when d does not end in one. publicsuffix.PublicSuffix reports private
// suffixes (github.io) as non-ICANN, so the leading labels are stripped until
// the ICANN part (io) is reached.
func icannSuffix(d string) string {
	ps, icann := publicsuffix.PublicSuffix(d)
	for !icann {
		dot := strings.IndexByte(ps, '.')
		if dot < 0 {
			return ""
		}
		ps, icann = publicsuffix.PublicSuffix(ps[dot+1:])
	}
	return ps
}

// validEmail checks the common, dot-atom form of an address. Quoted local
// parts are legal but never seen in phishing reports, and accepting them
// would let prose in.
func validEmail(local, domain string) bool {
	if len(local) == 0 || len(local) > 64 || local[0] == '.' || local[len(local)-1] == '.' ||
		strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		if !isLocal(local[i]) {
			return false
		}
	}
	return validDomain(domain)
}

// hashType types a hex digest by its length. All-digit strings and runs of a
// single character are rejected: they are counters, padding or placeholders
// far more often than real digests.
func hashType(v string) (Type, bool) {
	var t Type
	switch len(v) {
	case 32:
		t = TypeMD5
	case 40:
		t = TypeSHA1
	case 64:
		t = TypeSHA256
	default:
		return "", false
	}
	digits, same := true, true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isHex(c) {
			return "", false
		}
		if !isDigit(c) {
			digits = false
		}
		if c|0x20 != v[0]|0x20 {
			same = false
		}
	}
	if digits || same {
		return "", false
	}
	return t, true
}

// parseCVE accepts CVE-YYYY-NNNN... in any case and returns it in the upper
// case form used by NVD and MITRE, so lookups and deduplication agree.
func parseCVE(v string) (string, bool) {
	if len(v) < 13 || len(v) > 16 || !hasFoldPrefix(v, "cve-") || v[8] != '-' {
		return "", false
	}
	for i := 4; i < len(v); i++ {
		if i != 8 && !isDigit(v[i]) {
			return "", false
		}
	}
	if y := v[4:8]; y < "1999" || y > "2099" {
		return "", false
	}
	return "CVE" + v[3:], true
}

// urlInfo is a parsed, normalised URL and the indicator for its host.
type urlInfo struct {
	value   string
	scope   Scope
	host    Indicator // zero Type for localhost
	hostOff int       // offset of the host in value
}

// parseURL validates and normalises an http, https or ftp URL. The scheme
// and host are lower-cased (they are case-insensitive), the rest is kept as
// written because paths are case-sensitive. The host must be an IP address,
// localhost or a valid public domain; URLs to single-label or internal names
// are not indicators anyone can look up.
func parseURL(raw string) (urlInfo, bool) {
	k := strings.Index(raw, "://")
	if k <= 0 {
		return urlInfo{}, false
	}
	scheme := toLowerASCII(raw[:k])
	switch scheme {
	case "http", "https", "ftp":
	default:
		return urlInfo{}, false
	}
	rest := raw[k+3:]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	nonASCII := false
	for i := 0; i < len(rest); {
		if c := rest[i]; c >= utf8.RuneSelf {
			// Letters in the path or query (an IRI) are allowed and
			// percent-encoded below; hosts must be ASCII or punycode.
			r, n := utf8.DecodeRuneInString(rest[i:])
			if i < authEnd || !isUniWord(r) {
				return urlInfo{}, false
			}
			nonASCII = true
			i += n
			continue
		}
		if !isURL(rest[i]) || defangTokenAt(rest, i) {
			return urlInfo{}, false
		}
		i++
	}
	auth := rest[:authEnd]
	at := strings.LastIndexByte(auth, '@')
	userinfo, hp := auth[:at+1], auth[at+1:]

	u := urlInfo{hostOff: len(scheme) + 3 + len(userinfo)}
	var hostText, port string
	if strings.HasPrefix(hp, "[") {
		e := strings.IndexByte(hp, ']')
		if e < 0 {
			return urlInfo{}, false
		}
		hostText = hp[:e+1]
		if after := hp[e+1:]; after != "" {
			if after[0] != ':' {
				return urlInfo{}, false
			}
			port = after[1:]
			if port == "" {
				return urlInfo{}, false
			}
		}
		a, err := netip.ParseAddr(hp[1:e])
		if err != nil || !a.Is6() {
			return urlInfo{}, false
		}
		u.host = ipIndicator(a)
		u.hostOff++
	} else {
		hostText = hp
		if c := strings.LastIndexByte(hp, ':'); c >= 0 {
			hostText, port = hp[:c], hp[c+1:]
			if port == "" {
				return urlInfo{}, false
			}
		}
		h := toLowerASCII(hostText)
		if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
			u.host = ipIndicator(a)
		} else if h == "localhost" {
			u.scope = ScopeLoopback
		} else if d := strings.TrimSuffix(h, "."); validDomain(d) {
			u.host = Indicator{Type: TypeDomain, Value: d}
		} else {
			return urlInfo{}, false
		}
	}
	if port != "" && !validPort(port) {
		return urlInfo{}, false
	}
	if u.host.Type != "" {
		u.scope = u.host.Scope
	}
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(userinfo)
	b.WriteString(toLowerASCII(hostText))
	b.WriteString(hp[len(hostText):])
	if nonASCII {
		writePercentEncoded(&b, rest[authEnd:])
	} else {
		b.WriteString(rest[authEnd:])
	}
	u.value = b.String()
	return u, true
}

// writePercentEncoded writes s with its non-ASCII bytes percent-encoded,
// which is how browsers send an IRI path, so the value is a plain URI that
// lookup services and Classify accept.
func writePercentEncoded(b *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		} else {
			b.WriteByte(c)
		}
	}
}

func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n > 0 && n <= 65535
}

// validHostname accepts the host names found in structured alert fields,
// which are often internal (ws-042, db01.corp.local) and so need not have a
// public suffix. Windows names may contain underscores. A name must contain a
// letter so that numeric ids do not pass.
func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	letter := false
	start := 0
	for i := 0; i <= len(h); i++ {
		if i < len(h) && h[i] != '.' {
			c := h[i]
			if !isLabel(c) || class[c]&cUpper != 0 {
				return false
			}
			if isAlpha(c) {
				letter = true
			}
			continue
		}
		l := h[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		start = i + 1
	}
	return letter
}
