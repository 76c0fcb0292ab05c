package alerts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// path is a compiled JSON path of the generic mappings; the package
// documentation gives its syntax.
type path struct {
	src   string
	steps []step
}

type stepKind uint8

const (
	stepKey   stepKind = iota // .name or ["name"]
	stepIndex                 // [3] or [-1]
	stepAll                   // [*]
)

type step struct {
	kind   stepKind
	key    string
	index  int
	quoted bool // a ["…"] key is taken literally, never joined with its neighbours
}

// maxPathSteps bounds a path; no document is that deep, and it bounds the
// work of the flattened-key fallback.
const maxPathSteps = 64

// parsePath compiles a path, saying where it goes wrong.
func parsePath(s string) (path, error) {
	p := path{src: s}
	i := 0
	if strings.HasPrefix(s, "$") {
		i = 1
		if strings.HasPrefix(s[1:], ".") {
			i = 2
		}
	}
	if i == len(s) {
		return path{}, fmt.Errorf("empty path")
	}
	expectKey := true // at the start or after a dot
	for i < len(s) {
		if len(p.steps) == maxPathSteps {
			return path{}, fmt.Errorf("more than %d steps", maxPathSteps)
		}
		switch c := s[i]; {
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if i+1 < len(s) && s[i+1] == '"' {
				// A quoted key may hold ']' itself: find the closing quote.
				q, ok := closingQuote(s, i+1)
				if !ok || q+1 >= len(s) || s[q+1] != ']' {
					return path{}, fmt.Errorf(`unterminated ["…"] at byte %d`, i)
				}
				var key string
				if err := json.Unmarshal([]byte(s[i+1:q+1]), &key); err != nil {
					return path{}, fmt.Errorf("bad quoted key at byte %d: %v", i, err)
				}
				p.steps = append(p.steps, step{kind: stepKey, key: key, quoted: true})
				i = q + 2
			} else {
				if end < 0 {
					return path{}, fmt.Errorf("unterminated [ at byte %d", i)
				}
				inner := s[i+1 : i+end]
				switch n, err := strconv.Atoi(inner); {
				case inner == "*":
					p.steps = append(p.steps, step{kind: stepAll})
				case err == nil && len(inner) <= 6:
					p.steps = append(p.steps, step{kind: stepIndex, index: n})
				default:
					return path{}, fmt.Errorf(`bad index %q at byte %d (want a number, * or a "quoted key")`, inner, i)
				}
				i += end + 1
			}
			expectKey = false
			if i < len(s) && s[i] != '.' && s[i] != '[' {
				return path{}, fmt.Errorf("want . or [ after ] at byte %d", i)
			}
		case c == '.':
			if expectKey {
				return path{}, fmt.Errorf("empty key at byte %d", i)
			}
			i++
			expectKey = true
			if i == len(s) {
				return path{}, fmt.Errorf("path ends with a dot")
			}
			if s[i] == '[' {
				return path{}, fmt.Errorf("want a key after . at byte %d, not [", i)
			}
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ']' {
				j++
			}
			if j < len(s) && s[j] == ']' {
				return path{}, fmt.Errorf("unexpected ] at byte %d", j)
			}
			if !expectKey {
				return path{}, fmt.Errorf("want . or [ before byte %d", i)
			}
			p.steps = append(p.steps, step{kind: stepKey, key: s[i:j]})
			i = j
			expectKey = false
		}
	}
	return p, nil
}

// closingQuote finds the quote that ends the JSON string starting at s[at].
func closingQuote(s string, at int) (int, bool) {
	for j := at + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j, true
		}
	}
	return 0, false
}

// String returns the path as written.
func (p path) String() string { return p.src }

// resolve returns the values the path reaches in doc, in document order.
// A key applied to an array applies to each entry, and [*] takes every
// entry, so one path can reach many values.
func (p path) resolve(doc any) []any {
	if len(p.steps) == 0 {
		return nil
	}
	var out []any
	budget := maxFlatValues
	return resolveSteps(doc, p.steps, out, &budget)
}

func resolveSteps(v any, steps []step, out []any, budget *int) []any {
	if *budget <= 0 {
		return out
	}
	*budget--
	if len(steps) == 0 {
		if v == nil {
			return out
		}
		return append(out, v)
	}
	s := steps[0]
	switch s.kind {
	case stepKey:
		switch v := v.(type) {
		case map[string]any:
			n := len(out)
			if c, ok := v[s.key]; ok {
				if out = resolveSteps(c, steps[1:], out, budget); len(out) > n || s.quoted {
					return out
				}
			}
			if s.quoted {
				return out
			}
			// Flattened documents: "kibana.alert.rule.name" may be one
			// key rather than four levels, even next to a "kibana"
			// object, so a dead end on the nested route tries the
			// joined keys too.
			key := s.key
			for j := 1; j < len(steps) && steps[j].kind == stepKey && !steps[j].quoted; j++ {
				key += "." + steps[j].key
				if c, ok := v[key]; ok {
					if out = resolveSteps(c, steps[j+1:], out, budget); len(out) > n {
						return out
					}
				}
			}
		case []any:
			for _, e := range v {
				out = resolveSteps(e, steps, out, budget)
			}
		}
	case stepIndex:
		if arr, ok := v.([]any); ok {
			i := s.index
			if i < 0 {
				i += len(arr)
			}
			if i >= 0 && i < len(arr) {
				return resolveSteps(arr[i], steps[1:], out, budget)
			}
		}
	case stepAll:
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				out = resolveSteps(e, steps[1:], out, budget)
			}
		}
	}
	return out
}

// strings returns the scalar values the path reaches; arrays reached are
// read entry by entry, objects are skipped.
func (p path) strings(doc any) []string {
	var out []string
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if arr, ok := v.([]any); ok && depth < 4 {
			for _, e := range arr {
				walk(e, depth+1)
			}
			return
		}
		if s, ok := scalar(v); ok && len(out) < maxFlatValues {
			out = append(out, s)
		}
	}
	for _, v := range p.resolve(doc) {
		walk(v, 0)
	}
	return out
}

// text returns the path's values as one string: the first value for a
// title or severity, all of them joined for a description.
func (p path) text(doc any, sep string) string {
	vs := p.strings(doc)
	if sep == "" || len(vs) <= 1 {
		if len(vs) == 0 {
			return ""
		}
		return vs[0]
	}
	return strings.Join(vs, sep)
}
