package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/warroom-bot/warroom/bot"
)

// FuzzParse feeds every parser arbitrary bodies; the first byte picks the
// source. Besides not panicking, every result must keep the promises the
// rest of warroom relies on: a *BodyError or a batch, never both; every
// alert with a prefixed fingerprint, a clean bounded title, a normalised
// severity and status, bounded labels, observables and Raw.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 30s ./connectors/alerts
func FuzzParse(f *testing.F) {
	ps := testParsers(f)
	sources := sortedKeys(ps)
	_ = filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".jsonl")) {
			return nil
		}
		rel, _ := filepath.Rel("testdata", filepath.Dir(p))
		i := slices.Index(sources, filepath.ToSlash(rel))
		body, _ := os.ReadFile(p)
		if i >= 0 {
			f.Add(append([]byte{byte(i)}, body...))
		}
		return nil
	})
	for i := range sources {
		for _, s := range []string{``, `{}`, `[]`, `[{}]`, `{"alerts":[{}]}`, `{"alerts":[null,1,"x",{"labels":{"alertname":"\u202e"}}]}`,
			"{\"event_type\":\"alert\",\"alert\":{\"signature\":\"s\"}}\n{", `{"result":{"src":["a",{"b":1}]}}`,
			`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`} {
			f.Add(append([]byte{byte(i)}, s...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		source := sources[int(data[0])%len(sources)]
		checkPromFast(t, data[1:])
		b, err := ps[source].Parse(data[1:])
		b.Observe()
		if source == SourceAlertmanager || source == SourceGrafana {
			sev, _ := buildSeverities(testConfig())
			slow, serr := parsePromSlow(source, data[1:], sev[source], source == SourceGrafana)
			slow.Observe()
			if fmt.Sprint(err) != fmt.Sprint(serr) || fmt.Sprintf("%+v", b) != fmt.Sprintf("%+v", slow) {
				t.Fatalf("fast and slow paths differ:\nfast %+v %v\nslow %+v %v", b, err, slow, serr)
			}
		}
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) || be.Source != source || be.Msg == "" {
				t.Fatalf("error %v (%T) is not a *BodyError of %s", err, err, source)
			}
			if len(b.Alerts)+len(b.Rejected) != 0 {
				t.Fatalf("error and a batch: %v, %+v", err, b)
			}
			return
		}
		for _, a := range b.Alerts {
			checkInvariants(t, source, a)
			_ = GroupKey(a, []string{"alertname", "host", "user", "src_ip", "rule", "source"})
		}
		last := -1
		for _, r := range b.Rejected {
			if r.Index <= last || r.Reason == "" {
				t.Fatalf("rejections out of order or unexplained: %+v", b.Rejected)
			}
			last = r.Index
		}
		if len(b.Alerts)+len(b.Rejected) > MaxAlerts {
			t.Fatalf("%d results", len(b.Alerts)+len(b.Rejected))
		}
	})
}

func checkInvariants(t *testing.T, source string, a bot.Alert) {
	t.Helper()
	if a.Source != source || !strings.HasPrefix(a.Fingerprint, source+":") || len(a.Fingerprint) <= len(source)+1 ||
		len(a.Fingerprint) > len(source)+1+MaxFingerprintBytes {
		t.Fatalf("source %q fingerprint %q", a.Source, a.Fingerprint)
	}
	if a.Title == "" || utf8.RuneCountInString(a.Title) > MaxTitleRunes || !utf8.ValidString(a.Title) ||
		strings.ContainsFunc(a.Title, func(r rune) bool { return unicode.IsControl(r) || bidiControl(r) }) ||
		strings.TrimSpace(a.Title) != a.Title {
		t.Fatalf("title %q", a.Title)
	}
	if !slices.Contains(bot.Severities, a.Severity) {
		t.Fatalf("severity %q", a.Severity)
	}
	if a.Status != "firing" && a.Status != "resolved" {
		t.Fatalf("status %q", a.Status)
	}
	if utf8.RuneCountInString(a.Description) > MaxDescriptionRunes || !utf8.ValidString(a.Description) {
		t.Fatalf("description of %d runes", utf8.RuneCountInString(a.Description))
	}
	if len(a.Labels) > MaxLabels {
		t.Fatalf("%d labels", len(a.Labels))
	}
	for k, v := range a.Labels {
		if k == "" || v == "" || len(k) > MaxLabelNameBytes || utf8.RuneCountInString(v) > MaxLabelValueRunes || !utf8.ValidString(v) {
			t.Fatalf("label %q=%q", k, v)
		}
	}
	if len(a.Observables) > MaxObservables {
		t.Fatalf("%d observables", len(a.Observables))
	}
	seen := map[bot.Observable]bool{}
	for _, o := range a.Observables {
		if o.Type == "" || o.Value == "" || seen[o] {
			t.Fatalf("observable %+v empty or repeated", o)
		}
		seen[o] = true
	}
	if a.URL != "" && cleanURL(a.URL) != a.URL {
		t.Fatalf("url %q", a.URL)
	}
	if a.Raw != nil && (len(a.Raw) > MaxRawBytes || !json.Valid(a.Raw)) {
		t.Fatalf("raw of %d bytes, valid %v", len(a.Raw), json.Valid(a.Raw))
	}
}

// checkPromFast holds the Alertmanager/Grafana fast decoder to
// encoding/json: whenever it accepts a body, it must read the same envelope,
// alerts and raw alert JSON.
func checkPromFast(t *testing.T, body []byte) {
	if !json.Valid(body) {
		return
	}
	fast, ok := decodePromFast(body)
	if !ok {
		return
	}
	var w struct {
		Status string            `json:"status"`
		OrgID  int64             `json:"orgId"`
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatalf("fast decoder accepted what encoding/json refuses (%v): %q", err, body)
	}
	if fast.status != w.Status || fast.orgID != w.OrgID || len(fast.alerts) != len(w.Alerts) || w.Alerts == nil {
		t.Fatalf("envelope: fast %q %d %d alerts, encoding/json %q %d %d alerts", fast.status, fast.orgID, len(fast.alerts), w.Status, w.OrgID, len(w.Alerts))
	}
	for i, raw := range w.Alerts {
		var pa promAlert
		if err := json.Unmarshal(raw, &pa); err != nil {
			t.Fatalf("alert %d: fast decoder accepted what encoding/json refuses: %v", i, err)
		}
		if !reflect.DeepEqual(pa, fast.alerts[i]) || !bytes.Equal(raw, fast.raws[i]) {
			t.Fatalf("alert %d:\nfast %#v %q\njson %#v %q", i, fast.alerts[i], fast.raws[i], pa, raw)
		}
	}
}
