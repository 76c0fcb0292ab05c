package alerts

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// pathDoc mixes nested objects, arrays and flattened dotted keys, as
// GuardDuty, Sentinel and Kibana documents do.
const pathDoc = `{
  "detail": {"service": {"resourceRole": "TARGET", "count": 20, "archived": false}},
  "Resources": [{"Id": "arn:aws:ec2:i-1"}, {"Id": "arn:aws:ec2:i-2"}],
  "Entities": [{"Address": "203.0.113.7", "Type": "ip"}, {"HostName": "ws-042"}, {"Address": "198.51.100.9"}],
  "kibana.alert.rule.name": "flattened rule",
  "kibana": {"alert": {"severity": "high"}},
  "host.name": "web-01",
  "weird": {"a.b": {"c": "dotted then nested"}, "]": "bracket key"},
  "tags": ["one", "two"],
  "nothing": null
}`

func TestPathResolve(t *testing.T) {
	d := json.NewDecoder(bytes.NewReader([]byte(pathDoc)))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want []string
	}{
		{"detail.service.resourceRole", []string{"TARGET"}},
		{"$.detail.service.count", []string{"20"}},
		{"$detail.service.archived", []string{"false"}},
		{"Resources[0].Id", []string{"arn:aws:ec2:i-1"}},
		{"Resources[-1].Id", []string{"arn:aws:ec2:i-2"}},
		{"Resources[2].Id", nil},
		{"Resources[*].Id", []string{"arn:aws:ec2:i-1", "arn:aws:ec2:i-2"}},
		{"Resources.Id", []string{"arn:aws:ec2:i-1", "arn:aws:ec2:i-2"}},
		{"Entities[*].Address", []string{"203.0.113.7", "198.51.100.9"}},
		{`Entities[*]["HostName"]`, []string{"ws-042"}},
		{`["kibana.alert.rule.name"]`, []string{"flattened rule"}},
		{"kibana.alert.rule.name", []string{"flattened rule"}},
		{"kibana.alert.severity", []string{"high"}},
		{"host.name", []string{"web-01"}},
		{`weird["a.b"].c`, []string{"dotted then nested"}},
		{"weird.a.b.c", []string{"dotted then nested"}},
		{`weird["]"]`, []string{"bracket key"}},
		{`["host.name"].x`, nil},
		{`["kibana"]["alert"]["severity"]`, []string{"high"}},
		{"tags", []string{"one", "two"}},
		{"tags[1]", []string{"two"}},
		{"detail", nil}, // an object is not a value
		{"nothing", nil},
		{"missing.path", nil},
		{"tags.x", nil},
		{"detail[0]", nil},
	}
	for _, tc := range tests {
		p, err := parsePath(tc.path)
		if err != nil {
			t.Errorf("parsePath(%q): %v", tc.path, err)
			continue
		}
		if got := p.strings(doc); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestPathErrors(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", "empty path"},
		{"$", "empty path"},
		{"a..b", "empty key at byte 2"},
		{".a", "empty key at byte 0"},
		{"a.", "path ends with a dot"},
		{"a[", "unterminated [ at byte 1"},
		{"a[x]", `bad index "x" at byte 1 (want a number, * or a "quoted key")`},
		{"a[1]b", "want . or [ after ] at byte 4"},
		{"a.[1]", "want a key after . at byte 2, not ["},
		{"a]", "unexpected ] at byte 1"},
		{`a["b]`, `unterminated ["…"] at byte 1`},
		{`a["b"`, `unterminated ["…"] at byte 1`},
		{`a["\q"]`, `bad quoted key at byte 1`},
		{"a[99999999999]", `bad index "99999999999" at byte 1`},
	}
	for _, tc := range tests {
		_, err := parsePath(tc.path)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("parsePath(%q) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// TestGenericFlattenedKibana maps a flattened Kibana document through a
// generic mapping, the case the quoting syntax exists for.
func TestGenericFlattenedKibana(t *testing.T) {
	ps, err := Parsers(Config{Generic: map[string]GenericMapping{"kibana": {
		Title:       `["kibana.alert.rule.name"]`,
		Severity:    "kibana.alert.severity",
		Fingerprint: `["kibana.alert.uuid"]`,
		Observables: map[string]string{"host": `["host.name"]`, "sha256": "file.hash.sha256"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	a := parseOne(t, ps, "generic/kibana", `{"kibana.alert.rule.name":"Malware","kibana.alert.severity":"critical",
		"kibana.alert.uuid":"u-77","host.name":"WS-9","file.hash.sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`)
	if a.Title != "Malware" || a.Severity != "critical" || a.Fingerprint != "generic/kibana:u-77" || a.Labels["host"] != "WS-9" {
		t.Errorf("got %+v", a)
	}
	if GroupKey(a, []string{"host"}) != `host="ws-9"` {
		t.Errorf("group key %q", GroupKey(a, []string{"host"}))
	}
	want := []string{"hostname:ws-9", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
	var got []string
	for _, o := range a.Observables {
		got = append(got, o.Type+":"+o.Value)
	}
	if !slices.Equal(got, want) {
		t.Errorf("observables %v, want %v", got, want)
	}
}
