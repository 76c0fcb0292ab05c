package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// element is one alert-sized piece of a body: an array entry, the body
// itself, or one JSON line.
type element struct {
	raw  []byte // a copy the alert may keep as Raw; nil when bad is set
	line int    // 1-based line of a JSON-lines body; 0 otherwise
	bad  string // why the element cannot be used, when it is not JSON
}

// splitBody cuts a body into elements. A body is one JSON object, an array
// of them, or JSON lines (one object per line, as Wazuh's alerts.json and
// Suricata's eve.json are written). When wrapper is set and the body is an
// object whose wrapper key holds an array, the array's entries are the
// elements, which is how Kibana templates usually send {"alerts": [...]}.
func splitBody(source string, body []byte, wrapper string) ([]element, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &BodyError{Source: source, Msg: "body is empty"}
	}
	if json.Valid(trimmed) {
		switch trimmed[0] {
		case '[':
			return splitArray(source, trimmed)
		case '{':
			if wrapper != "" {
				var top map[string]json.RawMessage
				if json.Unmarshal(trimmed, &top) == nil {
					if w := bytes.TrimSpace(top[wrapper]); len(w) > 0 && w[0] == '[' {
						return splitArray(source, w)
					}
				}
			}
			return []element{{raw: bytes.Clone(trimmed)}}, nil
		default:
			return nil, &BodyError{Source: source, Msg: fmt.Sprintf("body is %s, want a JSON object or an array of objects", jsonKind(trimmed))}
		}
	}
	wholeErr := json.Unmarshal(body, new(json.RawMessage))
	if !bytes.ContainsRune(trimmed, '\n') {
		return nil, bodyError(source, wholeErr)
	}
	var els []element
	for n, rest := 1, body; len(rest) > 0; n++ {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(els) == MaxAlerts {
			return nil, tooMany(source)
		}
		var raw json.RawMessage
		err := json.Unmarshal(line, &raw)
		if len(els) == 0 && (err != nil || line[0] != '{') {
			// Not JSON lines, which start with an object, but one broken
			// document (a truncated array, a pretty-printed object): the
			// error of the whole body points at the real problem.
			return nil, bodyError(source, wholeErr)
		}
		if err != nil {
			els = append(els, element{line: n, bad: fmt.Sprintf("line %d is not JSON: %s", n, syntaxProblem(err))})
			continue
		}
		els = append(els, element{raw: raw, line: n})
	}
	return els, nil
}

func splitArray(source string, arr []byte) ([]element, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(arr, &items); err != nil {
		return nil, bodyError(source, err)
	}
	if len(items) > MaxAlerts {
		return nil, tooMany(source)
	}
	els := make([]element, len(items))
	for i, it := range items {
		els[i] = element{raw: it}
	}
	return els, nil
}

func tooMany(source string) *BodyError {
	return &BodyError{Source: source, Msg: fmt.Sprintf("body holds more than %d alerts; split it into several requests", MaxAlerts)}
}

// decodeObject decodes one element into a generic JSON object, keeping
// numbers as written (a Wazuh level of 10 stays "10", a flow id keeps all its
// digits). The reason is empty on success.
func decodeObject(el element) (map[string]any, string) {
	if el.bad != "" {
		return nil, el.bad
	}
	d := json.NewDecoder(bytes.NewReader(el.raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, "alert is not JSON: " + syntaxProblem(err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		where := "alert"
		if el.line > 0 {
			where = fmt.Sprintf("line %d", el.line)
		}
		return nil, fmt.Sprintf("%s is %s, want a JSON object", where, jsonKind(el.raw))
	}
	return obj, ""
}

// bodyError turns a decoding error for a whole body into a *BodyError whose
// message names the problem and where it is.
func bodyError(source string, err error) *BodyError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &BodyError{Source: source, Msg: "body is not JSON: " + syntaxProblem(err), Err: err}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &BodyError{Source: source, Msg: "body has the wrong shape: " + typeProblem(te, "body"), Err: err}
	}
	return &BodyError{Source: source, Msg: "body cannot be decoded: " + err.Error(), Err: err}
}

// syntaxProblem words a JSON error without the "json:" prefix and with the
// byte offset, so that the sender can find the spot.
func syntaxProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		msg := strings.Replace(se.Error(), "unexpected end of JSON input", "unexpected end of input", 1)
		return fmt.Sprintf("%s at byte %d", msg, se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// typeProblem words a type mismatch as "alerts is a string, want an array".
func typeProblem(te *json.UnmarshalTypeError, root string) string {
	field := te.Field
	if field == "" {
		field = root
	}
	got := te.Value
	switch {
	case strings.HasPrefix(got, "number "):
		got = "the number " + strings.TrimPrefix(got, "number ")
	case got == "array" || got == "object":
		got = "an " + got
	case got == "bool":
		got = "a boolean"
	default:
		got = "a " + got
	}
	return fmt.Sprintf("%s is %s, want %s", field, got, goKind(te.Type))
}

func goKind(t reflect.Type) string {
	if t == nil {
		return "something else"
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return goKind(t.Elem())
	}
	return "something else"
}

// jsonKind names the kind of a valid JSON value from its first byte.
func jsonKind(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// flat is a JSON object flattened to dotted keys, each with its scalar values
// in document order. Nested ({"host": {"name": …}}) and already flattened
// ({"host.name": …}) documents give the same keys, which is what ECS
// producers and Kibana templates mix freely. Arrays add one value per entry
// under the same key, so related.ip ["a", "b"] is two values of related.ip.
type flat map[string][]string

// Bounds on flattening and path results. Depth is bounded because no alert
// schema nests deeper and a hostile one could; width is not, because
// dropping keys could drop the title, and the body size already bounds it.
// Only the indicator pass (flat.layers) takes a bounded number of fields.
const (
	maxFlatDepth  = 32
	maxFlatValues = 4096
)

func flatten(obj map[string]any) flat {
	f := make(flat, len(obj))
	f.add("", obj, 0)
	return f
}

func (f flat) add(prefix string, v any, depth int) {
	if depth > maxFlatDepth {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		// Sorted so that a key reached by two routes ("a.b" and a→b)
		// lists its values in the same order every time.
		sort.Strings(keys)
		for _, k := range keys {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			f.add(key, v[k], depth+1)
		}
	case []any:
		for _, e := range v {
			f.add(prefix, e, depth+1)
		}
	default:
		if s, ok := scalar(v); ok && prefix != "" {
			f[prefix] = append(f[prefix], s)
		}
	}
}

// scalar renders a JSON scalar as text; null and containers have none.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// get returns the first value of the first key present.
func (f flat) get(keys ...string) string {
	for _, k := range keys {
		if vs := f[k]; len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
	}
	return ""
}

// join returns all values of key joined with a comma, for labels such as
// Wazuh's rule.groups.
func (f flat) join(key string) string {
	return strings.Join(f[key], ",")
}

// layers turns the flattened document into maps for ioc.FromFields, which
// takes one value per field: the first map holds every key's first value,
// the second every second value, and so on. keep decides which keys may
// yield observables; rename maps a source's field names onto the names
// FromFields knows. At most maxFlatValues fields and MaxObservables layers
// are used, as no alert can hold more observables than that.
func (f flat) layers(keep func(string) bool, rename map[string]string) []map[string]string {
	keys := make([]string, 0, len(f))
	for k := range f {
		if keep == nil || keep(k) {
			keys = append(keys, k)
		}
	}
	// Sorted so that when a renamed key meets a key of that name, the
	// same one wins every time, and the cap cuts the same keys.
	sort.Strings(keys)
	if len(keys) > maxFlatValues {
		keys = keys[:maxFlatValues]
	}
	var out []map[string]string
	for i := 0; i < MaxObservables; i++ {
		var m map[string]string
		for _, k := range keys {
			vs := f[k]
			if i >= len(vs) {
				continue
			}
			name := k
			if r, ok := rename[k]; ok {
				name = r
			}
			if m == nil {
				m = make(map[string]string)
			}
			if _, taken := m[name]; !taken {
				m[name] = vs[i]
			}
		}
		if m == nil {
			break
		}
		out = append(out, m)
	}
	return out
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the valid JSON value at b[i].
func skipValue(b []byte, i int) int {
	depth, inString := 0, false
	for ; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
				if depth == 0 {
					return i + 1
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of a bare literal at the end of a container
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
