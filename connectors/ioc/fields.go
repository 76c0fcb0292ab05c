package ioc

import (
	"net/netip"
	"sort"
	"strings"
)

// fieldKind says what a structured alert field is expected to hold.
type fieldKind int

const (
	kindIP     fieldKind = iota + 1 // an address and nothing else
	kindHost                        // a host name, or an address
	kindDomain                      // a DNS name: domain if public, else host name; or an address
	kindUser                        // an account name
	kindURL                         // a full URL
	kindEmail                       // one or more mailbox addresses
	kindMD5                         // MD5 digests only
	kindSHA1                        // SHA-1 digests only
	kindSHA256                      // SHA-256 digests only
	kindHash                        // digests typed by length, or ALGO=hex lists
	kindCVE                         // a CVE id
)

// fieldKinds maps lower-cased field names from ECS, common SIEMs (Splunk CIM,
// CEF, QRadar, Windows event data, Defender) and Suricata EVE to kinds.
var fieldKinds = map[string]fieldKind{}

func init() {
	add := func(k fieldKind, names ...string) {
		for _, n := range names {
			fieldKinds[n] = k
		}
	}
	add(kindIP,
		"source.ip", "destination.ip", "client.ip", "server.ip", "host.ip", "related.ip",
		"observer.ip", "source.nat.ip", "destination.nat.ip", "src_ip", "dest_ip", "dst_ip",
		"srcip", "dstip", "destip", "source_ip", "destination_ip", "sourceip", "destinationip",
		"src_addr", "dest_addr", "dst_addr", "srcaddr", "dstaddr", "sourceaddress",
		"destinationaddress", "src", "dst", "ip", "ipaddress", "ip_address", "ipaddr",
		"remoteip", "remote_ip", "remote_addr", "localip", "local_ip", "clientip",
		"client_ip", "c-ip", "s-ip", "calleripaddress", "remoteipaddress", "localipaddress")
	add(kindHost,
		"host.name", "host.hostname", "hostname", "host", "host_name", "agent.name",
		"agent.hostname", "observer.hostname", "observer.name", "computer", "computername",
		"computer_name", "devicename", "device_name", "dvc_host", "src_host", "dest_host",
		"dst_host", "shost", "dhost", "workstation", "workstationname", "workstation_name",
		"source.hostname", "destination.hostname")
	add(kindDomain,
		"dns.question.name", "dns.question.registered_domain", "dns.query", "dns.rrname",
		"rrname", "query", "query_name", "queryname", "url.domain", "url.registered_domain",
		"destination.domain", "source.domain", "server.domain", "client.domain", "domain",
		"dest_domain", "src_domain", "tls.client.server_name", "tls.sni", "sni", "server_name",
		"http.hostname", "fqdn")
	add(kindUser,
		"user.name", "user", "username", "user_name", "source.user.name",
		"destination.user.name", "related.user", "src_user", "dest_user", "suser", "duser",
		"targetusername", "subjectusername", "accountname", "account_name", "account",
		"samaccountname", "userprincipalname", "initiatinguser", "logon_user", "cs-username")
	add(kindURL,
		"url.full", "url.original", "http.url", "url", "request_url", "requesturl",
		"http.request.referrer", "referrer", "referer", "page_url", "fileurl", "file_url")
	add(kindEmail,
		"user.email", "email", "email.from.address", "email.to.address", "email.sender.address",
		"email.reply_to.address", "source.user.email", "destination.user.email", "sender",
		"recipient", "from", "to", "mail_from", "rcpt_to", "reply_to", "reply-to",
		"senderfromaddress", "recipientemailaddress")
	add(kindMD5, "file.hash.md5", "hash.md5", "md5", "md5_hash", "filehash_md5", "process.hash.md5", "dll.hash.md5")
	add(kindSHA1, "file.hash.sha1", "hash.sha1", "sha1", "sha1_hash", "filehash_sha1", "process.hash.sha1", "dll.hash.sha1")
	add(kindSHA256, "file.hash.sha256", "hash.sha256", "sha256", "sha256_hash", "filehash_sha256",
		"process.hash.sha256", "dll.hash.sha256", "initiatingprocesssha256")
	add(kindHash, "hash", "hashes", "file.hash", "filehash", "file_hash", "file_hashes", "process.hash")
	add(kindCVE, "vulnerability.id", "cve", "cve_id", "cveid", "vulnerability.cve")
}

// kindType is the one type a field kind may yield, where there is one.
var kindType = map[fieldKind]Type{
	kindURL: TypeURL, kindEmail: TypeEmail, kindCVE: TypeCVE,
	kindMD5: TypeMD5, kindSHA1: TypeSHA1, kindSHA256: TypeSHA256,
}

// lookupField finds a field's kind. Leading path segments are dropped one at
// a time, so that nested exports (_source.host.name,
// threat.indicator.file.hash.sha256, winlog.event_data.TargetUserName) match
// the table without listing every prefix.
func lookupField(name string) (fieldKind, bool) {
	k := strings.ToLower(strings.TrimSpace(name))
	k = strings.ReplaceAll(k, " ", "_")
	for {
		if kind, ok := fieldKinds[k]; ok {
			return kind, true
		}
		dot := strings.IndexByte(k, '.')
		if dot < 0 {
			return 0, false
		}
		k = k[dot+1:]
	}
}

// FromFields maps the fields of a structured alert to typed indicators. Only
// fields whose names it knows are used: free-text fields such as message
// belong to Extract, and guessing at unknown fields would turn ids and
// counters into indicators. Every value is validated against what its field
// should hold, so an ip field holding garbage (or "-") yields nothing, and a
// sha256 field holding an MD5 yields nothing rather than a mislabelled hash.
//
// Multi-valued fields (related.ip as "a, b", Sysmon's
// "SHA256=...,IMPHASH=...") are split. Host names and users keep the case
// rules of their kind: host names are lower-cased, user names are kept as
// written because some directories are case-sensitive.
//
// The result is deduplicated and ordered by field name so that the same
// alert always gives the same list. No allowlist is applied; use
// Allowlist.Filter.
func FromFields(fields map[string]string) []Indicator {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Indicator
	seen := make(map[Indicator]struct{})
	for _, n := range names {
		kind, ok := lookupField(n)
		if !ok {
			continue
		}
		for _, in := range fieldIndicators(kind, fields[n]) {
			if _, dup := seen[in]; !dup {
				seen[in] = struct{}{}
				out = append(out, in)
			}
		}
	}
	return out
}

// fieldIndicators validates one field value against its kind.
func fieldIndicators(kind fieldKind, value string) []Indicator {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	if kind == kindUser {
		if u, ok := userIndicator(value); ok {
			return []Indicator{u}
		}
		return nil
	}
	var parts []string
	if kind == kindURL {
		parts = strings.Fields(value)
	} else {
		parts = strings.FieldsFunc(value, func(r rune) bool {
			return r == ',' || r == ';' || r == '|' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
		})
	}
	var out []Indicator
	for _, p := range parts {
		// Try the part as it is first: [2001:db8::1]:443 needs its
		// brackets, while "8.8.8.8" from a JSON array string does not.
		in, ok := fieldPart(kind, p)
		if !ok {
			in, ok = fieldPart(kind, strings.Trim(p, `"'[]<>()`))
		}
		if ok {
			out = append(out, in)
		}
	}
	return out
}

func fieldPart(kind fieldKind, p string) (Indicator, bool) {
	if p == "" {
		return Indicator{}, false
	}
	switch kind {
	case kindIP, kindHost, kindDomain:
		if a, ok := parseFieldAddr(p); ok {
			return ipIndicator(a), true
		}
		if kind == kindIP {
			return Indicator{}, false
		}
		h, _ := refang(p)
		h = strings.TrimSuffix(toLowerASCII(h), ".")
		if kind == kindDomain && validDomain(h) {
			return Indicator{Type: TypeDomain, Value: h}, true
		}
		if validHostname(h) && !placeholder(h) {
			return Indicator{Type: TypeHostname, Value: h}, true
		}
	case kindURL, kindEmail, kindCVE:
		if in, ok := Classify(p); ok && in.Type == kindType[kind] {
			return in, true
		}
	case kindMD5, kindSHA1, kindSHA256, kindHash:
		algo := ""
		if eq := strings.IndexByte(p, '='); eq >= 0 { // Sysmon: SHA256=ABC...
			algo, p = strings.ToLower(p[:eq]), p[eq+1:]
		}
		t, ok := hashType(p)
		if !ok {
			return Indicator{}, false
		}
		want := kindType[kind]
		switch algo {
		case "":
		case "md5", "sha1", "sha256":
			if Type(algo) != t {
				return Indicator{}, false
			}
		default: // IMPHASH, SHA384...: not a file digest we can type
			return Indicator{}, false
		}
		if want != "" && want != t {
			return Indicator{}, false
		}
		return Indicator{Type: t, Value: toLowerASCII(p)}, true
	}
	return Indicator{}, false
}

// parseFieldAddr accepts an address with an optional port, as firewalls log
// them (198.51.100.7:443, [2001:db8::1]:443).
func parseFieldAddr(p string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(p); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(p); err == nil {
		return ap.Addr(), true
	}
	if r, _ := refang(p); r != p {
		return parseFieldAddr(r)
	}
	return netip.Addr{}, false
}

// userIndicator keeps a user name as written, minus placeholders that SIEMs
// write for "no user", and refuses control characters and absurd lengths
// that show the field holds something else.
func userIndicator(v string) (Indicator, bool) {
	if len(v) > 256 || placeholder(strings.ToLower(v)) {
		return Indicator{}, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return Indicator{}, false
		}
	}
	return Indicator{Type: TypeUser, Value: v}, true
}

func placeholder(v string) bool {
	switch v {
	case "-", "--", "n/a", "na", "none", "null", "(null)", "nil", "unknown", "undefined", "?", "empty":
		return true
	}
	return false
}
