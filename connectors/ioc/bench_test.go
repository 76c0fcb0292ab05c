package ioc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchText builds about 64 KiB of alert and log text: the fixtures (a
// phishing report, an EDR alert, Suricata output and a threat brief) plus
// syslog-style lines, which is what an incident channel receives.
func benchText(tb testing.TB) string {
	var b strings.Builder
	paths, err := filepath.Glob("testdata/*")
	if err != nil {
		tb.Fatal(err)
	}
	var fixtures []string
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden") || strings.HasSuffix(p, ".json") {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		fixtures = append(fixtures, string(raw))
	}
	for i := 0; b.Len() < 64<<10; i++ {
		if i%8 == 0 {
			b.WriteString(fixtures[(i/8)%len(fixtures)])
		}
		fmt.Fprintf(&b, "Mar 12 09:%02d:%02d fw01 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.%d DST=10.20.1.%d LEN=60 TTL=52 PROTO=TCP SPT=%d DPT=22 SYN\n",
			i/60%60, i%60, i%250+1, i%200+1, 40000+i)
		fmt.Fprintf(&b, "Mar 12 09:%02d:%02d proxy01 squid[812]: %d.%03d 312 10.20.1.%d TCP_MISS/200 5123 GET https://cdn%d.example.com/assets/app.js?v=3.2.%d - HIER_DIRECT/198.51.100.%d application/javascript\n",
			i/60%60, i%60, 1710234000+i, i%1000, i%200+1, i%17, i, i%250+1)
	}
	return b.String()[:64<<10]
}

func BenchmarkExtract(b *testing.B) {
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Extract(text, Options{})
	}
}
