package alerts

import (
	"strings"

	"github.com/warroom-bot/warroom/bot"
)

// wazuhParser reads Wazuh alerts as the manager writes them to alerts.json
// and hands them to integrations: one object, an array, or JSON lines. A
// document from the Wazuh indexer (wrapped in _source) is read too.
type wazuhParser struct{ sev severityMapper }

// wazuhRename maps Wazuh's own field names onto the names ioc.FromFields
// knows. data.srcip, data.dstip, agent.ip and the Windows event data
// fields already match.
var wazuhRename = map[string]string{
	"data.srcuser":          "src_user",
	"data.dstuser":          "dest_user",
	"syscheck.md5_after":    "md5",
	"syscheck.sha1_after":   "sha1",
	"syscheck.sha256_after": "sha256",
}

// Parse implements Parser.
func (p wazuhParser) Parse(body []byte) (Batch, error) {
	els, err := splitBody(SourceWazuh, body, "")
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

func (p wazuhParser) draft(f flat) draft {
	d := draft{titleFrom: "no rule.description"}
	d.Source = SourceWazuh
	d.Status = statusFiring // Wazuh has no notion of an alert ending
	d.Title = f.get("rule.description")
	d.Description = f.get("full_log", "data.win.system.message")
	d.RawSeverity = f.get("rule.level")
	d.Severity = p.sev.normalize(d.RawSeverity)
	d.StartsAt = parseTime(f.get("timestamp", "@timestamp"))

	agent := f.get("agent.name")
	d.Labels = map[string]string{}
	setLabel(d.Labels, "alertname", d.Title)
	setLabel(d.Labels, "rule", f.get("rule.id"))
	setLabel(d.Labels, "level", f.get("rule.level"))
	setLabel(d.Labels, "groups", f.join("rule.groups"))
	setLabel(d.Labels, "mitre", f.join("rule.mitre.id"))
	setLabel(d.Labels, "host", strings.ToLower(agent))
	setLabel(d.Labels, "agent", agent)
	setLabel(d.Labels, "agent_id", f.get("agent.id"))
	setLabel(d.Labels, "manager", f.get("manager.name"))
	setLabel(d.Labels, "decoder", f.get("decoder.name"))
	setLabel(d.Labels, "location", f.get("location"))
	setLabel(d.Labels, "src_ip", f.get("data.srcip"))
	setLabel(d.Labels, "dest_ip", f.get("data.dstip"))
	setLabel(d.Labels, "user", f.get("data.srcuser", "data.dstuser", "data.win.eventdata.targetUserName"))

	// The rule's own fields describe the rule, not the event, and
	// previous_output repeats earlier events.
	d.fields = f.layers(func(k string) bool {
		return !strings.HasPrefix(k, "rule.") && !strings.HasPrefix(k, "manager.") &&
			!strings.HasPrefix(k, "cluster.") && k != "previous_output" && k != "full_log" && !tlsFingerprint(k)
	}, wazuhRename)

	// The alert id names one event; the same rule firing again on the
	// same agent is a repeat.
	d.Fingerprint = hashFingerprint(SourceWazuh, firstOf(f.get("rule.id"), d.Title), agent)
	return d
}
