package inventory

import (
	"os"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/assets.csv", "testdata/assets.yaml", "testdata/broken.csv", "testdata/broken.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, strings.HasSuffix(p, ".yaml"))
	}
	f.Fuzz(func(t *testing.T, data []byte, yaml bool) {
		name := "fuzz.csv"
		if yaml {
			name = "fuzz.yaml"
		}
		assets, err := parseFile(name, data)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for _, a := range assets {
			if a.hostname == "" && len(a.ips) == 0 {
				t.Errorf("asset with neither name nor address: %+v", a)
			}
			if a.hostname != strings.ToLower(a.hostname) || strings.ContainsAny(a.hostname, " \t,;") {
				t.Errorf("hostname not normalised: %q", a.hostname)
			}
			for _, ip := range a.ips {
				if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
					t.Errorf("bad address %v", ip)
				}
			}
		}
		// Whatever parsed must index without trouble.
		buildIndex([][]*asset{assets})
	})
}
