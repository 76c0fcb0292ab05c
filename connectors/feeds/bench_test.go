package feeds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/connectors/ioc"
)

// writeBigFeed writes a ThreatFox-shaped export of n rows mixing the
// indicator types, the largest kind of feed a deployment loads.
func writeBigFeed(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("# ThreatFox IOCs: recent\n#\n")
	b.WriteString(`# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","reference","tags","anonymous","reporter"` + "\n")
	for i := range n {
		var v, t string
		switch i % 4 {
		case 0:
			v, t = fmt.Sprintf("%d.%d.%d.%d:%d", 11+i%200, i>>16&255, i>>8&255, i&255, 1024+i%5000), "ip:port"
		case 1:
			v, t = fmt.Sprintf("c2-%d.bad-domain-%d.com", i, i%97), "domain"
		case 2:
			v, t = fmt.Sprintf("http://dl-%d.example.net/payload/%d.exe", i%991, i), "url"
		default:
			v, t = fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15+1), "sha256_hash"
		}
		fmt.Fprintf(&b, `"2026-11-21 07:31:04", "%d", "%s", "%s", "botnet_cc", "win.qakbot", "Qbot", "QakBot", "", "%d", "None", "QakBot", "0", "abuse_ch"`+"\n", 1000000+i, v, t, 50+i%51)
	}
	path := filepath.Join(tb.TempDir(), "threatfox_full.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func BenchmarkLoad100k(b *testing.B) {
	path := writeBigFeed(b, 100_000)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Config{Files: []string{path}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	src, err := New(Config{Files: append([]string{writeBigFeed(b, 100_000)}, goodFixtures...)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		ind  ioc.Indicator
	}{
		{"hit", ioc.Indicator{Type: ioc.TypeIPv4, Value: "198.51.100.23"}},
		{"miss", ioc.Indicator{Type: ioc.TypeDomain, Value: "www.example.com"}},
		{"url", ioc.Indicator{Type: ioc.TypeURL, Value: "https://evil-updates.example.com/payload/Invoice.exe"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Lookup(ctx, tt.ind); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
