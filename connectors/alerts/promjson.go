package alerts

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Alertmanager and Grafana webhooks are the bulk of alert traffic, and
// encoding/json's reflection costs more than everything else parseProm does.
// promDecoder reads exactly their shape from a body that json.Valid has
// accepted, so it only tokenises and never validates. Anything it is not
// sure to read as encoding/json would (a number where a string belongs, an
// escaped or case-folded field name, a repeated field, a non-object alert)
// makes it give up, and parseProm decodes with encoding/json instead, which
// also produces the precise error. FuzzParse holds the two to the same
// results.
type promDecoder struct {
	b []byte
	i int
}

// promFast is what the fast decoder produces: the envelope fields parseProm
// uses and each alert with its own JSON.
type promFast struct {
	status string
	orgID  int64
	alerts []promAlert
	raws   [][]byte
	found  bool // an alerts array was present
}

// decodePromFast decodes a valid JSON body; ok is false when the slow path
// must decide.
func decodePromFast(body []byte) (w promFast, ok bool) {
	d := promDecoder{b: body}
	d.space()
	if !d.next('{') {
		return w, false
	}
	var seen uint8
	for d.space(); !d.next('}'); d.comma() {
		key, ok := d.key()
		if !ok {
			return w, false
		}
		switch field := promEnvelope[key]; {
		case field == 0:
			if foldsToField(key, promEnvelope) {
				return w, false
			}
			d.i = skipValue(d.b, d.i)
			continue
		case seen&field != 0:
			return w, false // repeated: let encoding/json apply its rules
		default:
			seen |= field
		}
		switch key {
		case "status":
			if w.status, ok = d.str(); !ok {
				return w, false
			}
		case "orgId":
			if w.orgID, ok = d.int(); !ok {
				return w, false
			}
		case "alerts":
			if d.literal("null") {
				return w, false // encoding/json's "no alerts" message
			}
			if !d.next('[') {
				return w, false
			}
			w.found = true
			for d.space(); !d.next(']'); d.comma() {
				if len(w.alerts) == MaxAlerts {
					return w, false
				}
				start := d.i
				var a promAlert
				if !d.literal("null") && !d.alert(&a) {
					return w, false
				}
				w.alerts = append(w.alerts, a)
				w.raws = append(w.raws, d.b[start:d.i])
			}
		}
	}
	return w, w.found
}

// Field bits of the envelope and of an alert, for spotting repeats.
var (
	promEnvelope = map[string]uint8{"status": 1, "orgId": 2, "alerts": 4}
	promFields   = map[string]uint16{
		"status": 1, "labels": 2, "annotations": 4, "startsAt": 8, "endsAt": 16, "generatorURL": 32,
		"fingerprint": 64, "dashboardURL": 128, "panelURL": 256, "valueString": 512,
	}
)

func (d *promDecoder) alert(a *promAlert) bool {
	if !d.next('{') {
		return false
	}
	var seen uint16
	for d.space(); !d.next('}'); d.comma() {
		key, ok := d.key()
		if !ok {
			return false
		}
		field := promFields[key]
		if field == 0 {
			if foldsToField(key, promFields) {
				return false
			}
			d.i = skipValue(d.b, d.i)
			continue
		}
		if seen&field != 0 {
			return false
		}
		seen |= field
		var s *string
		switch key {
		case "labels":
			a.Labels, ok = d.strMap()
		case "annotations":
			a.Annotations, ok = d.strMap()
		case "status":
			s = &a.Status
		case "startsAt":
			s = &a.StartsAt
		case "endsAt":
			s = &a.EndsAt
		case "generatorURL":
			s = &a.GeneratorURL
		case "fingerprint":
			s = &a.Fingerprint
		case "dashboardURL":
			s = &a.DashboardURL
		case "panelURL":
			s = &a.PanelURL
		case "valueString":
			s = &a.ValueString
		}
		if s != nil {
			*s, ok = d.str()
		}
		if !ok {
			return false
		}
	}
	return true
}

// strMap reads an object of strings; null values become "", as
// encoding/json stores them, and a null object is a nil map.
func (d *promDecoder) strMap() (map[string]string, bool) {
	if d.literal("null") {
		return nil, true
	}
	if !d.next('{') {
		return nil, false
	}
	m := map[string]string{}
	for d.space(); !d.next('}'); d.comma() {
		key, ok := d.key()
		if !ok {
			return nil, false
		}
		v, ok := d.str()
		if !ok {
			return nil, false
		}
		m[key] = v
	}
	return m, true
}

// key reads an object key and the colon after it.
func (d *promDecoder) key() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	k, ok := d.str()
	d.space()
	if !ok || !d.next(':') {
		return "", false
	}
	d.space()
	return k, true
}

// str reads a string, or null as "" (encoding/json leaves a string
// unchanged on null, and fields start empty). Strings without escapes,
// the usual case, are copied as they are; the rest go through
// encoding/json so that escapes and invalid UTF-8 come out identical.
func (d *promDecoder) str() (string, bool) {
	if d.literal("null") {
		return "", true
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start, ascii := d.i+1, true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			raw := d.b[start:j]
			d.i = j + 1
			if ascii || utf8.Valid(raw) {
				return string(raw), true
			}
			return d.slowString(start-1, d.i)
		case c == '\\':
			end := skipValue(d.b, start-1)
			d.i = end
			return d.slowString(start-1, end)
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

func (d *promDecoder) slowString(from, to int) (string, bool) {
	var s string
	if json.Unmarshal(d.b[from:to], &s) != nil {
		return "", false
	}
	return s, true
}

// int reads an integer as encoding/json does into an int64; null is 0.
func (d *promDecoder) int() (int64, bool) {
	if d.literal("null") {
		return 0, true
	}
	end := skipValue(d.b, d.i)
	n, err := strconv.ParseInt(string(d.b[d.i:end]), 10, 64)
	d.i = end
	return n, err == nil
}

func (d *promDecoder) space() { d.i = skipSpace(d.b, d.i) }

// next consumes c, after white space, if it is there.
func (d *promDecoder) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// comma consumes the separator between members, if any.
func (d *promDecoder) comma() {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ',' {
		d.i++
		d.space()
	}
}

// literal consumes a bare literal such as null.
func (d *promDecoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// foldsToField reports whether encoding/json might match key to one of the
// fields case-insensitively (it folds ASCII and a few other letters); the
// fast path gives such keys to encoding/json rather than guess.
func foldsToField[V any](key string, fields map[string]V) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			return true
		}
	}
	for f := range fields {
		if len(f) == len(key) && equalFoldASCII(f, key) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if lx := x | 0x20; lx != y|0x20 || lx < 'a' || lx > 'z' {
			return false
		}
	}
	return true
}
