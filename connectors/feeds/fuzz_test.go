package feeds

import (
	"os"
	"testing"

	"github.com/warroom-bot/warroom/connectors/ioc"
)

// checkPart asserts what every successful parse must give: keys in the
// normalised form that lookups use, and a hit with a feed name for each.
func checkPart(t *testing.T, p *part) {
	t.Helper()
	for k, h := range p.hits {
		in, ok := ioc.Classify(k.v)
		if !ok || in.Type != k.t || in.Value != k.v {
			t.Errorf("key %s %q is not normalised: Classify gives %+v, %v", k.t, k.v, in, ok)
		}
		if h == nil || h.feed == "" || h.verdict == "" {
			t.Errorf("bad hit for %q: %+v", k.v, h)
		}
	}
}

func addFile(f *testing.F, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
}

func FuzzPlain(f *testing.F) {
	addFile(f, "testdata/blocklist.txt")
	addFile(f, "testdata/prose.txt")
	f.Add([]byte("0.0.0.0 evil.example.com\n198.51.100.1:443\n[2001:db8::1]:80 # x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePlain("fuzz.txt", data)
		if err == nil {
			checkPart(t, p)
		}
	})
}

func FuzzCSV(f *testing.F) {
	for _, p := range []string{"testdata/ipblocklist.csv", "testdata/urlhaus.csv", "testdata/threatfox.csv", "testdata/broken_feodo.csv"} {
		addFile(f, p)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, ok := findCSVHeader(data)
		if !ok {
			return
		}
		p, err := parseCSV("fuzz.csv", data, h)
		if err == nil {
			checkPart(t, p)
		}
	})
}

func FuzzSTIX(f *testing.F) {
	addFile(f, "testdata/bundle.json")
	addFile(f, "testdata/broken_bundle.json")
	f.Add([]byte(`[file:hashes.'SHA-256' = 'x\'y' AND file:hashes.MD5 = 'z'] OR ([url:value = 'http://a.example.com/'] AND [b:c = t'2020-01-01T00:00:00Z']) WITHIN 5 SECONDS`))
	f.Add([]byte(`[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2')] OR [ipv6-addr:value = '2001:db8::/128']`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The pattern parser sees every input on its own as well, so the
		// fuzzer need not first learn to write a valid bundle.
		vals, skipped := parsePattern(string(data))
		if skipped < 0 {
			t.Errorf("negative skip count %d", skipped)
		}
		for _, v := range vals {
			if v.t == "" {
				t.Errorf("untyped value %q", v.v)
			}
		}
		p, err := parseSTIX("fuzz.json", data)
		if err == nil {
			checkPart(t, p)
		}
	})
}
