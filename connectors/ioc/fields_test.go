package ioc

import (
	"strings"
	"testing"
)

func TestFromFields(t *testing.T) {
	const (
		md5    = "62c9488526cea31fb6b7b3cddfa203e0"
		sha1   = "8f2e1c02d6ccc02450eca8b648f74e933312a176"
		sha256 = "e9f02803b8bc66a33f94427e1debbdf5e72c95cefa468dfce3ba3d23fe2779d8"
	)
	tests := []struct {
		name   string
		fields map[string]string
		want   []string
	}{
		{"host.name", map[string]string{"host.name": "WS-FIN-042"}, []string{"hostname ws-fin-042"}},
		{"hostname fqdn stays hostname", map[string]string{"hostname": "db01.corp.example.com."}, []string{"hostname db01.corp.example.com"}},
		{"agent.name", map[string]string{"agent.name": "ws-fin-042"}, []string{"hostname ws-fin-042"}},
		{"host field with ip", map[string]string{"host": "10.0.0.7"}, []string{"ipv4 10.0.0.7 private"}},
		{"user.name kept as written", map[string]string{"user.name": `CORP\A.Nguyen`}, []string{`user CORP\A.Nguyen`}},
		{"user", map[string]string{"user": "alice"}, []string{"user alice"}},
		{"user placeholder", map[string]string{"user": "-", "user.name": "N/A"}, nil},
		{"source and destination ip", map[string]string{"source.ip": "10.20.1.15", "destination.ip": "203.0.113.80"}, []string{"ipv4 203.0.113.80 documentation", "ipv4 10.20.1.15 private"}},
		{"splunk names", map[string]string{"src_ip": "192.0.2.1", "dest_ip": "2001:db8::1", "srcip": "198.51.100.2"}, []string{"ipv6 2001:db8::1 documentation", "ipv4 192.0.2.1 documentation", "ipv4 198.51.100.2 documentation"}},
		{"ip with port", map[string]string{"src_ip": "198.51.100.7:443", "dst_ip": "[2001:db8::1]:443"}, []string{"ipv6 2001:db8::1 documentation", "ipv4 198.51.100.7 documentation"}},
		{"defanged ip", map[string]string{"dest_ip": "203.0.113[.]5"}, []string{"ipv4 203.0.113.5 documentation"}},
		{"garbage ip", map[string]string{"source.ip": "not-an-ip", "dest_ip": "999.1.1.1", "srcip": "-"}, nil},
		{"ip field never yields a host", map[string]string{"src_ip": "evil.example.com"}, nil},
		{"multi-valued ip", map[string]string{"related.ip": "10.0.0.1, 8.8.8.8;junk"}, []string{"ipv4 10.0.0.1 private", "ipv4 8.8.8.8"}},
		{"json array string", map[string]string{"related.ip": `["8.8.8.8","8.8.4.4"]`}, []string{"ipv4 8.8.8.8", "ipv4 8.8.4.4"}},
		{"file.hash.sha256", map[string]string{"file.hash.sha256": strings.ToUpper(sha256)}, []string{"sha256 " + sha256}},
		{"sha256 field holding md5", map[string]string{"file.hash.sha256": md5}, nil},
		{"md5 and sha1", map[string]string{"file.hash.md5": md5, "file.hash.sha1": sha1}, []string{"md5 " + md5, "sha1 " + sha1}},
		{"sysmon hashes", map[string]string{"Hashes": "SHA1=" + sha1 + ",MD5=" + md5 + ",IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744"}, []string{"sha1 " + sha1, "md5 " + md5}},
		{"mislabelled algo", map[string]string{"hashes": "SHA256=" + md5}, nil},
		{"url.full", map[string]string{"url.full": "hxxp://203.0.113[.]80:8080/a.ps1"}, []string{"url http://203.0.113.80:8080/a.ps1 documentation"}},
		{"url field with a path only", map[string]string{"url": "/api/login"}, nil},
		{"dns.question.name public", map[string]string{"dns.question.name": "cdn-update.example.net."}, []string{"domain cdn-update.example.net"}},
		{"dns.question.name internal", map[string]string{"dns.question.name": "wpad.corp.local"}, []string{"hostname wpad.corp.local"}},
		{"email with display name", map[string]string{"email.from.address": "Accounts <billing@example.net>"}, []string{"email billing@example.net"}},
		{"cve", map[string]string{"vulnerability.id": "cve-2021-44228"}, []string{"cve CVE-2021-44228"}},
		{"nested prefix", map[string]string{"_source.host.name": "ws1", "threat.indicator.file.hash.sha256": sha256, "winlog.event_data.TargetUserName": "svc-backup"}, []string{"hostname ws1", "sha256 " + sha256, "user svc-backup"}},
		{"case-insensitive names", map[string]string{"Source.IP": "8.8.8.8", "ComputerName": "WS2"}, []string{"hostname ws2", "ipv4 8.8.8.8"}},
		{"unknown fields ignored", map[string]string{"message": "beacon to 8.8.8.8", "process.pid": "4242", "file.name": "evil.example.com"}, nil},
		{"dedup across fields", map[string]string{"source.ip": "8.8.8.8", "src_ip": "8.8.8.8"}, []string{"ipv4 8.8.8.8"}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkList(t, tt.name, FromFields(tt.fields), tt.want)
		})
	}
}
