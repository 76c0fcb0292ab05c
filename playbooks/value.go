package playbooks

import (
	"fmt"
	"strconv"
)

// Value is a compiled with: or outputs: value: a literal, a template, or a
// list or mapping of values. Keys are always literal; only scalars can hold
// ${{ }}.
type Value struct {
	kind valueKind
	lit  any
	tmpl *Template
	list []Value
	keys []string
	vals []Value
}

type valueKind uint8

const (
	literalValue valueKind = iota
	templateValue
	listValue
	mapValue
)

// Render evaluates the value in env. Mappings become map[string]any and
// lists []any, freshly allocated, so a caller may change the result.
func (v Value) Render(env Env) (any, error) {
	return v.render(env.vars(nil, nil), false, "")
}

// Template returns the value's template when it is a string holding
// ${{ }}, or nil.
func (v Value) Template() *Template { return v.tmpl }

func (v Value) render(vars map[string]any, mode renderMode, path string) (any, error) {
	switch v.kind {
	case templateValue:
		out, err := v.tmpl.render(vars, mode)
		if err != nil {
			return nil, pathError(path, err)
		}
		return out, nil
	case listValue:
		out := make([]any, len(v.list))
		for i, e := range v.list {
			x, err := e.render(vars, mode, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case mapValue:
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			x, err := v.vals[i].render(vars, mode, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return v.lit, nil
}

// pathError prefixes err with the setting it concerns.
func pathError(path string, err error) error {
	if path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// joinPath appends a key to a dotted path, quoting keys that are not plain
// words so the path stays unambiguous.
func joinPath(path, key string) string {
	if !isPlainKey(key) {
		key = "[" + strconv.Quote(key) + "]"
		return path + key
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func isPlainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
