package ioc

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// show renders indicators compactly ("ipv4 203.0.113.7 documentation") so
// that table rows stay readable and failures print a usable diff.
func show(ins []Indicator) []string {
	out := make([]string, 0, len(ins))
	for _, in := range ins {
		s := string(in.Type) + " " + in.Value
		if in.Scope != "" {
			s += " " + string(in.Scope)
		}
		out = append(out, s)
	}
	return out
}

func checkList(t *testing.T, input string, got []Indicator, want []string) {
	t.Helper()
	g := show(got)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(g, want) {
		t.Errorf("input %q\n got: %s\nwant: %s", input, fmtRows(g), fmtRows(want))
	}
}

func fmtRows(rows []string) string {
	if len(rows) == 0 {
		return "(none)"
	}
	return "\n  " + strings.Join(rows, "\n  ")
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// Defanged forms.
		{"hxxp", "hxxp://evil.example.com/a", []string{"url http://evil.example.com/a", "domain evil.example.com"}},
		{"hxxps", "go to hxxps://evil.example.com now", []string{"url https://evil.example.com", "domain evil.example.com"}},
		{"hxxps bracket colon", "hxxps[:]//evil[.]example[.]com/x", []string{"url https://evil.example.com/x", "domain evil.example.com"}},
		{"http bracket colon", "http[:]//203.0.113.9/gate.php", []string{"url http://203.0.113.9/gate.php documentation", "ipv4 203.0.113.9 documentation"}},
		{"bracketed scheme separator", "hxxp[://]evil.example.com/", []string{"url http://evil.example.com/", "domain evil.example.com"}},
		{"upper case HXXPS", "HXXPS://EVIL.Example.COM/Path", []string{"url https://evil.example.com/Path", "domain evil.example.com"}},
		{"fxp", "fxp://files.example.net/pub/x", []string{"url ftp://files.example.net/pub/x", "domain files.example.net"}},
		{"[.]", "example[.]com", []string{"domain example.com"}},
		{"(.)", "example(.)com", []string{"domain example.com"}},
		{"{.}", "example{.}com", []string{"domain example.com"}},
		{"[dot]", "example[dot]com", []string{"domain example.com"}},
		{"(DOT)", "example(DOT)com", []string{"domain example.com"}},
		{"spaced [.]", "example [.] com", []string{"domain example.com"}},
		{"ip last octet", "1.2.3[.]4", []string{"ipv4 1.2.3.4"}},
		{"ip every octet", "8[.]8[.]8[.]8", []string{"ipv4 8.8.8.8"}},
		{"[at]", "user[at]example.com", []string{"email user@example.com", "domain example.com"}},
		{"(at)", "user(at)example.com", []string{"email user@example.com", "domain example.com"}},
		{"[@]", "user[@]example.com", []string{"email user@example.com", "domain example.com"}},
		{"spaced [at] and [dot]", "user [at] example [dot] com", []string{"email user@example.com", "domain example.com"}},
		{"defang token at the end stays", "evil[.] and [at]", nil},
		{"hxxp without separator", "hxxp is how we defang", nil},

		// Each type.
		{"ipv4 public", "connect to 8.8.8.8 now", []string{"ipv4 8.8.8.8"}},
		{"ipv4 with port", "8.8.4.4:53", []string{"ipv4 8.8.4.4"}},
		{"ipv4 cidr", "block 198.51.100.0/24", []string{"ipv4 198.51.100.0 documentation"}},
		{"ipv4 range", "10.0.0.1-10.0.0.9", []string{"ipv4 10.0.0.1 private", "ipv4 10.0.0.9 private"}},
		{"ipv4 end of sentence", "It was 8.8.8.8.", []string{"ipv4 8.8.8.8"}},
		{"ipv6", "dst 2606:4700:4700::1111", []string{"ipv6 2606:4700:4700::1111"}},
		{"ipv6 upper case", "2606:4700:4700::ABCD", []string{"ipv6 2606:4700:4700::abcd"}},
		{"ipv6 bracket port", "[2606:4700::6810:85e5]:443", []string{"ipv6 2606:4700::6810:85e5"}},
		{"ipv6 zone", "fe80::1%eth0 up", []string{"ipv6 fe80::1 link-local"}},
		{"ipv4-mapped ipv6", "::ffff:8.8.8.8", []string{"ipv4 8.8.8.8"}},
		{"nat64 keeps ipv6, no inner ipv4", "64:ff9b::192.0.2.7", []string{"ipv6 64:ff9b::c000:207 documentation"}},
		{"url trailing period", "Visit https://evil.example.com/a/b?c=d&e=f.", []string{"url https://evil.example.com/a/b?c=d&e=f", "domain evil.example.com"}},
		{"url in parens", "(see https://evil.example.com/x)", []string{"url https://evil.example.com/x", "domain evil.example.com"}},
		{"url balanced parens", "https://en.wikipedia.org/wiki/Foo_(bar)", []string{"url https://en.wikipedia.org/wiki/Foo_(bar)", "domain en.wikipedia.org"}},
		{"url markdown", "[click](https://evil.example.com/x)", []string{"url https://evil.example.com/x", "domain evil.example.com"}},
		{"url angle brackets", "<https://evil.example.com/x>", []string{"url https://evil.example.com/x", "domain evil.example.com"}},
		{"url in json", `{"url":"https://evil.example.com/x?a=1"}`, []string{"url https://evil.example.com/x?a=1", "domain evil.example.com"}},
		{"url ip host", "http://198.51.100.23/payload.bin", []string{"url http://198.51.100.23/payload.bin documentation", "ipv4 198.51.100.23 documentation"}},
		{"url ipv6 host", "http://[2001:db8::3]:8080/x", []string{"url http://[2001:db8::3]:8080/x documentation", "ipv6 2001:db8::3 documentation"}},
		{"url userinfo", "ftp://anon:pw@files.example.org/pub", []string{"url ftp://anon:pw@files.example.org/pub", "domain files.example.org"}},
		{"url localhost", "http://localhost:8080/admin", []string{"url http://localhost:8080/admin loopback"}},
		{"url internal host ignored", "http://intranet/login and http://wiki.corp.local/x", nil},
		{"url bad port is no url", "http://evil.example.com:99999/", []string{"domain evil.example.com"}},
		{"url path names are not domains", "https://evil.example.com/dl/update.zip?next=login.do&f=invoice.pdf", []string{"url https://evil.example.com/dl/update.zip?next=login.do&f=invoice.pdf", "domain evil.example.com"}},
		{"url nested keeps outer only", "https://r.example.com/?u=http://evil.example.net/", []string{"url https://r.example.com/?u=http://evil.example.net/", "domain r.example.com"}},
		{"url with cve", "https://nvd.nist.gov/vuln/detail/CVE-2024-3094", []string{"url https://nvd.nist.gov/vuln/detail/CVE-2024-3094", "domain nvd.nist.gov", "cve CVE-2024-3094"}},
		{"url with hash", "https://sandbox.example.com/file/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", []string{"url https://sandbox.example.com/file/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "domain sandbox.example.com", "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		{"domain co.uk", "evil.example.co.uk", []string{"domain evil.example.co.uk"}},
		{"domain short ru", "x.ru", []string{"domain x.ru"}},
		{"domain hyphen", "login-microsoft.com", []string{"domain login-microsoft.com"}},
		{"domain trailing period", "Contact evil.example.org.", []string{"domain evil.example.org"}},
		{"domain lower-cased", "EVIL.Example.COM", []string{"domain evil.example.com"}},
		{"domain with port", "evil.example.com:8443", []string{"domain evil.example.com"}},
		{"domain private suffix", "evil.duckdns.org attacker.github.io", []string{"domain evil.duckdns.org", "domain attacker.github.io"}},
		{"domain punycode", "xn--80ak6aa92e.com", []string{"domain xn--80ak6aa92e.com"}},
		{"domain file-ext tld defanged", "evil[.]zip and cdn.evil.example.pl", []string{"domain evil.zip", "domain cdn.evil.example.pl"}},
		{"email", "mail bob@example.org today", []string{"email bob@example.org", "domain example.org"}},
		{"email mailto", "mailto:bob@example.org", []string{"email bob@example.org", "domain example.org"}},
		{"email plus tag", "Bob.Smith+soc@Example.com", []string{"email bob.smith+soc@example.com", "domain example.com"}},
		{"message-id is not an email", "Message-ID: <2024.7f3c@mail.example.net>", []string{"domain mail.example.net"}},
		{"md5", "md5 d41d8cd98f00b204e9800998ecf8427e", []string{"md5 d41d8cd98f00b204e9800998ecf8427e"}},
		{"sha1", "sha1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", []string{"sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
		{"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", []string{"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		{"hash named file", "/tmp/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.zip", []string{"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		{"cve", "CVE-2024-3094", []string{"cve CVE-2024-3094"}},
		{"cve lower case", "patch cve-2021-44228!", []string{"cve CVE-2021-44228"}},
		{"cve seven digits", "CVE-2024-1234567", []string{"cve CVE-2024-1234567"}},

		// Scopes.
		{"scope private", "10.1.2.3 172.16.5.4 192.168.1.10 fd00::1", []string{"ipv4 10.1.2.3 private", "ipv4 172.16.5.4 private", "ipv4 192.168.1.10 private", "ipv6 fd00::1 private"}},
		{"scope loopback", "127.0.0.1 ::1", []string{"ipv4 127.0.0.1 loopback", "ipv6 ::1 loopback"}},
		{"scope link-local", "169.254.169.254 fe80::1", []string{"ipv4 169.254.169.254 link-local", "ipv6 fe80::1 link-local"}},
		{"scope documentation", "192.0.2.10 198.51.100.1 203.0.113.7 2001:db8::1", []string{"ipv4 192.0.2.10 documentation", "ipv4 198.51.100.1 documentation", "ipv4 203.0.113.7 documentation", "ipv6 2001:db8::1 documentation"}},
		{"scope cgnat", "100.64.0.1", []string{"ipv4 100.64.0.1 cgnat"}},
		{"scope multicast", "224.0.0.251 ff02::fb", []string{"ipv4 224.0.0.251 multicast", "ipv6 ff02::fb multicast"}},
		{"scope unspecified and reserved", "0.0.0.0 255.255.255.255 240.0.0.1 198.18.0.1", []string{"ipv4 0.0.0.0 unspecified", "ipv4 255.255.255.255 reserved", "ipv4 240.0.0.1 reserved", "ipv4 198.18.0.1 reserved"}},

		// False positives.
		{"file names", "invoice.pdf setup.exe file.txt config.yaml", nil},
		{"file-ext tlds", "update.zip install.sh exploit.py README.md backdoor.pl clip.mov notes.one Main.java", nil},
		{"double extension", "Invoice_0311.pdf.zip report.docx.zip", nil},
		{"paths", `C:\Users\bob\Downloads\evil.zip /tmp/payload.sh`, nil},
		{"version strings", "version 1.2.3.4, v1.2.3.4, 1.2.3.4.5, firmware: 2.10.3.1, build 10.0.0.1", nil},
		{"user agent and oid", "Chrome/120.0.6099.110 OID 1.3.6.1.4.1.311 10.0.19045.3693", nil},
		{"invalid ipv4", "999.1.1.1 256.256.256.256 010.001.001.001 1.2.3", nil},
		{"ipv4 glued to letters", "a1.2.3.4 1.2.3.4b", nil},
		{"abbreviations", "e.g. i.e. etc. a.m. U.S. vs. Fig.2", nil},
		{"timestamps", "2024-03-29T10:15:30.123Z 12:34:56 10:15:30,123 Mar 12 09:14:05", nil},
		{"mac and c++", "00:1a:2b:3c:4d:5e std::string Foo::Bar ::", nil},
		{"hex too long", strings.Repeat("a1", 32) + "f", nil},
		{"hex 33", "d41d8cd98f00b204e9800998ecf8427e0", nil},
		{"hex prefixed", "0xd41d8cd98f00b204e9800998ecf8427e abc_d41d8cd98f00b204e9800998ecf8427e", nil},
		{"hex all digits or one char", "12345678901234567890123456789012 " + strings.Repeat("0", 64), nil},
		{"guid", "550e8400-e29b-41d4-a716-446655440000", nil},
		{"hex label is part of a domain", "d41d8cd98f00b204e9800998ecf8427e.tunnel.example.com", []string{"domain d41d8cd98f00b204e9800998ecf8427e.tunnel.example.com"}},
		{"code", `os.getenv("X") self._data.info document.write(x)`, nil},
		{"field names", `"host.name": "ws1", user.name=alice, event.id 4688, agent.id`, nil},
		{"email without public domain", "root@localhost admin@corp.local", nil},
		{"invalid cve", "CVE-24-1234 CVE-2024-123 CVE-2024-12345678 XCVE-2024-1234 CVE-1988-1234", nil},
		{"reverse dns", "4.3.2.1.in-addr.arpa", nil},
		{"type and package names", "System.IO System.Data Net.WebClient com.example.app org.example.android", nil},
		{"capitalised domains", "Example.com reported EVIL.EXAMPLE.NET", []string{"domain example.com", "domain evil.example.net"}},
		{"unicode names are not cut", "exämple.com jürgen@example.com https://evil.co.ük/x", []string{"domain example.com"}},
		{"curly quotes separate", "“evil.example.com” ‘8.8.8.8’", []string{"domain evil.example.com", "ipv4 8.8.8.8"}},
		{"unicode path encoded", "“https://evil.example.com/päth?q=日本”", []string{"url https://evil.example.com/p%C3%A4th?q=%E6%97%A5%E6%9C%AC", "domain evil.example.com"}},

		// Deduplication and order.
		{"order of first appearance", "b.example.com a.example.com b.example.com", []string{"domain b.example.com", "domain a.example.com"}},
		{"url host reported once", "https://evil.example.com/x then evil.example.com", []string{"url https://evil.example.com/x", "domain evil.example.com"}},
		{"email dedup case", "Bob@Example.com bob@example.com", []string{"email bob@example.com", "domain example.com"}},
		{"defanged and plain dedup", "8.8.8[.]8 8.8.8.8", []string{"ipv4 8.8.8.8"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkList(t, tt.in, Extract(tt.in, Options{}), tt.want)
		})
	}
}

func TestExtractAllowlist(t *testing.T) {
	al, err := ParseAllowlist([]string{
		"example.com",
		"10.0.0.0/8",
		"198.51.100.0/24",
		"2001:db8::/32",
		"d41d8cd98f00b204e9800998ecf8427e",
		"cve-2024-3094",
		"https://good.example.net/ok",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"domain and subdomains", "example.com www.example.com notexample.com", []string{"domain notexample.com"}},
		{"url under allowed domain", "https://login.example.com/x", nil},
		{"email under allowed domain", "soc@example.com", nil},
		{"cidr", "10.9.8.7 11.0.0.1 198.51.100.9 203.0.113.9", []string{"ipv4 11.0.0.1", "ipv4 203.0.113.9 documentation"}},
		{"ipv6 cidr", "2001:db8::1 2001:db9::1", []string{"ipv6 2001:db9::1"}},
		{"url with allowed ip host", "http://198.51.100.5/a", nil},
		{"exact hash", "d41d8cd98f00b204e9800998ecf8427e da39a3ee5e6b4b0d3255bfef95601890afd80709", []string{"sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
		{"exact cve is case-insensitive", "CVE-2024-3094 CVE-2021-44228", []string{"cve CVE-2021-44228"}},
		{"exact url", "https://good.example.net/ok https://good.example.net/bad", []string{"domain good.example.net", "url https://good.example.net/bad"}},
		{"defanged input still allowed", "www[.]example[.]com 10.0.0[.]1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkList(t, tt.in, Extract(tt.in, Options{Allow: al}), tt.want)
		})
	}
}

// TestLargeInput feeds 1 MiB inputs built to defeat naive scanners
// (backtracking, rescanning from every candidate start) and fails if any
// takes more than a generous multiple of linear time.
func TestLargeInput(t *testing.T) {
	const size = 1 << 20
	rep := func(unit string) string { return strings.Repeat(unit, size/len(unit)+1)[:size] }
	inputs := map[string]string{
		"dots":            rep("a."),
		"digits and dots": rep("1."),
		"colons":          rep("a:"),
		"ats":             rep("a@"),
		"emails":          rep("x@example.com "),
		"schemes":         rep("http://"),
		"hxxp":            rep("hxxp[:]//"),
		"brackets":        rep("[.]"),
		"spaced brackets": rep("a [.] "),
		"open parens url": "http://example.com/" + rep("("),
		"long word":       rep("a"),
		"hex labels":      rep("d41d8cd98f00b204e9800998ecf8427e."),
		"cve":             rep("CVE-2024-"),
		"ips":             rep("203.0.113.7 "),
		"mixed":           rep("see hxxps://evil[.]example.com/x?a=1 from 10.0.0.1, e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"),
	}
	for name, in := range inputs {
		start := time.Now()
		out := Extract(in, Options{})
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: Extract took %v on 1 MiB", name, d)
		} else {
			t.Logf("%s: %v, %d indicators", name, d, len(out))
		}
	}
}

func TestRefangIdempotent(t *testing.T) {
	for _, in := range []string{
		"hxxps[:]//evil[.]example[.]com",
		"a[[.]]b", "x [.] [.] y", "user [at] example (dot) com",
		"hxxp[:]//x(.)y{.}z[dot]w",
	} {
		once, _ := refang(in)
		twice, _ := refang(once)
		if once != twice {
			t.Errorf("refang(%q) = %q, again %q", in, once, twice)
		}
	}
}

func ExampleExtract() {
	text := "Beacon to hxxps[:]//cdn[.]example[.]com/collect from 10.0.0.5; dropper invoice.pdf.zip (CVE-2023-4966)"
	for _, in := range Extract(text, Options{}) {
		fmt.Println(in.Type, in.Value, in.Scope, in.External())
	}
	// Output:
	// url https://cdn.example.com/collect  true
	// domain cdn.example.com  true
	// ipv4 10.0.0.5 private false
	// cve CVE-2023-4966  true
}
