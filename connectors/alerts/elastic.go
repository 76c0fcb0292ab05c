package alerts

import (
	"strings"

	"github.com/warroom-bot/warroom/bot"
)

// elasticParser reads alert documents that a Kibana webhook connector sends:
// one document, an array of them, {"alerts": [...]}, or JSON lines. A
// document may use flattened keys ("kibana.alert.rule.name"), nested
// objects, or a mix, and may be a search hit wrapped in _source.
type elasticParser struct{ sev severityMapper }

// Parse implements Parser.
func (p elasticParser) Parse(body []byte) (Batch, error) {
	els, err := splitBody(SourceElastic, body, "alerts")
	if err != nil {
		return Batch{}, err
	}
	b := Batch{Alerts: make([]bot.Alert, 0, len(els))}
	for i, el := range els {
		obj, reason := decodeObject(el)
		if reason != "" {
			b.reject(i, reason)
			continue
		}
		if src, ok := obj["_source"].(map[string]any); ok {
			obj = src
		}
		d := p.draft(flatten(obj))
		d.Raw = el.raw
		b.collect(i, &d)
	}
	return b, nil
}

func (p elasticParser) draft(f flat) draft {
	d := draft{titleFrom: "no kibana.alert.rule.name"}
	d.Source = SourceElastic
	d.Title = f.get("kibana.alert.rule.name", "signal.rule.name", "rule.name")
	d.Description = f.get("kibana.alert.reason", "signal.reason", "message")
	d.RawSeverity = f.get("kibana.alert.severity", "signal.rule.severity")
	d.Severity = p.sev.normalize(d.RawSeverity)
	d.Status = elasticStatus(f.get("kibana.alert.status"))
	d.StartsAt = parseTime(f.get("kibana.alert.start", "@timestamp"))
	if d.Status == statusResolved {
		d.EndsAt = parseTime(f.get("kibana.alert.end"))
	}
	d.URL = f.get("kibana.alert.url")

	host := strings.ToLower(f.get("host.name", "host.hostname"))
	d.Labels = map[string]string{}
	setLabel(d.Labels, "alertname", d.Title)
	setLabel(d.Labels, "rule", f.get("kibana.alert.rule.rule_id", "kibana.alert.rule.uuid", "signal.rule.rule_id", "rule.id"))
	setLabel(d.Labels, "rule_uuid", f.get("kibana.alert.rule.uuid"))
	setLabel(d.Labels, "host", host)
	setLabel(d.Labels, "user", f.get("user.name"))
	setLabel(d.Labels, "src_ip", f.get("source.ip"))
	setLabel(d.Labels, "dest_ip", f.get("destination.ip"))
	setLabel(d.Labels, "category", f.get("kibana.alert.rule.category"))
	setLabel(d.Labels, "rule_type", f.get("kibana.alert.rule.rule_type_id"))
	setLabel(d.Labels, "workflow_status", f.get("kibana.alert.workflow_status"))
	setLabel(d.Labels, "space", f.join("kibana.space_ids"))
	setLabel(d.Labels, "tags", f.join("kibana.alert.rule.tags"))

	// Kibana's own fields hold links, rule parameters and a copy of the
	// source event; only the ECS fields describe what happened.
	d.fields = f.layers(func(k string) bool {
		return !strings.HasPrefix(k, "kibana.") && !strings.HasPrefix(k, "signal.") && k != "event.url" && !tlsFingerprint(k)
	}, nil)

	if id := f.get("kibana.alert.uuid"); id != "" {
		d.Fingerprint = ownFingerprint(SourceElastic, id)
	} else {
		d.Fingerprint = hashFingerprint(SourceElastic,
			firstOf(f.get("kibana.alert.rule.uuid"), d.Title), f.get("kibana.alert.instance.id"),
			host, f.get("user.name"), f.get("source.ip"), f.get("destination.ip"))
	}
	return d
}

// elasticStatus maps kibana.alert.status. "untracked" means Kibana stopped
// following the alert (the rule was disabled), which is closest to resolved:
// no more updates will come.
func elasticStatus(s string) string {
	switch strings.ToLower(s) {
	case "", "active", statusFiring:
		return statusFiring
	case "recovered", "untracked", statusResolved:
		return statusResolved
	}
	return s
}
