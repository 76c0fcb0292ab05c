package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/warroom-bot/warroom/bot"
)

func parseOne(t *testing.T, ps map[string]Parser, source, body string) bot.Alert {
	t.Helper()
	b, err := ps[source].Parse([]byte(body))
	if err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	b.Observe()
	if len(b.Alerts) != 1 {
		t.Fatalf("%s: got %d alerts (rejected %+v), want 1, from %s", source, len(b.Alerts), b.Rejected, body)
	}
	return b.Alerts[0]
}

func amBody(fp, start, instance, summary string) string {
	fpField := ""
	if fp != "" {
		fpField = fmt.Sprintf(`,"fingerprint":%q`, fp)
	}
	return fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing",
		"labels":{"alertname":"SSHBruteForce","instance":%q,"severity":"critical"},
		"annotations":{"summary":%q},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z"%s}]}`, instance, summary, start, fpField)
}

func splunkBody(sid, tm, count, src, search string) string {
	return fmt.Sprintf(`{"sid":%q,"search_name":%q,"app":"search","owner":"admin","results_link":"https://splunk.example.com/@go?sid=%s",
		"result":{"_time":%q,"count":%q,"src":%q,"dest":"db-07","user":"svc_backup"}}`, sid, search, sid, tm, count, src)
}

func wazuhBody(id, ts, srcip, rule, agent string) string {
	return fmt.Sprintf(`{"timestamp":%q,"id":%q,"rule":{"level":10,"id":%q,"description":"sshd: brute force"},
		"agent":{"id":"003","name":%q},"data":{"srcip":%q},"full_log":"Invalid user admin from %s"}`, ts, id, rule, agent, srcip, srcip)
}

func suricataBody(flow, ts, sport, dst, sid string) string {
	return fmt.Sprintf(`{"timestamp":%q,"flow_id":%s,"event_type":"alert","src_ip":"192.0.2.15","src_port":%s,"dest_ip":%q,"dest_port":443,
		"proto":"TCP","alert":{"gid":1,"signature_id":%s,"rev":2,"signature":"ET MALWARE Beacon","severity":1}}`, ts, flow, sport, dst, sid)
}

func elasticBody(uuid, ts, host, rule string) string {
	id := ""
	if uuid != "" {
		id = fmt.Sprintf(`"kibana.alert.uuid":%q,`, uuid)
	}
	return fmt.Sprintf(`{%s"@timestamp":%q,"kibana.alert.rule.name":%q,"kibana.alert.rule.uuid":"r-1","kibana.alert.severity":"high",
		"kibana.alert.reason":"seen at %s","host.name":%q}`, id, ts, rule, ts, host)
}

// TestRepeatsFold checks, per source, that two deliveries of the same alert
// (differing only in per-event ids, times and counters) share a
// fingerprint, and that a different alert does not.
func TestRepeatsFold(t *testing.T) {
	ps := testParsers(t)
	tests := []struct {
		name, source    string
		first, repeat   string
		different       string
		differentReason string
	}{
		{"alertmanager own fingerprint", "alertmanager",
			amBody("8b3fb4de1a2c9f70", "2024-03-12T09:00:00Z", "web-01:9100", "x"),
			amBody("8b3fb4de1a2c9f70", "2024-03-12T09:30:00Z", "web-01:9100", "y"),
			amBody("d0e4c2a9b18f3e55", "2024-03-12T09:00:00Z", "web-02:9100", "x"), "another fingerprint"},
		{"alertmanager without fingerprint", "alertmanager",
			amBody("", "2024-03-12T09:00:00Z", "web-01:9100", "first summary"),
			amBody("", "2024-03-12T09:30:00Z", "web-01:9100", "summary reworded"),
			amBody("", "2024-03-12T09:00:00Z", "web-02:9100", "first summary"), "another label set"},
		{"splunk", "splunk",
			splunkBody("sid_1", "1710235200", "312", "203.0.113.91", "Brute force"),
			splunkBody("sid_2", "1710238800", "17", "203.0.113.91", "Brute force"),
			splunkBody("sid_3", "1710235200", "312", "203.0.113.92", "Brute force"), "another src"},
		{"splunk search", "splunk",
			splunkBody("sid_1", "1710235200", "312", "203.0.113.91", "Brute force"),
			splunkBody("sid_9", "1710235200", "312", "203.0.113.91", "Brute force"),
			splunkBody("sid_1", "1710235200", "312", "203.0.113.91", "Password spray"), "another search"},
		{"wazuh agent", "wazuh",
			wazuhBody("1710235304.1", "2024-03-12T09:21:44.402+0000", "203.0.113.50", "5712", "web-01"),
			wazuhBody("1710235999.7", "2024-03-12T09:40:00.000+0000", "203.0.113.51", "5712", "web-01"),
			wazuhBody("1710235304.1", "2024-03-12T09:21:44.402+0000", "203.0.113.50", "5712", "web-02"), "another agent"},
		{"wazuh rule", "wazuh",
			wazuhBody("1", "2024-03-12T09:21:44.402+0000", "203.0.113.50", "5712", "web-01"),
			wazuhBody("2", "2024-03-12T09:21:44.402+0000", "203.0.113.50", "5712", "web-01"),
			wazuhBody("1", "2024-03-12T09:21:44.402+0000", "203.0.113.50", "5710", "web-01"), "another rule"},
		{"suricata addresses", "suricata",
			suricataBody("2077115023419977", "2024-03-12T09:21:44.402311+0000", "49822", "198.51.100.23", "2035466"),
			suricataBody("3177115023419978", "2024-03-12T09:51:44.000000+0000", "50110", "198.51.100.23", "2035466"),
			suricataBody("2077115023419977", "2024-03-12T09:21:44.402311+0000", "49822", "198.51.100.24", "2035466"), "another destination"},
		{"suricata signature", "suricata",
			suricataBody("1", "2024-03-12T09:21:44.402311+0000", "1", "198.51.100.23", "2035466"),
			suricataBody("2", "2024-03-12T09:21:44.402311+0000", "2", "198.51.100.23", "2035466"),
			suricataBody("1", "2024-03-12T09:21:44.402311+0000", "1", "198.51.100.23", "2035467"), "another signature"},
		{"elastic uuid", "elastic",
			elasticBody("u-1", "2024-03-12T09:00:00Z", "ws-042", "Rule A"),
			elasticBody("u-1", "2024-03-12T09:05:00Z", "ws-042", "Rule A"),
			elasticBody("u-2", "2024-03-12T09:00:00Z", "ws-042", "Rule A"), "another uuid"},
		{"elastic without uuid", "elastic",
			elasticBody("", "2024-03-12T09:00:00Z", "ws-042", "Rule A"),
			elasticBody("", "2024-03-12T09:05:00Z", "WS-042", "Rule A"),
			elasticBody("", "2024-03-12T09:00:00Z", "ws-043", "Rule A"), "another host"},
		{"generic with fingerprint path", "generic/guardduty",
			`{"time":"2024-03-12T09:00:00Z","detail":{"id":"f-1","title":"SSH brute force","severity":5,"service":{"count":1}}}`,
			`{"time":"2024-03-12T10:00:00Z","detail":{"id":"f-1","title":"SSH brute force","severity":5,"service":{"count":20}}}`,
			`{"time":"2024-03-12T09:00:00Z","detail":{"id":"f-2","title":"SSH brute force","severity":5,"service":{"count":1}}}`, "another finding id"},
		{"generic without fingerprint path", "generic/sentinel",
			`{"SystemAlertId":"a-1","AlertDisplayName":"TI sign-in","Severity":"High","TimeGenerated":"2024-03-12T09:00:00Z","Entities":[{"Address":"203.0.113.77"}]}`,
			`{"SystemAlertId":"a-2","AlertDisplayName":"TI sign-in","Severity":"High","TimeGenerated":"2024-03-12T09:10:00Z","Entities":[{"Address":"203.0.113.77"}]}`,
			`{"SystemAlertId":"a-1","AlertDisplayName":"TI sign-in","Severity":"High","TimeGenerated":"2024-03-12T09:00:00Z","Entities":[{"Address":"203.0.113.78"}]}`, "another entity"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := parseOne(t, ps, tc.source, tc.first)
			b := parseOne(t, ps, tc.source, tc.repeat)
			c := parseOne(t, ps, tc.source, tc.different)
			if a.Fingerprint != b.Fingerprint {
				t.Errorf("repeat: fingerprints %q and %q differ", a.Fingerprint, b.Fingerprint)
			}
			if a.Fingerprint == c.Fingerprint {
				t.Errorf("%s: fingerprint %q is the same", tc.differentReason, a.Fingerprint)
			}
			for _, al := range []bot.Alert{a, c} {
				if !strings.HasPrefix(al.Fingerprint, tc.source+":") {
					t.Errorf("fingerprint %q lacks the source prefix %q", al.Fingerprint, tc.source+":")
				}
				if other, dup := seen[al.Fingerprint]; dup && other != tc.source {
					t.Errorf("fingerprint %q of %s collides with %s", al.Fingerprint, tc.source, other)
				}
				seen[al.Fingerprint] = tc.source
			}
		})
	}
}

// TestResolvedMatchesFiring checks that the resolved notification of an
// alert carries the firing one's fingerprint, so that it finds its
// incident.
func TestResolvedMatchesFiring(t *testing.T) {
	ps := testParsers(t)
	for _, source := range []string{"alertmanager", "grafana"} {
		t.Run(source, func(t *testing.T) {
			firing, err := ps[source].Parse(readFixture(t, source+"/firing.json"))
			if err != nil {
				t.Fatal(err)
			}
			resolved, err := ps[source].Parse(readFixture(t, source+"/resolved.json"))
			if err != nil {
				t.Fatal(err)
			}
			f, r := firing.Alerts[0], resolved.Alerts[0]
			if f.Status != "firing" || r.Status != "resolved" || f.Fingerprint != r.Fingerprint {
				t.Errorf("firing %s %s, resolved %s %s", f.Status, f.Fingerprint, r.Status, r.Fingerprint)
			}
			if r.EndsAt.IsZero() || !f.EndsAt.IsZero() {
				t.Errorf("EndsAt: firing %v, resolved %v", f.EndsAt, r.EndsAt)
			}
		})
	}
	// Kibana says recovered; a status Kibana never sends is rejected.
	a := parseOne(t, ps, "elastic", `{"kibana.alert.rule.name":"r","kibana.alert.status":"recovered"}`)
	if a.Status != "resolved" {
		t.Errorf("elastic recovered: status %q", a.Status)
	}
	b, err := ps["elastic"].Parse([]byte(`{"kibana.alert.rule.name":"r","kibana.alert.status":"snoozed"}`))
	if err != nil || len(b.Rejected) != 1 || !strings.Contains(b.Rejected[0].Reason, `"snoozed"`) {
		t.Errorf("elastic bad status: %+v, %v", b, err)
	}
}

// TestBodyErrors checks that unusable bodies give a *BodyError whose
// message names the problem.
func TestBodyErrors(t *testing.T) {
	ps := testParsers(t)
	many := "[" + strings.Repeat(`{"a":1},`, MaxAlerts) + `{"a":1}]`
	tests := []struct{ source, body, want string }{
		{"alertmanager", `{"alerts": [`, "alertmanager: body is not JSON: unexpected end of input at byte 12"},
		{"alertmanager", `{"alerts": [}`, "alertmanager: body is not JSON: invalid character '}' looking for beginning of value at byte 13"},
		{"alertmanager", ``, "alertmanager: body is empty"},
		{"alertmanager", "  \n", "alertmanager: body is empty"},
		{"alertmanager", `[]`, "alertmanager: body has the wrong shape: body is an array, want an object"},
		{"alertmanager", `{"alerts": "none"}`, "alertmanager: body has the wrong shape: alerts is a string, want an array"},
		{"alertmanager", `{"status": "firing"}`, "alertmanager: body has the wrong shape: no alerts array"},
		{"alertmanager", `{"alerts": null}`, "alertmanager: body has the wrong shape: no alerts array"},
		{"grafana", `{"orgId": "one", "alerts": []}`, "grafana: body has the wrong shape: orgId is a string, want a whole number"},
		{"grafana", `{"alerts":[]} {"alerts":[]}`, "grafana: body is not JSON: invalid character '{' after top-level value at byte 15"},
		{"splunk", `"alert"`, "splunk: body has the wrong shape: body is a string, want an object"},
		{"splunk", `{"search_name": 7}`, "splunk: body has the wrong shape: search_name is a number, want a string"},
		{"splunk", `{"result": [1]}`, "splunk: body has the wrong shape: result is an array, want an object"},
		{"elastic", `42`, "elastic: body is a number, want a JSON object or an array of objects"},
		{"elastic", `{"kibana.alert.rule.name": "x",}`, "elastic: body is not JSON: invalid character '}' looking for beginning of object key string at byte 32"},
		{"wazuh", `not json`, "wazuh: body is not JSON: invalid character 'o' in literal null (expecting 'u') at byte 2"},
		{"wazuh", "{\n  \"rule\": {\n    \"level\": 3,\n", "wazuh: body is not JSON: unexpected end of input at byte 30"},
		{"suricata", "oops\nnope\n", "suricata: body is not JSON: invalid character 'o' looking for beginning of value at byte 1"},
		{"generic/sentinel", many, fmt.Sprintf("generic/sentinel: body holds more than %d alerts; split it into several requests", MaxAlerts)},
		{"alertmanager", `{"alerts":` + many + `}`, fmt.Sprintf("alertmanager: body holds more than %d alerts; split it into several requests", MaxAlerts)},
		{"suricata", strings.Repeat(`{"event_type":"flow"}`+"\n", MaxAlerts+1), fmt.Sprintf("suricata: body holds more than %d alerts; split it into several requests", MaxAlerts)},
	}
	for _, tc := range tests {
		name := tc.source + " " + tc.body
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			b, err := ps[tc.source].Parse([]byte(tc.body))
			var be *BodyError
			if !errors.As(err, &be) {
				t.Fatalf("got %v (%T), batch %+v; want a *BodyError", err, err, b)
			}
			if be.Error() != tc.want {
				t.Errorf("got  %q\nwant %q", be.Error(), tc.want)
			}
			if be.Source != tc.source || len(b.Alerts) != 0 || len(b.Rejected) != 0 {
				t.Errorf("source %q, batch %+v", be.Source, b)
			}
		})
	}
}

// TestBatchWithBadAlerts checks that bad alerts reject only themselves and
// say why, whatever the way a body holds several alerts.
func TestBatchWithBadAlerts(t *testing.T) {
	ps := testParsers(t)
	tests := []struct {
		source, body string
		alerts       int
		rejected     map[int]string // index → part of the reason
	}{
		{"alertmanager", `{"alerts":[{"labels":{"alertname":"A"}},{"labels":{}},{"status":"gone","labels":{"alertname":"C"}},[1],{"labels":{"alertname":"E","x":{"y":1}}}]}`,
			1, map[int]string{1: "missing title: no annotations.summary or labels.alertname", 2: `status "gone" is neither firing nor resolved`,
				3: "alert is not in the alertmanager shape: alert is an array, want an object", 4: "a value in labels is an object, want a string"}},
		{"elastic", `[{"kibana.alert.rule.name":"A"}, 5, null, {"host.name":"h"}]`,
			1, map[int]string{1: "alert is a number, want a JSON object", 2: "alert is null, want a JSON object", 3: "missing title: no kibana.alert.rule.name"}},
		{"wazuh", "{\"rule\":{\"description\":\"A\",\"level\":3}}\n[1]\n{broken\n\n{\"rule\":{\"description\":\"B\"}}\n",
			2, map[int]string{1: "line 2 is an array, want a JSON object", 2: "line 3 is not JSON: invalid character 'b' looking for beginning of object key string at byte 2"}},
		{"suricata", "{\"event_type\":\"alert\",\"alert\":{\"signature\":\"A\"}}\n{\"event_type\":\"alert\",\"alert\":{}}\n{\"event_type\":\"flow\"}\n\"x\"\n",
			1, map[int]string{1: "missing title: no alert.signature", 3: "line 4 is a string, want a JSON object"}},
		{"generic/guardduty", `[{"detail":{"title":"A"}},{"detail":{"title":{"nested":true}}},{"detail":{"title":["B","C"]}}]`,
			2, map[int]string{1: "missing title: nothing at the title path detail.title"}},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			b, err := ps[tc.source].Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Alerts) != tc.alerts {
				t.Errorf("got %d alerts, want %d: %+v", len(b.Alerts), tc.alerts, b.Alerts)
			}
			if len(b.Rejected) != len(tc.rejected) {
				t.Errorf("rejected %+v, want %v", b.Rejected, tc.rejected)
			}
			for _, r := range b.Rejected {
				if want, ok := tc.rejected[r.Index]; !ok || !strings.Contains(r.Reason, want) {
					t.Errorf("rejection %d: %q, want %q", r.Index, r.Reason, want)
				}
			}
		})
	}
}

// TestSeverityDefaults walks the documented default table.
func TestSeverityDefaults(t *testing.T) {
	ps := testParsers(t)
	tests := []struct {
		source string
		raw    map[string]string // raw value → want
	}{
		{"alertmanager", map[string]string{"critical": "critical", "error": "high", "high": "high", "warning": "medium",
			"medium": "medium", "low": "low", "info": "info", "none": "info", "CRITICAL": "critical", "page": "medium", "": "medium"}},
		{"grafana", map[string]string{"critical": "critical", "error": "high", "warning": "medium", "info": "info", "none": "info"}},
		{"splunk", map[string]string{"critical": "critical", "high": "high", "medium": "medium", "low": "low", "informational": "info", "": "medium"}},
		{"elastic", map[string]string{"critical": "critical", "high": "high", "medium": "medium", "low": "low", "": "medium"}},
		{"wazuh", map[string]string{"0": "info", "1": "low", "3": "low", "4": "medium", "7": "medium", "8": "high", "11": "high",
			"12": "critical", "15": "critical", "16": "critical", "": "medium", "abc": "medium"}},
		{"suricata", map[string]string{"1": "high", "2": "medium", "3": "low", "4": "info", "255": "info", "": "medium"}},
		{"generic/sentinel", map[string]string{"High": "high", "Medium": "medium", "Low": "low", "Informational": "info", "": "medium"}},
		{"generic/guardduty", map[string]string{"2": "low", "3.9": "low", "4": "medium", "6.9": "medium", "7": "high", "8.9": "high", "9": "critical", "10": "critical"}},
	}
	for _, tc := range tests {
		for raw, want := range tc.raw {
			if got := severityOf(t, ps, tc.source, raw); got != want {
				t.Errorf("%s %q: got %q, want %q", tc.source, raw, got, want)
			}
		}
	}
}

// severityOf parses a minimal alert of source with raw as its severity.
func severityOf(t *testing.T, ps map[string]Parser, source, raw string) string {
	t.Helper()
	var body string
	switch source {
	case "alertmanager", "grafana":
		body = fmt.Sprintf(`{"alerts":[{"labels":{"alertname":"a","severity":%q}}]}`, raw)
	case "splunk":
		body = fmt.Sprintf(`{"search_name":"a","result":{"severity":%q}}`, raw)
	case "elastic":
		body = fmt.Sprintf(`{"kibana.alert.rule.name":"a","kibana.alert.severity":%q}`, raw)
	case "wazuh":
		body = fmt.Sprintf(`{"rule":{"description":"a","level":%s}}`, orNull(raw))
	case "suricata":
		body = fmt.Sprintf(`{"event_type":"alert","alert":{"signature":"a","severity":%s}}`, orNull(raw))
	case "generic/sentinel":
		body = fmt.Sprintf(`{"AlertDisplayName":"a","Severity":%q}`, raw)
	case "generic/guardduty":
		body = fmt.Sprintf(`{"detail":{"title":"a","severity":%s}}`, orNull(raw))
	}
	a := parseOne(t, ps, source, body)
	if a.RawSeverity != raw && !(raw == "abc") {
		t.Errorf("%s: RawSeverity %q, want %q", source, a.RawSeverity, raw)
	}
	return a.Severity
}

func orNull(raw string) string {
	if raw == "" {
		return "null"
	}
	if _, ok := parseNumber(raw); ok {
		return raw
	}
	return fmt.Sprintf("%q", raw)
}

// TestSeverityOverrides checks that severity_map wins over the built-in
// tables, exact keys over ranges, and a mapping's own entry over the
// generic one.
func TestSeverityOverrides(t *testing.T) {
	cfg := testConfig()
	cfg.SeverityMap["wazuh"] = map[string]string{"10": "critical", "..3": "info"}
	cfg.SeverityMap["suricata"] = map[string]string{"1": "critical", "3": "INFO"}
	cfg.SeverityMap["alertmanager"] = map[string]string{"Warning": "low", "page": "critical"}
	cfg.SeverityMap["generic"] = map[string]string{"high": "critical", "medium": "low"}
	cfg.SeverityMap["generic/sentinel"] = map[string]string{"medium": "high"}
	ps, err := Parsers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ source, raw, want string }{
		{"wazuh", "10", "critical"}, {"wazuh", "9", "high"}, {"wazuh", "2", "info"}, {"wazuh", "3", "low"},
		{"suricata", "1", "critical"}, {"suricata", "2", "medium"}, {"suricata", "3", "info"},
		{"alertmanager", "warning", "low"}, {"alertmanager", "page", "critical"}, {"alertmanager", "critical", "critical"},
		{"generic/sentinel", "High", "critical"}, {"generic/sentinel", "Medium", "high"}, {"generic/sentinel", "Low", "low"},
		{"generic/guardduty", "8", "high"}, {"elastic", "high", "high"},
	}
	for _, tc := range tests {
		if got := severityOf(t, ps, tc.source, tc.raw); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.source, tc.raw, got, tc.want)
		}
	}
}

// TestConfigErrors checks that every configuration problem is reported,
// all at once.
func TestConfigErrors(t *testing.T) {
	cfg := Config{
		SeverityMap: map[string]map[string]string{
			"wazuh":       {"12": "sev1", "1..": "low", "5..9": "high", "9..5": "low", "a..b": "low", "..": "low"},
			"nagios":      {"x": "low"},
			"edr":         {"1": "low"},
			"generic/x":   {"1": "low"},
			"generic/edr": {"1": "low"},
		},
		Generic: map[string]GenericMapping{
			"edr":      {Title: "a..b", Observables: map[string]string{"ip": "", "": "x"}},
			"x":        {Title: "t", Severity: "s[", Description: `["unterminated`},
			"bad name": {Title: "t"},
		},
		GroupBy: []string{"host", "", "host"},
	}
	_, err := Parsers(cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`alerts: severity_map.wazuh["12"]: unknown severity "sev1" (want critical, high, medium, low or info)`,
		`alerts: severity_map.wazuh: ranges 1.. and 5..9 overlap`,
		`alerts: severity_map.wazuh["9..5"]: invalid range`,
		`alerts: severity_map.wazuh["a..b"]: invalid range`,
		`alerts: severity_map.wazuh[".."]: invalid range`,
		`alerts: severity_map.nagios: unknown alert source`,
		`alerts: severity_map: "edr" and "generic/edr" name the same mapping; keep one`,
		`alerts: generic/edr: title: invalid path "a..b": empty key at byte 2`,
		`alerts: generic/edr: observables.ip: a path is required`,
		`alerts: generic/edr: observables: empty kind`,
		`alerts: generic/x: severity: invalid path "s[": unterminated [ at byte 1`,
		`alerts: generic/x: description: invalid path "[\"unterminated": unterminated ["…"] at byte 0`,
		`alerts: generic mapping "bad name": names may contain only letters, digits, _ and -`,
		`alerts: group_by[1]: empty label name`,
		`alerts: group_by[2]: "host" is listed twice`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
	// Missing title and severity_map naming neither source nor mapping.
	_, err = Parsers(Config{Generic: map[string]GenericMapping{"x": {}}})
	if err == nil || !strings.Contains(err.Error(), "alerts: generic/x: title: a path is required") {
		t.Errorf("missing title: %v", err)
	}
	// The zero Config is valid: the built-in sources need nothing.
	ps, err := Parsers(Config{})
	if err != nil || len(ps) != 6 {
		t.Errorf("zero config: %d parsers, %v", len(ps), err)
	}
}

// TestDefaultSeverityIsACopy makes sure callers cannot change the
// built-in table through the returned map.
func TestDefaultSeverityIsACopy(t *testing.T) {
	d := DefaultSeverity()
	d["wazuh"].Map["12.."] = "low"
	if DefaultSeverity()["wazuh"].Map["12.."] != "critical" {
		t.Error("DefaultSeverity shares its maps")
	}
	for source, table := range d {
		if _, errs := compileSeverity(source, table.Map); source != "wazuh" && len(errs) > 0 {
			t.Errorf("%s: %v", source, errs)
		}
	}
}

// TestGroupKey checks the key's shape and the fallbacks.
func TestGroupKey(t *testing.T) {
	a := bot.Alert{Source: "wazuh", Title: "sshd: brute force", Severity: "high",
		Labels:      map[string]string{"alertname": "sshd: brute force", "host": "WEB-01", "rule": "5712"},
		Observables: []bot.Observable{{Type: "user", Value: "admin"}}}
	tests := []struct {
		by   []string
		want string
	}{
		{[]string{"alertname", "host"}, `alertname="sshd: brute force",host="web-01"`},
		{[]string{"host", "alertname"}, `host="web-01",alertname="sshd: brute force"`},
		{[]string{"src_ip"}, ``},
		{nil, ``},
		{[]string{"src_ip", "rule"}, `rule="5712"`},
		{[]string{"user", "source", "severity"}, `user="admin",source="wazuh",severity="high"`},
	}
	for _, tc := range tests {
		if got := GroupKey(a, tc.by); got != tc.want {
			t.Errorf("GroupKey(%v) = %s, want %s", tc.by, got, tc.want)
		}
	}
	// Quoting keeps a value from forging a second label.
	forged := bot.Alert{Labels: map[string]string{"alertname": `x",host="web-01`}}
	if GroupKey(forged, []string{"alertname", "host"}) == GroupKey(a, []string{"alertname", "host"}) {
		t.Error("a value forged another alert's group key")
	}
	// Without labels, alertname falls back to the title, host to a
	// hostname observable.
	bare := bot.Alert{Title: "T", Observables: []bot.Observable{{Type: "hostname", Value: "db-07"}}}
	if got := GroupKey(bare, []string{"alertname", "host"}); got != `alertname="T",host="db-07"` {
		t.Errorf("fallbacks: %s", got)
	}
}

// TestGroupKeyAcrossSources checks that the well-known labels let one
// group_by list fold alerts about one host from different sources.
func TestGroupKeyAcrossSources(t *testing.T) {
	ps := testParsers(t)
	by := []string{"host"}
	w := parseOne(t, ps, "wazuh", wazuhBody("1", "2024-03-12T09:21:44.402+0000", "203.0.113.50", "5712", "WEB-01"))
	e := parseOne(t, ps, "elastic", elasticBody("u", "2024-03-12T09:00:00Z", "web-01", "Rule A"))
	m := parseOne(t, ps, "alertmanager", amBody("", "2024-03-12T09:00:00Z", "web-01:9100", "x"))
	if k := GroupKey(w, by); k == "" || k != GroupKey(e, by) || k != GroupKey(m, by) {
		t.Errorf("group keys differ: %q %q %q", GroupKey(w, by), GroupKey(e, by), GroupKey(m, by))
	}
}

// TestLimits checks that oversized and hostile values are bounded and
// cleaned.
func TestLimits(t *testing.T) {
	ps := testParsers(t)
	long := strings.Repeat("é", 1000)
	labels := make([]string, 0, 200)
	for i := range 200 {
		labels = append(labels, fmt.Sprintf(`"l%03d":"v"`, i))
	}
	body := fmt.Sprintf(`{"alerts":[{"labels":{"alertname":"A","host":"h",%s,"big":%s,"":"empty name","bad\u0001name":"x"},
		"annotations":{"summary":"  line one\n\tline\u202etwo  %s","description":%s},
		"generatorURL":"javascript:alert(1)","fingerprint":"has spaces and/or {braces}"}]}`,
		strings.Join(labels, ","), jsonString(long+long), long, jsonString(strings.Repeat("d", 10000)+"\r\n\x00end"))
	a := parseOne(t, ps, "alertmanager", body)
	if n := utf8.RuneCountInString(a.Title); n != MaxTitleRunes || !strings.HasSuffix(a.Title, "…") {
		t.Errorf("title has %d runes: %.40q…", n, a.Title)
	}
	if !strings.HasPrefix(a.Title, "line one line two éé") {
		t.Errorf("title not cleaned: %.40q", a.Title)
	}
	if n := utf8.RuneCountInString(a.Description); n != MaxDescriptionRunes || strings.ContainsAny(a.Description, "\r\x00") {
		t.Errorf("description: %d runes", n)
	}
	if len(a.Labels) != MaxLabels || a.Labels["alertname"] != "A" || a.Labels["host"] != "h" {
		t.Errorf("labels: %d, alertname %q, host %q", len(a.Labels), a.Labels["alertname"], a.Labels["host"])
	}
	for k, v := range a.Labels {
		if k == "" || strings.ContainsRune(k, 1) || utf8.RuneCountInString(v) > MaxLabelValueRunes {
			t.Errorf("label %q=%.20q kept", k, v)
		}
	}
	if a.URL != "" {
		t.Errorf("URL %q kept", a.URL)
	}
	if !strings.HasPrefix(a.Fingerprint, "alertmanager:") || len(a.Fingerprint) != len("alertmanager:")+32 {
		t.Errorf("odd fingerprint not hashed: %q", a.Fingerprint)
	}

	// Raw over the cap is dropped; pretty-printed Raw that compacts to
	// fit is kept, compacted.
	big := fmt.Sprintf(`{"rule":{"description":"A"},"full_log":%s}`, jsonString(strings.Repeat("x", MaxRawBytes)))
	if a := parseOne(t, ps, "wazuh", big); a.Raw != nil {
		t.Errorf("Raw of %d bytes kept", len(a.Raw))
	}
	pretty := `{"rule": {"description": "A"},` + strings.Repeat("\n ", MaxRawBytes/2) + `"x": 1}`
	if a := parseOne(t, ps, "wazuh", pretty); string(a.Raw) != `{"rule":{"description":"A"},"x":1}` {
		t.Errorf("pretty Raw: %.60q", a.Raw)
	}

	// Many observables are capped.
	var ips []string
	for i := range 300 {
		ips = append(ips, fmt.Sprintf(`"198.51.100.%d"`, i%250+1), fmt.Sprintf(`"203.0.113.%d"`, i%250+1))
	}
	many := fmt.Sprintf(`{"kibana.alert.rule.name":"A","related.ip":[%s]}`, strings.Join(ips, ","))
	if a := parseOne(t, ps, "elastic", many); len(a.Observables) != MaxObservables {
		t.Errorf("%d observables", len(a.Observables))
	}
}

// TestRawIsACopy checks that alerts do not alias the request body, which
// the HTTP layer may reuse once Parse returns.
func TestRawIsACopy(t *testing.T) {
	ps := testParsers(t)
	for _, file := range []string{"alertmanager/firing.json", "splunk/notable.json", "elastic/nested_no_uuid.json",
		"wazuh/alerts.jsonl", "suricata/alert.json", "generic/guardduty/ssh_bruteforce.json"} {
		source := file[:strings.LastIndexByte(file, '/')]
		body := readFixture(t, file)
		b, err := ps[source].Parse(body)
		if err != nil || len(b.Alerts) == 0 {
			t.Fatalf("%s: %v", file, err)
		}
		before := bytes.Clone(b.Alerts[0].Raw)
		for i := range body {
			body[i] = 'X'
		}
		if !bytes.Equal(before, b.Alerts[0].Raw) {
			t.Errorf("%s: Raw aliases the body", file)
		}
	}
}

// TestConcurrentParse runs every parser from many goroutines at once; with
// -race it proves parsers share no mutable state.
func TestConcurrentParse(t *testing.T) {
	ps := testParsers(t)
	bodies := map[string][]byte{}
	for _, tc := range fixtureTable {
		bodies[tc.file] = readFixture(t, tc.file)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, tc := range fixtureTable {
				source := tc.file[:strings.LastIndexByte(tc.file, '/')]
				if _, err := ps[source].Parse(bodies[tc.file]); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := readTestdata(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPromFastPath checks that bodies the fast decoder reads, and bodies it
// hands to encoding/json, parse exactly as the encoding/json path does.
func TestPromFastPath(t *testing.T) {
	bodies := []string{
		`{"alerts":[{"labels":{"alertname":"A"}}]}`,
		`{"status":"resolved","alerts":[{"labels":{"alertname":"A"}}]}`,
		` { "orgId" : 7 , "alerts" : [ null , { "labels" : null , "annotations" : { "summary" : null } } ] } `,
		`{"alerts":[{"labels":{"alertname":"caf\u00e9 \"quoted\" \ud83d\ude00 \ud800"},"fingerprint":"ab"}]}`,
		"{\"alerts\":[{\"labels\":{\"alertname\":\"bad \xff utf-8\"}}]}",
		`{"alerts":[{"Labels":{"alertname":"case-folded field"}}]}`,
		`{"alerts":[{"labels":{"alertname":"A"},"labels":{"job":"merged by encoding/json"}}]}`,
		`{"alerts":[{"\u006cabels":{"alertname":"escaped field name"}}]}`,
		`{"alerts":[{"ſtatus":"firing","labels":{"alertname":"unicode fold"}}]}`,
		`{"alerts":[{"labels":{"alertname":"A"},"extra":{"deep":[1,{"x":"]}"}]}}]}`,
		`{"orgId":1.5,"alerts":[{"labels":{"alertname":"A"}}]}`,
		`{"orgId":"1","alerts":[]}`,
		`{"alerts":[{"labels":{"alertname":"A","n":1}}]}`,
		`{"alerts":[{"status":true,"labels":{"alertname":"A"}}]}`,
		`{"alerts":[1,{"labels":{"alertname":"B"}}]}`,
		`{"alerts":null}`,
		`{"alerts":[],"alerts":[{"labels":{"alertname":"last wins"}}]}`,
	}
	for _, source := range []string{"alertmanager", "grafana"} {
		m, _ := buildSeverities(Config{})
		for _, body := range bodies {
			fast, ferr := parseProm(source, []byte(body), m[source], source == "grafana")
			slow, serr := parsePromSlow(source, []byte(body), m[source], source == "grafana")
			if fmt.Sprint(ferr) != fmt.Sprint(serr) || fmt.Sprintf("%+v", fast) != fmt.Sprintf("%+v", slow) {
				t.Errorf("%s %s:\nfast %+v %v\nslow %+v %v", source, body, fast, ferr, slow, serr)
			}
		}
	}
}

// TestBrokenDocumentIsNotJSONLines checks that a truncated or broken
// multi-line document is refused as a whole, not read as JSON lines that
// happen to contain a complete object.
func TestBrokenDocumentIsNotJSONLines(t *testing.T) {
	ps := testParsers(t)
	for _, body := range []string{
		"[\n  {\"rule\": {\"description\": \"A\"}},\n  {\"rule\": {\"description\": \"B\"}}\n",
		"{\n  \"rule\": {\"description\": \"A\"}\n",
		"garbage\n{\"rule\": {\"description\": \"A\"}}\n",
	} {
		b, err := ps["wazuh"].Parse([]byte(body))
		var be *BodyError
		if !errors.As(err, &be) || !strings.HasPrefix(be.Msg, "body is not JSON: ") {
			t.Errorf("%q: got %+v, %v; want a BodyError", body, b, err)
		}
	}
}
