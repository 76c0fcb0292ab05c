package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/warroom-bot/warroom/bot"
)

// alertmanagerParser reads the Prometheus Alertmanager webhook payload,
// version 4: one group of alerts per request.
type alertmanagerParser struct{ sev severityMapper }

// promWebhook is the envelope shared by Alertmanager and Grafana. The
// alerts stay raw so that one malformed alert rejects only itself and each
// keeps its own JSON.
type promWebhook struct {
	Status string             `json:"status"`
	OrgID  int64              `json:"orgId"` // Grafana only
	Alerts *[]json.RawMessage `json:"alerts"`
}

// promAlert is one alert of either webhook; the last four fields are
// Grafana's.
type promAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	DashboardURL string            `json:"dashboardURL"`
	PanelURL     string            `json:"panelURL"`
	ValueString  string            `json:"valueString"`
}

// Parse implements Parser.
func (p alertmanagerParser) Parse(body []byte) (Batch, error) {
	return parseProm(SourceAlertmanager, body, p.sev, false)
}

// parseProm parses the shared webhook shape. Grafana differs only in the
// organisation in its fingerprints and a few fallbacks.
func parseProm(source string, body []byte, sev severityMapper, grafana bool) (Batch, error) {
	if json.Valid(body) {
		if fast, ok := decodePromFast(body); ok {
			env := promWebhook{Status: fast.status, OrgID: fast.orgID}
			b := Batch{Alerts: make([]bot.Alert, 0, len(fast.alerts))}
			for i, pa := range fast.alerts {
				b.promAlert(i, source, pa, bytes.Clone(fast.raws[i]), env, sev, grafana)
			}
			return b, nil
		}
	}
	return parsePromSlow(source, body, sev, grafana)
}

// parsePromSlow decodes with encoding/json, alert by alert from raw
// entries, so that a malformed alert rejects only itself and a malformed
// body gets a precise message.
func parsePromSlow(source string, body []byte, sev severityMapper, grafana bool) (Batch, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Batch{}, &BodyError{Source: source, Msg: "body is empty"}
	}
	var w promWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return Batch{}, bodyError(source, err)
	}
	if w.Alerts == nil {
		return Batch{}, &BodyError{Source: source, Msg: "body has the wrong shape: no alerts array"}
	}
	if len(*w.Alerts) > MaxAlerts {
		return Batch{}, tooMany(source)
	}
	b := Batch{Alerts: make([]bot.Alert, 0, len(*w.Alerts))}
	for i, raw := range *w.Alerts {
		var pa promAlert
		if err := json.Unmarshal(raw, &pa); err != nil {
			b.reject(i, "alert is not in the "+source+" shape: "+elementProblem(err))
			continue
		}
		b.promAlert(i, source, pa, raw, w, sev, grafana)
	}
	return b, nil
}

// promAlert maps one alert and files it.
func (b *Batch) promAlert(i int, source string, pa promAlert, raw []byte, w promWebhook, sev severityMapper, grafana bool) {
	d := promDraft(source, pa, w.Status, sev)
	d.Raw = raw
	if grafana {
		grafanaDetails(&d, pa, w.OrgID)
	}
	b.collect(i, &d)
}

// promDraft maps one alert. The labels become the alert's labels as they
// are, plus host derived from host, hostname, nodename or instance.
func promDraft(source string, pa promAlert, groupStatus string, sev severityMapper) draft {
	labels := pa.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	var fingerprint string
	switch {
	case pa.Fingerprint != "":
		fingerprint = ownFingerprint(source, pa.Fingerprint)
	case len(labels) > 0:
		// Alertmanager's own fingerprint is a hash of the label set;
		// do the same for payloads that leave it out.
		fingerprint = hashFingerprint(source, sortedPairs(labels)...)
	default:
		fingerprint = hashFingerprint(source, pa.Annotations["summary"])
	}
	if _, ok := labels["host"]; !ok {
		if h := firstOf(labels["hostname"], labels["nodename"], hostOf(labels["instance"])); h != "" {
			labels["host"] = strings.ToLower(h)
		}
	}
	status := pa.Status
	if status == "" {
		// Alertmanager always sets it; a hand-made payload may only set
		// the group's.
		status = firstOf(groupStatus, statusFiring)
	}
	d := draft{titleFrom: "no annotations.summary or labels.alertname"}
	d.Source = source
	d.Status = status
	d.Title = firstOf(pa.Annotations["summary"], labels["alertname"])
	d.Description = firstOf(pa.Annotations["description"], pa.Annotations["message"])
	d.RawSeverity = labels["severity"]
	d.Severity = sev.normalize(d.RawSeverity)
	d.StartsAt = parseTime(pa.StartsAt)
	if status == statusResolved {
		// For a firing alert endsAt is only Alertmanager's guess of
		// when it will time out, not an end.
		d.EndsAt = parseTime(pa.EndsAt)
	}
	d.URL = pa.GeneratorURL
	d.Labels = labels
	d.fields = []map[string]string{labels}
	d.Fingerprint = fingerprint
	return d
}

// elementProblem words a decoding error for one alert.
func elementProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if (te.Field == "labels" || te.Field == "annotations") && te.Type != nil && te.Type.Kind() == reflect.String {
			// The decoder names the map, not the key.
			return "a value in " + typeProblem(te, "alert")
		}
		return typeProblem(te, "alert")
	}
	return syntaxProblem(err)
}
