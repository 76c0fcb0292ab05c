package alerts

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/bot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testConfig is the configuration the fixtures are parsed with: the two
// generic mappings of testdata/generic and GuardDuty's numeric severity
// scale as ranges.
func testConfig() Config {
	return Config{
		SeverityMap: map[string]map[string]string{
			"guardduty": {"..4": "low", "4..7": "medium", "7..9": "high", "9..": "critical"},
		},
		Generic: map[string]GenericMapping{
			"guardduty": {
				Title:       "detail.title",
				Severity:    "detail.severity",
				Fingerprint: "detail.id",
				Description: "detail.description",
				Observables: map[string]string{
					"src_ip":    "detail.service.action.networkConnectionAction.remoteIpDetails.ipAddressV4",
					"caller_ip": "detail.service.action.awsApiCallAction.remoteIpDetails.ipAddressV4",
					"host":      "detail.resource.instanceDetails.networkInterfaces[0].privateDnsName",
					"instance":  "detail.resource.instanceDetails.instanceId",
					"user":      "detail.resource.accessKeyDetails.userName",
				},
			},
			"sentinel": {
				Title:       "AlertDisplayName",
				Severity:    "$.Severity",
				Description: "Description",
				Observables: map[string]string{
					"ip":   "Entities[*].Address",
					"host": "Entities.HostName",
					"user": `Entities[*]["Name"]`,
					"url":  "Entities.Url",
				},
			},
		},
		GroupBy: []string{"alertname", "host"},
	}
}

func testParsers(t testing.TB) map[string]Parser {
	t.Helper()
	ps, err := Parsers(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// wantAlert spot-checks one parsed alert; the golden file holds the rest.
type wantAlert struct {
	title, severity, status string
	// fingerprint is exact when it ends in a source's own id, else a
	// prefix: hashed fingerprints are pinned by the golden files.
	fingerprint string
	observables []string          // "type:value", each must be present
	labels      map[string]string // each must be present with this value
}

var fixtureTable = []struct {
	file     string
	alerts   []wantAlert
	rejected []int
}{
	{
		file: "alertmanager/firing.json",
		alerts: []wantAlert{{
			title: "SSH brute force against bastion-01 from 203.0.113.45", severity: "critical", status: "firing",
			fingerprint: "alertmanager:8b3fb4de1a2c9f70",
			observables: []string{"hostname:bastion-01.example.com", "ipv4:203.0.113.45"},
			labels:      map[string]string{"alertname": "SSHBruteForce", "host": "bastion-01.example.com", "src_ip": "203.0.113.45", "job": "node"},
		}, {
			title: "SSH brute force against 198.51.100.20 from 203.0.113.46", severity: "critical", status: "firing",
			fingerprint: "alertmanager:d0e4c2a9b18f3e55",
			observables: []string{"ipv4:198.51.100.20", "ipv4:203.0.113.46"},
			labels:      map[string]string{"host": "198.51.100.20"},
		}},
	},
	{
		file: "alertmanager/resolved.json",
		alerts: []wantAlert{{
			title: "SSH brute force against bastion-01 from 203.0.113.45", severity: "critical", status: "resolved",
			fingerprint: "alertmanager:8b3fb4de1a2c9f70",
		}},
	},
	{
		file: "alertmanager/mixed_batch.json",
		alerts: []wantAlert{{
			title: "Terminal shell in container payments-api", severity: "medium", status: "firing",
			fingerprint: "alertmanager:5a1c0f9e2b7d4c33",
			observables: []string{"hostname:k8s-node-3", "user:root"},
			labels:      map[string]string{"alertname": "TerminalShellInContainer", "host": "k8s-node-3", "user": "root"},
		}, {
			title: "Network tool nc launched in container payments-api connecting to 198.51.100.99:4444", severity: "high", status: "firing",
			fingerprint: "alertmanager:9e5043d26f1b8077",
			observables: []string{"ipv4:198.51.100.99"},
		}},
		rejected: []int{1, 2, 3},
	},
	{
		file: "grafana/firing.json",
		alerts: []wantAlert{{
			title: "Possible credential stuffing against auth-01", severity: "high", status: "firing",
			fingerprint: "grafana:1/c6eadffa33fcdf37",
			observables: []string{"hostname:auth-01.example.com", "ipv4:198.51.100.77"},
			labels:      map[string]string{"alertname": "Excessive 401s on login", "host": "auth-01.example.com", "grafana_folder": "Security"},
		}, {
			title: "Outbound traffic to rare port", severity: "medium", status: "firing",
			fingerprint: "grafana:1/1f6c3b9d44e0a812",
			observables: []string{"ipv4:198.51.100.14"},
			labels:      map[string]string{"host": "198.51.100.14"},
		}},
	},
	{
		file: "grafana/resolved.json",
		alerts: []wantAlert{{
			title: "Possible credential stuffing against auth-01", severity: "high", status: "resolved",
			fingerprint: "grafana:1/c6eadffa33fcdf37",
		}},
	},
	{
		file: "grafana/nodata.json",
		alerts: []wantAlert{{
			title: "Failed sudo attempts (DatasourceNoData)", severity: "medium", status: "firing",
			fingerprint: "grafana:2/3d2e1f0a9b8c7d6e",
		}},
	},
	{
		file: "splunk/notable.json",
		alerts: []wantAlert{{
			title: "Access - Brute Force Access Behavior Detected - Rule", severity: "high", status: "firing",
			fingerprint: "splunk:",
			observables: []string{"hostname:db-07.corp.example.com", "ipv4:198.51.100.31", "ipv4:203.0.113.91", "user:svc_backup"},
			labels: map[string]string{"alertname": "Access - Brute Force Access Behavior Detected - Rule", "host": "db-07.corp.example.com",
				"user": "svc_backup", "src_ip": "203.0.113.91", "dest_ip": "198.51.100.31", "app": "SA-AccessProtection"},
		}},
	},
	{
		file: "splunk/mvfield.json",
		alerts: []wantAlert{{
			title: "Malware hash seen on endpoint", severity: "critical", status: "firing", fingerprint: "splunk:",
			observables: []string{"sha256:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
				"user:jdoe", `user:CORP\jdoe`, "url:http://invoices-example.org/dl/invoice.exe"},
			labels: map[string]string{"user": "jdoe", "host": "ws-042.corp.example.com"},
		}},
	},
	{file: "splunk/docs_example.json", rejected: []int{0}},
	{
		file: "splunk/no_result.json",
		alerts: []wantAlert{{
			title: "Firewall deny spike", severity: "medium", status: "firing", fingerprint: "splunk:",
			labels: map[string]string{"alertname": "Firewall deny spike", "owner": "nobody"},
		}},
	},
	{
		file: "elastic/security_flattened.json",
		alerts: []wantAlert{{
			title: "Potential Credential Access via Windows Utilities", severity: "high", status: "firing",
			fingerprint: "elastic:4f1c2b7e9a0d3c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6",
			observables: []string{"hostname:ws-042", "ipv4:192.0.2.42", "user:jdoe",
				"sha256:16f413862efda3aba631d8a7ae2bfff6d84acd9f454a7adaa518c7a8a6f375a5"},
			labels: map[string]string{"alertname": "Potential Credential Access via Windows Utilities", "host": "ws-042", "user": "jdoe",
				"rule": "00140285-b827-4aee-aa09-8113f58a08f3", "workflow_status": "open"},
		}, {
			title: "Connection to Commonly Abused Web Services", severity: "low", status: "firing",
			fingerprint: "elastic:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d",
			observables: []string{"ipv4:192.0.2.42", "ipv4:203.0.113.9", "domain:paste.example.org", "url:https://paste.example.org/raw/Zx81kq"},
			labels:      map[string]string{"src_ip": "192.0.2.42", "dest_ip": "203.0.113.9"},
		}},
	},
	{
		file: "elastic/observability_wrapped.json",
		alerts: []wantAlert{{
			title: "Auditbeat: sudo to root outside change window", severity: "medium", status: "resolved",
			fingerprint: "elastic:2b4a6c8e-0d1f-4a3b-9c5d-7e9f1a3b5c7d",
			observables: []string{"hostname:db-07.corp.example.com", "user:alice"},
			labels:      map[string]string{"host": "db-07.corp.example.com", "category": "Log threshold"},
		}},
		rejected: []int{1},
	},
	{
		file: "elastic/nested_no_uuid.json",
		alerts: []wantAlert{{
			title: "Malicious file downloaded", severity: "critical", status: "firing", fingerprint: "elastic:",
			observables: []string{"hostname:ws-101", "user:bob", "user:SYSTEM", "email:bob@example.com", "ipv4:198.51.100.66",
				"md5:0cc175b9c0f1b6a831c399e269772661", "url:https://cdn-files.example.org/invoice.js"},
		}},
	},
	{
		file: "wazuh/sshd_bruteforce.json",
		alerts: []wantAlert{{
			title: "sshd: brute force trying to get access to the system. Non existent user.", severity: "high", status: "firing",
			fingerprint: "wazuh:",
			observables: []string{"hostname:web-01", "ipv4:198.51.100.10", "ipv4:203.0.113.50", "user:admin"},
			labels: map[string]string{"alertname": "sshd: brute force trying to get access to the system. Non existent user.",
				"rule": "5712", "host": "web-01", "src_ip": "203.0.113.50", "user": "admin", "level": "10",
				"groups": "syslog,sshd,authentication_failures", "mitre": "T1110"},
		}},
	},
	{
		file: "wazuh/alerts.jsonl",
		alerts: []wantAlert{{
			title: "Integrity checksum changed.", severity: "medium", status: "firing", fingerprint: "wazuh:",
			observables: []string{"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "md5:8e1f3a9b0c2d4e6f8a0b1c3d5e7f9a1b"},
			labels:      map[string]string{"rule": "550", "host": "web-01"},
		}, {
			title: "Logon failure - Unknown user or bad password.", severity: "medium", status: "firing", fingerprint: "wazuh:",
			observables: []string{"user:administrator", "ipv4:203.0.113.61", "hostname:ws-042"},
			labels:      map[string]string{"host": "ws-042", "user": "administrator", "agent": "WS-042"},
		}, {
			title: "Wazuh agent heartbeat", severity: "info", status: "firing", fingerprint: "wazuh:",
		}},
		rejected: []int{2},
	},
	{
		file: "wazuh/virustotal.json",
		alerts: []wantAlert{{
			title: "VirusTotal: Alert - /tmp/.x/kworker - 41 engines detected this file", severity: "critical", status: "firing",
			fingerprint: "wazuh:",
			observables: []string{"md5:44d88612fea8a8f36de82e1278abb02f", "sha1:3395856ce81f2b7382dee72602f798b642f14140"},
		}},
	},
	{
		file: "suricata/eve.jsonl",
		alerts: []wantAlert{{
			title: "ET MALWARE Cobalt Strike Beacon Observed", severity: "high", status: "firing", fingerprint: "suricata:",
			observables: []string{"ipv4:192.0.2.15", "ipv4:198.51.100.23", "domain:cdn-update.example.net"},
			labels: map[string]string{"alertname": "ET MALWARE Cobalt Strike Beacon Observed", "rule": "2035466", "host": "sensor-dmz-01",
				"src_ip": "192.0.2.15", "dest_ip": "198.51.100.23", "action": "allowed", "app_proto": "tls"},
		}, {
			title: "ET EXPLOIT Apache log4j RCE Attempt (CVE-2021-44228)", severity: "high", status: "firing", fingerprint: "suricata:",
			observables: []string{"ipv4:203.0.113.200", "ipv4:192.0.2.80", "domain:shop.example.com", "cve:CVE-2021-44228"},
			labels:      map[string]string{"action": "blocked", "dest_port": "8080"},
		}, {
			title: "ET INFO Observed DNS Query to .cloud TLD", severity: "low", status: "firing", fingerprint: "suricata:",
			observables: []string{"domain:c2.badcdn.example.cloud"},
		}},
		rejected: []int{6},
	},
	{
		file: "suricata/alert.json",
		alerts: []wantAlert{{
			title: "ET POLICY PE EXE or DLL Windows file download HTTP", severity: "medium", status: "firing", fingerprint: "suricata:",
			observables: []string{"ipv6:2001:db8:10::15", "ipv6:2001:db8:ffff::80", "domain:downloads.example.org",
				"url:http://downloads.example.org/tools/update.exe",
				"sha256:5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"},
		}},
	},
	{
		file: "generic/guardduty/ssh_bruteforce.json",
		alerts: []wantAlert{{
			title: "203.0.113.50 is performing SSH brute force attacks against i-0a1b2c3d4e5f67890.", severity: "medium", status: "firing",
			fingerprint: "generic/guardduty:16afba5c5c43e07c9e3e5e2e544e95df",
			observables: []string{"ipv4:203.0.113.50", "hostname:ip-192-0-2-17.ec2.internal"},
			labels: map[string]string{"src_ip": "203.0.113.50", "host": "ip-192-0-2-17.ec2.internal",
				"instance": "i-0a1b2c3d4e5f67890"},
		}},
	},
	{
		file: "generic/guardduty/iam_malicious_ip.json",
		alerts: []wantAlert{{
			title: "API ListBuckets was invoked from an IP address on a custom threat list.", severity: "high", status: "firing",
			fingerprint: "generic/guardduty:7ec4d2a1b0f9e8d7c6b5a4f3e2d1c0b9",
			observables: []string{"ipv4:198.51.100.201", "user:ci-deployer", "domain:s3.example.com"},
			labels:      map[string]string{"user": "ci-deployer", "caller_ip": "198.51.100.201"},
		}},
	},
	{
		file: "generic/sentinel/batch.json",
		alerts: []wantAlert{{
			title: "Sign-in from an IP on a threat intelligence list", severity: "high", status: "firing", fingerprint: "generic/sentinel:",
			observables: []string{"ipv4:203.0.113.77", "hostname:ws-042", "user:jdoe", "email:jdoe@example.com"},
			labels:      map[string]string{"host": "ws-042", "user": "jdoe", "src_ip": "203.0.113.77"},
		}, {
			title: "Mass download by a single user", severity: "medium", status: "firing", fingerprint: "generic/sentinel:",
			observables: []string{"user:alice", "ipv4:198.51.100.140", "url:https://contoso.sharepoint.example.com/sites/finance"},
		}},
		rejected: []int{1},
	},
}

// TestFixtures parses every fixture with its source's parser, checks the
// table's expectations and compares the whole batch with the golden file.
func TestFixtures(t *testing.T) {
	ps := testParsers(t)
	listed := map[string]bool{}
	for _, tc := range fixtureTable {
		listed[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			source := filepath.ToSlash(filepath.Dir(tc.file))
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			b, err := ps[source].Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			b.Observe()
			var rejected []int
			for _, r := range b.Rejected {
				rejected = append(rejected, r.Index)
			}
			if !slices.Equal(rejected, tc.rejected) {
				t.Errorf("rejected %v, want %v (%+v)", rejected, tc.rejected, b.Rejected)
			}
			if len(b.Alerts) != len(tc.alerts) {
				t.Fatalf("got %d alerts, want %d", len(b.Alerts), len(tc.alerts))
			}
			for i, w := range tc.alerts {
				checkAlert(t, i, b.Alerts[i], source, w)
			}
			golden(t, strings.TrimSuffix(tc.file, filepath.Ext(tc.file))+".golden", b)
		})
	}
	// Every fixture must be in the table, so none is parsed by nobody.
	_ = filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".jsonl")) {
			rel, _ := filepath.Rel("testdata", p)
			if !listed[filepath.ToSlash(rel)] {
				t.Errorf("fixture %s is not in fixtureTable", rel)
			}
		}
		return nil
	})
}

func checkAlert(t *testing.T, i int, a bot.Alert, source string, w wantAlert) {
	t.Helper()
	if a.Source != source {
		t.Errorf("alert %d: source %q, want %q", i, a.Source, source)
	}
	if a.Title != w.title {
		t.Errorf("alert %d: title %q, want %q", i, a.Title, w.title)
	}
	if a.Severity != w.severity {
		t.Errorf("alert %d: severity %q (raw %q), want %q", i, a.Severity, a.RawSeverity, w.severity)
	}
	if a.Status != w.status {
		t.Errorf("alert %d: status %q, want %q", i, a.Status, w.status)
	}
	if strings.HasSuffix(w.fingerprint, ":") {
		if !strings.HasPrefix(a.Fingerprint, w.fingerprint) || len(a.Fingerprint) != len(w.fingerprint)+32 {
			t.Errorf("alert %d: fingerprint %q, want %s and 32 hex digits", i, a.Fingerprint, w.fingerprint)
		}
	} else if a.Fingerprint != w.fingerprint {
		t.Errorf("alert %d: fingerprint %q, want %q", i, a.Fingerprint, w.fingerprint)
	}
	have := map[string]bool{}
	for _, o := range a.Observables {
		have[o.Type+":"+o.Value] = true
	}
	for _, o := range w.observables {
		if !have[o] {
			t.Errorf("alert %d: observable %s missing from %v", i, o, a.Observables)
		}
	}
	for k, v := range w.labels {
		if a.Labels[k] != v {
			t.Errorf("alert %d: label %s=%q, want %q", i, k, a.Labels[k], v)
		}
	}
	if !json.Valid(a.Raw) || len(a.Raw) == 0 || len(a.Raw) > MaxRawBytes {
		t.Errorf("alert %d: Raw is not the alert's JSON: %.80q", i, a.Raw)
	}
}

// golden compares the batch, without Raw (which repeats the fixture), with
// a golden file; -update rewrites it.
func golden(t *testing.T, name string, b Batch) {
	t.Helper()
	alerts := make([]bot.Alert, len(b.Alerts))
	for i, a := range b.Alerts {
		a.Raw = nil
		alerts[i] = a
	}
	got, err := json.MarshalIndent(struct {
		Alerts   []bot.Alert `json:"alerts"`
		Rejected []Rejection `json:"rejected,omitempty"`
	}{alerts, b.Rejected}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, got)
	}
}

func readTestdata(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
}
