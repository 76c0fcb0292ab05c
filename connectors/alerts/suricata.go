package alerts

import (
	"fmt"
	"strings"

	"github.com/warroom-bot/warroom/bot"
)

// suricataParser reads Suricata EVE JSON: one event, an array, or JSON lines
// as eve.json is written. Only events with event_type "alert" become
// alerts; the rest (flow, dns, http, stats…) are skipped without a
// rejection, so that a slice of eve.json can be posted as it is.
type suricataParser struct{ sev severityMapper }

// Parse implements Parser.
func (p suricataParser) Parse(body []byte) (Batch, error) {
	els, err := splitBody(SourceSuricata, body, "")
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
		if et, _ := obj["event_type"].(string); et != "alert" {
			continue
		}
		d := p.draft(flatten(obj))
		d.Raw = el.raw
		b.collect(i, &d)
	}
	return b, nil
}

func (p suricataParser) draft(f flat) draft {
	d := draft{titleFrom: "no alert.signature"}
	d.Source = SourceSuricata
	d.Status = statusFiring
	d.Title = f.get("alert.signature")
	d.RawSeverity = f.get("alert.severity")
	d.Severity = p.sev.normalize(d.RawSeverity)
	d.StartsAt = parseTime(f.get("timestamp"))

	src, dst := f.get("src_ip"), f.get("dest_ip")
	sid, gid := f.get("alert.signature_id"), firstOf(f.get("alert.gid"), "1")
	d.Description = suricataSummary(f)
	d.Labels = map[string]string{}
	setLabel(d.Labels, "alertname", d.Title)
	setLabel(d.Labels, "rule", sid)
	setLabel(d.Labels, "gid", gid)
	setLabel(d.Labels, "rev", f.get("alert.rev"))
	setLabel(d.Labels, "category", f.get("alert.category"))
	setLabel(d.Labels, "action", f.get("alert.action"))
	setLabel(d.Labels, "host", strings.ToLower(f.get("host")))
	setLabel(d.Labels, "src_ip", src)
	setLabel(d.Labels, "dest_ip", dst)
	setLabel(d.Labels, "dest_port", f.get("dest_port"))
	setLabel(d.Labels, "proto", f.get("proto"))
	setLabel(d.Labels, "app_proto", f.get("app_proto"))
	setLabel(d.Labels, "in_iface", f.get("in_iface"))

	// EVE's http.url is only the path; the full URL is an indicator.
	if host, path := f.get("http.hostname"), f.get("http.url"); host != "" && strings.HasPrefix(path, "/") {
		f["url.full"] = []string{"http://" + host + path}
	}
	// host is the sensor's name, not a party to the traffic, and the
	// payload is attacker-controlled bytes rather than fields.
	d.fields = f.layers(func(k string) bool {
		return k != "host" && k != "payload" && k != "payload_printable" && k != "packet" &&
			!strings.HasPrefix(k, "alert.") && !tlsFingerprint(k)
	}, nil)

	// flow_id names one connection; the same signature between the same
	// two addresses again is a repeat.
	d.Fingerprint = hashFingerprint(SourceSuricata, gid, firstOf(sid, d.Title), src, dst)
	return d
}

// suricataSummary describes the flow in one line for the chat message,
// since EVE has no description of its own.
func suricataSummary(f flat) string {
	var b strings.Builder
	b.WriteString(f.get("alert.category"))
	flow := fmt.Sprintf("%s %s → %s", f.get("proto"), hostPort(f.get("src_ip"), f.get("src_port")), hostPort(f.get("dest_ip"), f.get("dest_port")))
	if strings.TrimSpace(flow) != "→" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(strings.TrimSpace(flow))
	}
	for _, k := range []string{"http.hostname", "tls.sni", "dns.query.rrname", "dns.rrname", "dns.queries.rrname"} {
		if v := f.get(k); v != "" {
			fmt.Fprintf(&b, " (%s %s)", k[:strings.IndexByte(k, '.')], v)
			break
		}
	}
	return b.String()
}

func hostPort(ip, port string) string {
	if port == "" {
		return ip
	}
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}
