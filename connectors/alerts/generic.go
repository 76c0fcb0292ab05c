package alerts

import (
	"errors"
	"fmt"
	"strings"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// genericParser reads any JSON object (or array, or JSON lines of objects)
// through a configured GenericMapping, so that a tool without a parser of
// its own can send alerts without code.
type genericParser struct {
	source                                    string
	title, severity, fingerprint, description path
	observables                               []genericObservable // sorted by kind
	sev                                       severityMapper
}

type genericObservable struct {
	kind string
	path path
}

// genericKindAlias maps kind words people write onto field names that
// ioc.FromFields knows.
var genericKindAlias = map[string]string{
	"ipv4": "ip", "ipv6": "ip", "ip_address": "ip", "address": "ip",
	"file_hash": "hash", "filehash": "hash", "mail": "email",
}

// genericLabel names the well-known label a kind also fills, so that
// group_by [host] works for generic sources as for the others.
var genericLabel = map[string]string{
	"host": "host", "hostname": "host",
	"user": "user", "username": "user",
	"ip": "src_ip", "src_ip": "src_ip", "source_ip": "src_ip", "srcip": "src_ip",
	"dest_ip": "dest_ip", "dst_ip": "dest_ip", "destination_ip": "dest_ip",
}

// genericTimeKeys are top-level fields that commonly hold the event time
// (ECS, EventBridge, Sentinel); the mapping has no time path.
var genericTimeKeys = []string{"@timestamp", "timestamp", "time", "TimeGenerated"}

// newGenericParser compiles a mapping, reporting every bad path at once.
func newGenericParser(source string, m GenericMapping, sev severityMapper) (genericParser, error) {
	p := genericParser{source: source, sev: sev}
	var errs []error
	compile := func(field, text string, dst *path) {
		if text == "" {
			return
		}
		c, err := parsePath(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("alerts: %s: %s: invalid path %q: %v", source, field, text, err))
			return
		}
		*dst = c
	}
	if strings.TrimSpace(m.Title) == "" {
		errs = append(errs, fmt.Errorf("alerts: %s: title: a path is required", source))
	}
	compile("title", m.Title, &p.title)
	compile("severity", m.Severity, &p.severity)
	compile("fingerprint", m.Fingerprint, &p.fingerprint)
	compile("description", m.Description, &p.description)
	for _, kind := range sortedKeys(m.Observables) {
		if strings.TrimSpace(kind) == "" {
			errs = append(errs, fmt.Errorf("alerts: %s: observables: empty kind", source))
			continue
		}
		if m.Observables[kind] == "" {
			errs = append(errs, fmt.Errorf("alerts: %s: observables.%s: a path is required", source, kind))
			continue
		}
		o := genericObservable{kind: kind}
		compile("observables."+kind, m.Observables[kind], &o.path)
		if o.path.steps != nil {
			p.observables = append(p.observables, o)
		}
	}
	return p, errors.Join(errs...)
}

// Parse implements Parser.
func (p genericParser) Parse(body []byte) (Batch, error) {
	els, err := splitBody(p.source, body, "")
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
		d := p.draft(obj)
		d.Raw = el.raw
		b.collect(i, &d)
	}
	return b, nil
}

func (p genericParser) draft(obj map[string]any) draft {
	d := draft{titleFrom: "nothing at the title path " + p.title.String()}
	d.Source = p.source
	d.Status = statusFiring
	d.Title = p.title.text(obj, "")
	d.Description = p.description.text(obj, "\n")
	d.RawSeverity = p.severity.text(obj, "")
	d.Severity = p.sev.normalize(d.RawSeverity)
	for _, k := range genericTimeKeys {
		if s, ok := obj[k].(string); ok {
			if d.StartsAt = parseTime(s); !d.StartsAt.IsZero() {
				break
			}
		}
	}
	d.Labels = map[string]string{}
	setLabel(d.Labels, "alertname", d.Title)

	identity := []string{d.Title}
	for _, o := range p.observables {
		vs := o.path.strings(obj)
		if len(vs) == 0 {
			continue
		}
		identity = append(identity, o.kind, strings.Join(vs, ","))
		setLabel(d.Labels, o.kind, vs[0])
		if l, ok := genericLabel[strings.ToLower(o.kind)]; ok {
			setLabel(d.Labels, l, vs[0])
		}
		d.indicators = append(d.indicators, genericIndicators(o.kind, vs)...)
	}
	// Fields the mapping does not name are still read, but only for
	// indicators whose shape proves their type: in an unknown schema a
	// field called "account" or "host" may hold anything (EventBridge's
	// account is an AWS account number, not a user).
	for _, m := range flatten(obj).layers(func(k string) bool { return !tlsFingerprint(k) }, nil) {
		if len(d.indicators) >= 2*MaxObservables {
			break // enough to fill the list even after duplicates go
		}
		for _, in := range ioc.FromFields(m) {
			if in.Type != ioc.TypeUser && in.Type != ioc.TypeHostname {
				d.indicators = append(d.indicators, in)
			}
		}
	}

	if id := p.fingerprint.text(obj, ","); id != "" {
		d.Fingerprint = ownFingerprint(p.source, id)
	} else {
		d.Fingerprint = hashFingerprint(p.source, identity...)
	}
	return d
}

// genericIndicators validates configured observable values against their
// kind; a value the kind does not fit (an "ip" holding a domain) is still
// typed by its own shape rather than dropped, since someone chose to map it.
func genericIndicators(kind string, values []string) []ioc.Indicator {
	name := strings.ToLower(kind)
	if a, ok := genericKindAlias[name]; ok {
		name = a
	}
	var out []ioc.Indicator
	for _, v := range values {
		ins := ioc.FromFields(map[string]string{name: v})
		if len(ins) == 0 {
			if in, ok := ioc.Classify(v); ok {
				ins = []ioc.Indicator{in}
			}
		}
		out = append(out, ins...)
		if len(out) >= MaxObservables {
			break
		}
	}
	return out
}
