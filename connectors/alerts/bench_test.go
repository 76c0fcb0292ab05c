package alerts

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// amBatch builds an Alertmanager webhook with n alerts shaped like the
// intake storm's: realistic labels and annotations, one IP in the summary.
func amBatch(n int) []byte {
	alerts := make([]map[string]any, n)
	for i := range alerts {
		alerts[i] = map[string]any{
			"status": "firing",
			"labels": map[string]string{
				"alertname": "SSHBruteForce", "instance": fmt.Sprintf("web-%02d.example.com:9100", i),
				"job": "node", "severity": "critical", "src_ip": fmt.Sprintf("203.0.113.%d", i+1),
			},
			"annotations": map[string]string{
				"summary":     fmt.Sprintf("SSH brute force against web-%02d from 203.0.113.%d", i, i+1),
				"description": "More than 200 failed SSH logins in 5 minutes.",
				"runbook_url": "https://runbooks.example.com/ssh-brute-force",
			},
			"startsAt":     "2024-03-12T09:21:44.118Z",
			"endsAt":       "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=rate%28node_ssh_failed_logins_total%5B5m%5D%29",
			"fingerprint":  fmt.Sprintf("8b3fb4de1a2c%04x", i),
		}
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": `{}:{alertname="SSHBruteForce"}`, "status": "firing", "receiver": "warroom",
		"groupLabels": map[string]string{"alertname": "SSHBruteForce"}, "commonLabels": map[string]string{"job": "node"},
		"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager.example.com:9093", "alerts": alerts,
	})
	return b
}

// BenchmarkAlertmanager parses a 10-alert webhook, the intake target's
// request shape (18,000 alerts/s on 2 cores for the whole path), and
// reports the cost per alert.
func BenchmarkAlertmanager(b *testing.B) {
	benchParse(b, SourceAlertmanager, amBatch(10), 10)
}

// BenchmarkAlertmanagerSingle parses the one-alert requests of the
// 7,000 alerts/s target.
func BenchmarkAlertmanagerSingle(b *testing.B) {
	benchParse(b, SourceAlertmanager, amBatch(1), 1)
}

// BenchmarkSources parses each fixture, for comparing the sources.
func BenchmarkSources(b *testing.B) {
	for _, file := range []string{"grafana/firing.json", "splunk/notable.json", "elastic/security_flattened.json",
		"wazuh/alerts.jsonl", "suricata/eve.jsonl", "generic/guardduty/ssh_bruteforce.json"} {
		body := readFixture(b, file)
		source := file[:len(file)-len("/")-len(lastElem(file))]
		b.Run(file, func(b *testing.B) {
			ps := testParsers(b)
			batch, err := ps[source].Parse(body)
			if err != nil {
				b.Fatal(err)
			}
			benchParse(b, source, body, len(batch.Alerts))
		})
	}
}

func lastElem(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

func benchParse(b *testing.B, source string, body []byte, perBody int) {
	p := testParsers(b)[source]
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		batch, err := p.Parse(body)
		if err != nil || len(batch.Alerts) != perBody {
			b.Fatalf("%v, %d alerts", err, len(batch.Alerts))
		}
	}
	alerts := float64(b.N * perBody)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/alerts, "ns/alert")
	// CPU time, garbage collection included, is steadier than wall time
	// on a machine shared with other work, and is what the intake budget
	// is counted in.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/alerts, "cpu-ns/alert")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
