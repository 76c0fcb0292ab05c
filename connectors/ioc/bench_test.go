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

// alertBody builds about n bytes of JSON alert text of the kind a SIEM
// webhook delivers: mostly ordinary words and field names, with addresses,
// domains, URLs, hashes, CVE ids and defanged indicators scattered through.
func alertBody(n int) string {
	words := strings.Fields(`the a user reported that an unusual process was started on the
		host after opening the attachment and the security team should review
		whether credentials were exposed during this session please escalate
		if lateral movement is observed analyst notes follow investigation
		pending containment approved by incident lead`)
	var b strings.Builder
	b.Grow(n + 1024)
	b.WriteString(`{"alerts":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%08x-%04x","rule":{"name":"Suspicious outbound connection","level":%d},"timestamp":"2026-03-12T09:%02d:%02d.123Z",`,
			i*2654435761, i%65536, i%15, i/60%60, i%60)
		fmt.Fprintf(&b, `"source":{"ip":"10.20.%d.%d","port":%d},"destination":{"ip":"203.0.113.%d","port":443,"domain":"cdn%d.example-cdn.com"},`,
			i%200, i%250+1, 40000+i%20000, i%250+1, i%31)
		b.WriteString(`"message":"`)
		for w := 0; w < 40; w++ {
			b.WriteString(words[(i*7+w*3)%len(words)])
			b.WriteByte(' ')
		}
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, `callback to hxxps[:]//login-%d.evil-example[.]net/gate.php?id=%d observed `, i%97, i)
		case 1:
			fmt.Fprintf(&b, `file hash %032x dropped by winword.exe `, uint64(i)*0x9e3779b97f4a7c15+7)
		case 2:
			fmt.Fprintf(&b, `related to CVE-2024-%d and 198.51.100[.]%d `, 3000+i%900, i%250+1)
		case 3:
			fmt.Fprintf(&b, `mail from billing%d@invoices-example.com with invoice.pdf.zip `, i%50)
		case 4:
			fmt.Fprintf(&b, `sha256 %016x%016x%016x%016x version 10.0.19045.%d `, i, i*3, i*5, i*7+1, i%9999)
		case 5:
			fmt.Fprintf(&b, `see https://sandbox.example.org/report/%d and 2001:db8::%x `, i, i%65536)
		}
		b.WriteString(`","tags":["network","outbound","tier-2"]}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func BenchmarkExtract1MiB(b *testing.B) {
	text := alertBody(1 << 20)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Extract(text, Options{})
	}
}
