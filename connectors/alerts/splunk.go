package alerts

import (
	"bytes"
	"encoding/json"
	"strings"
)

// splunkParser reads the body of Splunk's webhook alert action: one alert
// per request, carrying the first result row of the search.
type splunkParser struct{ sev severityMapper }

type splunkWebhook struct {
	SID         string         `json:"sid"`
	SearchName  string         `json:"search_name"`
	App         string         `json:"app"`
	Owner       string         `json:"owner"`
	ResultsLink string         `json:"results_link"`
	Result      map[string]any `json:"result"` // strings, or arrays for multivalue fields
}

// splunkIdentity lists the result fields (Splunk CIM names) that say which
// thing an alert is about. The sid changes with every scheduled run, so the
// fingerprint hashes the search name with these instead: the same search
// firing again about the same source, destination and user folds into one
// incident. A result with none of them is identified by all its fields
// except Splunk's internal ones and the counters and times in
// splunkVolatile, which change from run to run.
var splunkIdentity = []string{
	"src", "src_ip", "src_host", "src_user", "dest", "dest_ip", "dest_host", "dest_user",
	"user", "host", "hostname", "signature", "signature_id", "rule_name",
	"file_hash", "file_name", "process", "process_name", "url", "domain", "query",
}

var splunkVolatile = map[string]bool{
	"count": true, "dc": true, "firstTime": true, "lastTime": true, "first_seen": true,
	"last_seen": true, "time": true, "timestamp": true, "earliest": true, "latest": true,
	"orig_time": true, "sid": true, "search_name": true, "severity": true, "urgency": true,
}

// splunkRename maps CIM's src and dest, which hold a host name or an
// address, onto names that ioc.FromFields reads as either.
var splunkRename = map[string]string{"src": "source.hostname", "dest": "destination.hostname"}

// Parse implements Parser.
func (p splunkParser) Parse(body []byte) (Batch, error) {
	var w splunkWebhook
	if err := decodeBody(SourceSplunk, body, &w); err != nil {
		return Batch{}, err
	}
	r := flatten(w.Result)
	d := draft{titleFrom: "no search_name"}
	d.Source = SourceSplunk
	d.Status = statusFiring
	d.Title = firstOf(w.SearchName, r.get("search_name", "rule_name", "signature"))
	d.Description = r.get("description", "message", "_raw")
	d.RawSeverity = r.get("severity", "urgency")
	d.Severity = p.sev.normalize(d.RawSeverity)
	d.StartsAt = parseTime(r.get("_time"))
	d.URL = w.ResultsLink
	d.Labels = map[string]string{}
	setLabel(d.Labels, "alertname", d.Title)
	setLabel(d.Labels, "rule", w.SearchName)
	setLabel(d.Labels, "app", w.App)
	setLabel(d.Labels, "owner", w.Owner)
	setLabel(d.Labels, "host", strings.ToLower(r.get("dest_host", "dest", "hostname", "host", "ComputerName")))
	setLabel(d.Labels, "user", r.get("user", "src_user", "dest_user"))
	setLabel(d.Labels, "src_ip", r.get("src_ip", "src"))
	setLabel(d.Labels, "dest_ip", r.get("dest_ip"))
	d.fields = r.layers(func(k string) bool { return !strings.HasPrefix(k, "_") }, splunkRename)
	d.Fingerprint = hashFingerprint(SourceSplunk, append([]string{w.App, d.Title}, splunkKey(r)...)...)
	d.Raw = bytes.TrimSpace(body)
	if len(d.Raw) <= MaxRawBytes {
		d.Raw = bytes.Clone(d.Raw)
	}
	var b Batch
	b.collect(0, &d)
	return b, nil
}

// splunkKey lists the identifying name, value pairs of a result row.
func splunkKey(r flat) []string {
	var out []string
	for _, k := range splunkIdentity {
		if vs := r[k]; len(vs) > 0 {
			out = append(out, k, strings.Join(vs, ","))
		}
	}
	if out != nil {
		return out
	}
	for _, k := range sortedKeys(r) {
		if strings.HasPrefix(k, "_") || strings.HasPrefix(k, "info_") || splunkVolatile[k] {
			continue
		}
		out = append(out, k, strings.Join(r[k], ","))
	}
	return out
}

// decodeBody decodes a whole body into v, keeping numbers in any-typed
// fields as written. Checking validity first gives syntax errors their byte
// offset, which the streaming decoder would report as a bare EOF.
func decodeBody(source string, body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &BodyError{Source: source, Msg: "body is empty"}
	}
	if !json.Valid(body) {
		return bodyError(source, json.Unmarshal(body, new(json.RawMessage)))
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return bodyError(source, err)
	}
	return nil
}
