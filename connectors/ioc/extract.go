package ioc

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Options tunes Extract.
type Options struct {
	// Allow drops indicators that the organisation knows to be benign, such
	// as its own domains and address ranges, so that they are neither shown
	// as findings nor sent to lookup services.
	Allow Allowlist
}

// Extract finds the indicators in free text: IPv4 and IPv6 addresses, URLs,
// domains, e-mail addresses, MD5/SHA-1/SHA-256 digests and CVE ids. Defanged
// forms are recognised and refanged. The result is deduplicated and in order
// of first appearance, which is the order a responder reads the alert in.
//
// Each kind is found by its own hand-written scanner that makes a single pass
// over the text, so the cost grows linearly with the input; megabyte log
// pastes are fine. See the package documentation for the rules that decide
// what counts as a domain.
func Extract(text string, opts Options) []Indicator {
	t, marks := refang(text)
	x := extractor{s: t, marks: marks}
	x.urls()
	x.emails()
	x.ipv6()
	x.ipv4()
	x.domains()
	sort.Slice(x.domainSpans, func(i, j int) bool { return x.domainSpans[i].start < x.domainSpans[j].start })
	x.hashes()
	x.cves()

	// Order by position, ties broken by the order the scanners ran in,
	// which keeps the result deterministic. Sorting indexes rather than
	// the entries avoids moving strings around.
	order := make([]int32, len(x.found))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if pa, pb := x.found[a].pos, x.found[b].pos; pa != pb {
			return pa - pb
		}
		return int(a - b)
	})
	out := make([]Indicator, 0, len(x.found))
	seen := make(map[Indicator]struct{}, len(x.found))
	for _, i := range order {
		f := &x.found[i]
		if _, dup := seen[f.in]; dup {
			continue
		}
		seen[f.in] = struct{}{}
		if opts.Allow.Allows(f.in) {
			continue
		}
		out = append(out, f.in)
	}
	return out
}

type found struct {
	pos int
	in  Indicator
}

// span is a half-open byte range of the refanged text. Spans of one kind are
// appended in increasing, non-overlapping order, so membership is a binary
// search.
type span struct{ start, end int }

type spans []span

func (ss spans) contains(pos int) bool {
	i := sort.Search(len(ss), func(i int) bool { return ss[i].end > pos })
	return i < len(ss) && ss[i].start <= pos
}

type extractor struct {
	s     string
	marks []int // offsets where refang replaced something
	found []found

	urlSpans, emailSpans, ip6Spans, domainSpans spans
}

func (x *extractor) add(pos int, in Indicator) {
	x.found = append(x.found, found{pos, in})
}

// defanged reports whether a refang replacement happened inside [a, b).
func (x *extractor) defanged(a, b int) bool {
	i := sort.SearchInts(x.marks, a)
	return i < len(x.marks) && x.marks[i] < b
}

// urls finds scheme://... runs. A URL ends at the first character that
// cannot appear in one unquoted, and trailing punctuation and unbalanced
// closing brackets are trimmed because prose and Markdown put them there.
func (x *extractor) urls() {
	s := x.s
	for off := 0; off < len(s); {
		k := strings.Index(s[off:], "://")
		if k < 0 {
			return
		}
		k += off
		next := k + 3
		j := k
		for j > off && isAlpha(s[j-1]) {
			j--
		}
		if j == k || j > 0 && (isWord(s[j-1]) || s[j-1] == '+' || s[j-1] == '.' || s[j-1] == '-') {
			off = next
			continue
		}
		// Check the authority first: it ends at the next '/', so rejecting
		// a bad candidate costs no more than the text up to the next
		// "://", which keeps runs like http://http://http://... linear.
		e := next
		for e < len(s) && isURL(s[e]) && s[e] != '/' && s[e] != '?' && s[e] != '#' && !defangTokenAt(s, e) {
			e++
		}
		if _, ok := parseURL(s[j:trimURLEnd(s, next, e)]); !ok || uniWordAt(s, e) {
			off = next
			continue
		}
		for e < len(s) {
			if s[e] >= utf8.RuneSelf {
				r, n := utf8.DecodeRuneInString(s[e:])
				if !isUniWord(r) { // curly quotes, non-breaking spaces
					break
				}
				e += n
				continue
			}
			if !isURL(s[e]) || defangTokenAt(s, e) {
				break
			}
			e++
		}
		off = e
		e = trimURLEnd(s, next, e)
		u, ok := parseURL(s[j:e])
		if !ok {
			continue
		}
		x.add(j, Indicator{Type: TypeURL, Value: u.value, Scope: u.scope})
		x.urlSpans = append(x.urlSpans, span{j, e})
		if u.host.Type != "" {
			x.add(j+u.hostOff, u.host)
			if u.host.Type == TypeDomain {
				x.domainSpans = append(x.domainSpans, span{j + u.hostOff, j + u.hostOff + len(u.host.Value)})
			}
		}
	}
}

// trimURLEnd drops trailing punctuation and closing brackets that have no
// opening partner inside the URL (the ")" of "(see http://x/y)").
func trimURLEnd(s string, start, e int) int {
	var open, closed [3]int // (), [], {}
	for i := start; i < e; i++ {
		switch s[i] {
		case '(':
			open[0]++
		case ')':
			closed[0]++
		case '[':
			open[1]++
		case ']':
			closed[1]++
		}
	}
	for e > start {
		switch c := s[e-1]; c {
		case '.', ',', ';', ':', '!', '?', '*':
		case ')':
			if closed[0] <= open[0] {
				return e
			}
			closed[0]--
		case ']':
			if closed[1] <= open[1] {
				return e
			}
			closed[1]--
		default:
			return e
		}
		e--
	}
	return e
}

// emails finds local@domain around every '@'. The backward scan stops at the
// previous '@' or at the end of the previous match, so every byte is visited
// a bounded number of times.
func (x *extractor) emails() {
	s := x.s
	low := 0
	for off := 0; off < len(s); {
		k := strings.IndexByte(s[off:], '@')
		if k < 0 {
			return
		}
		k += off
		off = k + 1
		a := k
		for a > low && isLocal(s[a-1]) {
			a--
		}
		for a < k && s[a] == '.' {
			a++
		}
		b := k + 1
		for b < len(s) && (isAlnum(s[b]) || s[b] == '.' || s[b] == '-') {
			b++
		}
		for b > k+1 && (s[b-1] == '.' || s[b-1] == '-') {
			b--
		}
		if a == k || b == k+1 || x.urlSpans.contains(k) || uniWordBefore(s, a) || uniWordAt(s, b) {
			continue
		}
		local, domain := s[a:k], toLowerASCII(s[k+1:b])
		if !validEmail(local, domain) || inMessageIDHeader(s, a) {
			continue
		}
		x.add(a, Indicator{Type: TypeEmail, Value: toLowerASCII(local) + "@" + domain})
		x.add(k+1, Indicator{Type: TypeDomain, Value: domain})
		x.emailSpans = append(x.emailSpans, span{a, b})
		x.domainSpans = append(x.domainSpans, span{k + 1, b})
		off, low = b, b
	}
}

// messageIDHeaders hold ids that have the shape of an address but name a
// message, not a mailbox.
var messageIDHeaders = []string{"message-id:", "in-reply-to:", "references:", "content-id:"}

// inMessageIDHeader reports whether pos is on a mail header line that holds
// message ids. The look-back is bounded so that a long line full of
// addresses stays linear.
func inMessageIDHeader(s string, pos int) bool {
	from := max(0, pos-1024)
	ls := strings.LastIndexByte(s[from:pos], '\n') + 1 + from
	if ls == from && from > 0 {
		return false // line start too far back: not a header line
	}
	line := s[ls:pos]
	for _, h := range messageIDHeaders {
		if hasFoldPrefix(line, h) {
			return true
		}
	}
	return false
}

// ipv6 scans maximal runs of hex digits, colons and dots that contain at
// least two colons, and lets netip decide. Runs glued to letters (std::map,
// T10:15:30) are rejected before parsing.
func (x *extractor) ipv6() {
	s := x.s
	for i := 0; i < len(s); {
		// Only runs with a colon can hold an address, so jump to the next
		// colon and find the run around it; the run cannot start before
		// i, where the previous one ended. Text without colons costs one
		// IndexByte.
		k := strings.IndexByte(s[i:], ':')
		if k < 0 {
			return
		}
		k += i
		for k > i && class[s[k-1]]&cIP6Run != 0 {
			k--
		}
		for s[k] == '.' { // a run starts at a hex digit or a colon
			k++
		}
		i = k
		j, colons, hexDigits := i, 0, 0
		for j < len(s) && class[s[j]]&cIP6Run != 0 {
			switch {
			case s[j] == ':':
				colons++
			case s[j] != '.':
				hexDigits++
			}
			j++
		}
		start := i
		i = j
		if colons < 2 || hexDigits == 0 || start > 0 && (isWord(s[start-1]) || s[start-1] == '.') {
			continue
		}
		end := j
		if end < len(s) && s[end] == '%' { // zone: fe80::1%eth0
			z := end + 1
			for z < len(s) && (isLabel(s[z]) || s[z] == '.') {
				z++
			}
			if z > end+1 {
				end = z
			}
		}
		if end < len(s) && isWord(s[end]) {
			continue
		}
		cand := strings.TrimRight(s[start:j], ".")
		if end > j {
			cand += s[j:end]
		}
		a, err := netip.ParseAddr(cand)
		if err != nil && strings.HasSuffix(cand, ":") && !strings.HasSuffix(cand, "::") {
			a, err = netip.ParseAddr(cand[:len(cand)-1])
		}
		if err != nil {
			continue
		}
		x.add(start, ipIndicator(a))
		x.ip6Spans = append(x.ip6Spans, span{start, end})
		i = end
	}
}

// ipv4 scans maximal runs of digits and dots. A run must be exactly a dotted
// quad (after dropping sentence-ending dots), which keeps 1.2.3.4 out of
// 1.2.3.4.5 and out of OIDs; runs glued to letters (v1.2.3.4, 1.2.3.4a) and
// runs after words such as "version" are taken as version strings.
func (x *extractor) ipv4() {
	s := x.s
	for i := 0; i < len(s); {
		// A run without a dot is never an address: jump to the next dot
		// and back to the start of its run, which cannot be before i.
		k := strings.IndexByte(s[i:], '.')
		if k < 0 {
			return
		}
		k += i
		for k > i && class[s[k-1]]&cIP4Run != 0 {
			k--
		}
		i = k
		j, dots := i, 0
		for j < len(s) && class[s[j]]&cIP4Run != 0 {
			if s[j] == '.' {
				dots++
			}
			j++
		}
		start := i
		i = j
		if s[start] == '.' || start > 0 && isWord(s[start-1]) || j < len(s) && isWord(s[j]) {
			continue
		}
		end := j
		for s[end-1] == '.' {
			end--
			dots--
		}
		if dots != 3 || end-start < 7 || end-start > 15 {
			continue
		}
		a, err := netip.ParseAddr(s[start:end])
		if err != nil || x.urlSpans.contains(start) || x.ip6Spans.contains(start) || afterVersionWord(s, start) {
			continue
		}
		x.add(start, ipIndicator(a))
	}
}

// versionWords precede dotted numbers that are versions, not addresses.
var versionWords = []string{"version", "ver", "build", "release", "rev", "revision", "firmware", "v"}

func afterVersionWord(s string, pos int) bool {
	i := pos
	for n := 0; i > 0 && n < 3 && (s[i-1] == ' ' || s[i-1] == ':' || s[i-1] == '=' || s[i-1] == '.'); n++ {
		i--
	}
	j := i
	for j > 0 && i-j < 10 && isAlpha(s[j-1]) {
		j--
	}
	if j > 0 && isAlpha(s[j-1]) {
		return false
	}
	w := toLowerASCII(s[j:i])
	for _, v := range versionWords {
		if w == v {
			return true
		}
	}
	return false
}

// fileExtTLDs are top-level domains that are also common file extensions.
var fileExtTLDs = map[string]bool{
	"zip": true, "mov": true, "py": true, "sh": true, "md": true, "rs": true,
	"pl": true, "ps": true, "so": true, "one": true, "java": true, "run": true,
	"cab": true, "dot": true, "do": true, "map": true, "properties": true,
}

// docExts are file extensions that, in front of a file-extension TLD, show a
// double-extension file name such as invoice.pdf.zip.
var docExts = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true,
	"xlsm": true, "ppt": true, "pptx": true, "rtf": true, "txt": true, "csv": true,
	"jpg": true, "jpeg": true, "png": true, "gif": true, "exe": true, "scr": true,
	"js": true, "vbs": true, "hta": true, "lnk": true, "iso": true, "img": true,
	"html": true, "htm": true, "tar": true, "7z": true, "rar": true, "msi": true,
}

// reversedTLD are TLDs that start reversed-domain identifiers.
var reversedTLD = map[string]bool{"com": true, "org": true, "net": true, "edu": true, "gov": true}

func isUpper(c byte) bool     { return class[c]&cUpper != 0 }
func isLowerRune(r rune) bool { return r >= 'a' && r <= 'z' }

// fieldSets are ECS field-set names. "host.name" or "event.id" in alert
// text is a field reference, although name and id are real TLDs.
var fieldSets = map[string]bool{
	"agent": true, "client": true, "cloud": true, "container": true, "destination": true,
	"dns": true, "event": true, "file": true, "group": true, "host": true, "http": true,
	"log": true, "network": true, "observer": true, "organization": true, "os": true,
	"package": true, "process": true, "registry": true, "rule": true, "server": true,
	"service": true, "source": true, "threat": true, "tls": true, "url": true,
	"user": true, "vulnerability": true, "device": true, "account": true,
}

// domains scans runs of name characters for dotted names and keeps those
// that validDomain accepts and that do not look like code, field names or
// file names in their context.
func (x *extractor) domains() {
	s := x.s
	for i := 0; i < len(s); {
		// Only runs with a dot can hold a name: jump to the next dot and
		// back to the start of its run, which cannot be before i. Most
		// words cost nothing but the IndexByte that skips them.
		k := strings.IndexByte(s[i:], '.')
		if k < 0 {
			return
		}
		k += i
		for k > i && isDomRun(s[k-1]) {
			k--
		}
		i = k
		j, dot, under := i, false, false
		for j < len(s) && isDomRun(s[j]) {
			dot = dot || s[j] == '.'
			under = under || s[j] == '_'
			j++
		}
		a, b := i, j
		i = j
		if !dot || under || uniWordBefore(s, a) || uniWordAt(s, b) {
			// Underscores mark identifiers (self._conf.data), not hosts;
			// non-ASCII letters mean an internationalised name that is
			// not spelled out in punycode.
			continue
		}
		for a < b && (s[a] == '.' || s[a] == '-') {
			a++
		}
		for b > a && (s[b-1] == '.' || s[b-1] == '-') {
			b--
		}
		if !plausibleTLD(s[a:b]) || x.urlSpans.contains(a) || x.emailSpans.contains(a) {
			continue
		}
		d := toLowerASCII(s[a:b])
		if !validDomain(d) || x.looksLikeNonDomain(d, a, b) {
			continue
		}
		x.add(a, Indicator{Type: TypeDomain, Value: d})
		x.domainSpans = append(x.domainSpans, span{a, b})
	}
}

// plausibleTLD applies validTLD's test to the last label of a raw,
// mixed-case candidate, so that the many dotted runs that end in a number
// or a single letter (timestamps, versions, sentence ends) are dropped
// before they are lower-cased and copied.
func plausibleTLD(raw string) bool {
	t := raw[strings.LastIndexByte(raw, '.')+1:]
	if len(t) > 4 && hasFoldPrefix(t, "xn--") {
		return true
	}
	if len(t) < 2 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isAlpha(t[i]) {
			return false
		}
	}
	return true
}

// looksLikeNonDomain applies the context rules for a valid-looking name d at
// s[a:b]. A name the writer defanged is always a domain.
func (x *extractor) looksLikeNonDomain(d string, a, b int) bool {
	s := x.s
	if x.defanged(a, b) {
		return false
	}
	var next byte
	if b < len(s) {
		next = s[b]
	}
	var prev byte
	if a > 0 {
		prev = s[a-1]
	}
	switch {
	case next == '(': // os.getenv(, document.write(
		return true
	case next == '=': // key=value
		return true
	case (prev == '"' || prev == '\'') && next == prev: // "host.name": ...
		k := b + 1
		for k < len(s) && isBlank(s[k]) {
			k++
		}
		if k < len(s) && s[k] == ':' {
			return true
		}
	}
	last := strings.LastIndexByte(d, '.')
	tld := d[last+1:]
	first := strings.IndexByte(d, '.')
	twoLabels := first == last
	if twoLabels && (tld == "name" || tld == "id") && fieldSets[d[:first]] {
		return true
	}
	if !twoLabels && reversedTLD[d[:first]] { // com.example.app: a Java or Android package
		return true
	}
	// System.IO, System.Data, Net.WebClient: a .NET or PowerShell type
	// name. A domain at the start of a sentence (Example.com) keeps its
	// lower-case TLD, and one in capitals (EVIL.COM) has no lower case.
	if orig := s[a:b]; isUpper(orig[0]) && isUpper(orig[last+1]) && strings.IndexFunc(orig[1:first], isLowerRune) >= 0 {
		return true
	}
	if fileExtTLDs[tld] {
		if twoLabels || prev == '/' || prev == '\\' {
			return true
		}
		before := d[:last]
		if docExts[before[strings.LastIndexByte(before, '.')+1:]] {
			return true
		}
	}
	return false
}

// hashes scans word runs for hex strings of exactly digest length. Word
// boundaries mean a SHA-256 is never also reported as an MD5 or SHA-1 and a
// slice of a longer hex blob is never reported at all. A hex label of a
// domain name (DNS tunnelling, DGA) is part of that name, not a digest.
func (x *extractor) hashes() {
	s := x.s
	for i := 0; i < len(s); {
		if class[s[i]]&cWord == 0 {
			i++
			continue
		}
		// AND the classes of the run: cHex survives only if every byte
		// is a hex digit.
		j, all := i, uint16(cHex)
		for j < len(s) {
			k := class[s[j]]
			if k&cWord == 0 {
				break
			}
			all &= k
			j++
		}
		start := i
		i = j
		if n := j - start; n != 32 && n != 40 && n != 64 || all&cHex == 0 || uniWordBefore(s, start) || uniWordAt(s, j) {
			continue
		}
		v := s[start:j]
		t, ok := hashType(v)
		if !ok || x.domainSpans.contains(start) {
			continue
		}
		x.add(start, Indicator{Type: t, Value: toLowerASCII(v)})
	}
}

// cves finds CVE-YYYY-NNNN ids in any case, word-bounded.
func (x *extractor) cves() {
	s := x.s
	if len(s) < 13 {
		return
	}
	// Every id has a '-' after "cve", so candidates are found by jumping
	// from one hyphen to the next; next is where the scan may resume.
	for next, h := 0, 3; ; h++ {
		k := strings.IndexByte(s[h:], '-')
		if k < 0 {
			return
		}
		h += k
		i := h - 3
		if i+13 > len(s) {
			return
		}
		if i < next || s[i]|0x20 != 'c' || s[i+1]|0x20 != 'v' || s[i+2]|0x20 != 'e' {
			continue
		}
		if i > 0 && isWord(s[i-1]) {
			continue
		}
		j := i + 4
		for j < len(s) && j-i < 17 && (isDigit(s[j]) || s[j] == '-' && j == i+8) {
			j++
		}
		if j < len(s) && isWord(s[j]) {
			continue
		}
		if c, ok := parseCVE(s[i:j]); ok {
			x.add(i, Indicator{Type: TypeCVE, Value: c})
		}
		next = j
	}
}
