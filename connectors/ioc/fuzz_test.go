package ioc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// defangMarkers are the defanged spellings that must never reach a value.
// The list is kept separate from refang's own matcher on purpose, so that a
// bug in the matcher cannot hide itself.
var defangMarkers = []string{
	"[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}",
	"[at]", "(at)", "{at}", "[@]", "(@)", "{@}",
	"[:]", "[://]", "[/]", "hxxp://", "hxxps://", "hxxp[", "hxxps[", "fxp://",
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"hxxps[:]//evil[.]example[.]com/login?x=1",
		"user[at]example.com 1.2.3[.]4 example [.] com",
		"2001:db8::1 ::ffff:192.0.2.1 fe80::1%eth0 [2001:db8::2]:443",
		"CVE-2024-3094 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"invoice.pdf.zip update.zip version 1.2.3.4 1.2.3.4.5",
		"http://[::1]:80/(x)] https://a.b.example.com/a_(b) ftp://u:p@example.org",
		`"host.name": "x" user.name=y os.getenv(z)`,
	} {
		f.Add(s)
	}
	if paths, err := filepath.Glob("testdata/*"); err == nil {
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && !strings.HasSuffix(p, ".golden") {
				f.Add(string(b))
			}
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		ins := Extract(text, Options{})
		seen := make(map[Indicator]bool)
		for _, in := range ins {
			if seen[in] {
				t.Errorf("duplicate %+v", in)
			}
			seen[in] = true
			if in.Value == "" || strings.ContainsAny(in.Value, " \t\r\n") {
				t.Errorf("bad value %+v", in)
			}
			low := strings.ToLower(in.Value)
			for _, m := range defangMarkers {
				if strings.Contains(low, m) {
					t.Errorf("value %q still contains defang marker %q", in.Value, m)
				}
			}
			c, ok := Classify(in.Value)
			if !ok || c.Type != in.Type {
				t.Errorf("Classify(%q) = %+v, %v; Extract said %s", in.Value, c, ok, in.Type)
			} else if c != in {
				t.Errorf("Classify(%q) = %+v, Extract gave %+v", in.Value, c, in)
			}
		}
	})
}
