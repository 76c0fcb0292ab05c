package playbooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Template is a string that may hold ${{ expression }} parts, compiled once
// at load time and rendered per run. A template that is exactly one
// expression (surrounding spaces aside) renders to the expression's value
// with its type, so `port: ${{ inputs.port }}` gives a number; any other
// template renders to a string. "$${{" writes a literal "${{".
type Template struct {
	src    string
	parts  []tmplPart
	single bool
}

// tmplPart is literal text or one expression of a template.
type tmplPart struct {
	lit string
	e   *expression
	// at is the byte offset of the expression's text in the template.
	at int
}

// templateProblem is a problem at a byte offset in a template's source.
type templateProblem struct {
	at  int
	msg string
}

// Compile compiles a template for use outside a playbook file, such as a
// message in the configuration. It checks the syntax and the language
// restrictions but not names under inputs, steps or env, which only a
// playbook declares. Playbooks' own templates are compiled by the loader,
// which also checks every reference.
func Compile(src string) (*Template, error) {
	t, probs := compileTemplate(src, anyScope)
	if len(probs) > 0 {
		p := probs[0]
		return nil, fmt.Errorf("compile %q at byte %d: %s", truncate(src, 60), p.at, p.msg)
	}
	return t, nil
}

// String returns the template's source.
func (t *Template) String() string { return t.src }

// IsExpr reports whether the template is exactly one expression, and so
// renders to a typed value rather than a string.
func (t *Template) IsExpr() bool { return t.single }

// compileTemplate splits src into text and expressions and compiles each.
func compileTemplate(src string, sc *scope) (*Template, []templateProblem) {
	if len(src) > MaxTemplateLen {
		return nil, []templateProblem{{0, fmt.Sprintf("text is too long (%d bytes, the limit is %d)", len(src), MaxTemplateLen)}}
	}
	t := &Template{src: src}
	var probs []templateProblem
	var lit strings.Builder
	rest, off := src, 0
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			lit.WriteString(rest)
			break
		}
		if i > 0 && rest[i-1] == '$' {
			// "$${{" is an escaped, literal "${{".
			lit.WriteString(rest[:i-1])
			lit.WriteString("${{")
			rest, off = rest[i+3:], off+i+3
			continue
		}
		lit.WriteString(rest[:i])
		start := i + 3
		end, ok := exprEnd(rest[start:])
		if !ok {
			probs = append(probs, templateProblem{off + i, "${{ is not closed by }}"})
			break
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
		body := rest[start : start+end]
		at := off + start
		e, eps := compileExpr(body, sc)
		for _, p := range eps {
			probs = append(probs, templateProblem{at + runeOffset(body, p.at), p.msg})
		}
		t.parts = append(t.parts, tmplPart{e: e, at: at})
		rest, off = rest[start+end+2:], off+start+end+2
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	if len(probs) > 0 {
		return nil, probs
	}
	// A lone expression, possibly with spaces around it (YAML block scalars
	// end with a newline), renders to a typed value.
	var lone *tmplPart
	for i, p := range t.parts {
		switch {
		case p.e == nil && isSpace(p.lit):
		case p.e != nil && lone == nil:
			lone = &t.parts[i]
		default:
			return t, nil
		}
	}
	if lone != nil {
		t.parts = []tmplPart{*lone}
		t.single = true
	}
	return t, nil
}

func isSpace(s string) bool { return strings.TrimSpace(s) == "" }

// exprEnd finds the "}}" that closes an expression, skipping string
// literals and balanced braces so that `{a: {b: 1}}` and "}}" inside quotes
// do not end it early. It returns the length of the expression text.
func exprEnd(s string) (int, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && c != '`' {
					j++
				}
			}
			i = j
		case '{':
			depth++
		case '}':
			if depth == 0 && i+1 < len(s) && s[i+1] == '}' {
				return i, true
			}
			if depth > 0 {
				depth--
			}
		}
	}
	return 0, false
}

// runeOffset converts a rune offset within s, as expr reports positions,
// to a byte offset.
func runeOffset(s string, runes int) int {
	for i := range s {
		if runes == 0 {
			return i
		}
		runes--
	}
	return len(s)
}

// refsDynamic reports whether any expression reads steps, error or result.
func (t *Template) refsDynamic() bool {
	for _, p := range t.parts {
		if p.e != nil && p.e.dynamic {
			return true
		}
	}
	return false
}

// RenderError is an expression that failed at run time. It names the
// expression, so that a failed step's message says which ${{ }} broke.
type RenderError struct {
	// Expr is the expression's source, without ${{ }}.
	Expr string
	// Err is what went wrong, from expr or from a size limit.
	Err error
}

// Error names the expression and the problem.
func (e *RenderError) Error() string {
	return fmt.Sprintf("${{ %s }}: %v", strings.TrimSpace(e.Expr), e.Err)
}

// Unwrap returns Err, for errors.Is and errors.As.
func (e *RenderError) Unwrap() error { return e.Err }

// Render evaluates the template in env: the typed value for a lone
// expression, otherwise a string.
func (t *Template) Render(env Env) (any, error) {
	return t.render(env.vars(nil, nil), false)
}

// renderMode selects how a template renders.
type renderMode bool

// dryRun renders expressions that depend on earlier steps as written,
// since in a dry run nothing has run.
const dryRun renderMode = true

func (t *Template) render(vars map[string]any, mode renderMode) (any, error) {
	if t.single {
		p := t.parts[0]
		if mode == dryRun && p.e.dynamic {
			return "${{ " + strings.TrimSpace(p.e.src) + " }}", nil
		}
		v, err := p.e.run(vars)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok && len(s) > MaxRenderedLen {
			return nil, &RenderError{Expr: p.e.src, Err: &tooLargeError{}}
		}
		return v, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.e == nil {
			b.WriteString(p.lit)
		} else if mode == dryRun && p.e.dynamic {
			b.WriteString("${{ " + strings.TrimSpace(p.e.src) + " }}")
		} else {
			v, err := p.e.run(vars)
			if err != nil {
				return nil, err
			}
			s, err := toText(v)
			if err != nil {
				return nil, &RenderError{Expr: p.e.src, Err: err}
			}
			if b.Len()+len(s) > MaxRenderedLen {
				return nil, &RenderError{Expr: p.e.src, Err: &tooLargeError{}}
			}
			b.WriteString(s)
		}
	}
	return b.String(), nil
}

// run evaluates one expression.
func (e *expression) run(vars map[string]any) (v any, err error) {
	defer func() {
		// expr recovers its own panics; this is for the ones it might not.
		if r := recover(); r != nil {
			v, err = nil, &RenderError{Expr: e.src, Err: fmt.Errorf("evaluation failed: %v", r)}
		}
	}()
	v, err = vm.Run(e.prog, vars)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			err = errors.New(fe.Message)
		}
		return nil, &RenderError{Expr: e.src, Err: err}
	}
	return v, nil
}

// toText renders a value inside a string: text as is, numbers without
// exponent or trailing zeros where possible, nothing for nil, and lists and
// maps as compact JSON.
func toText(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return formatFloat(v), nil
	case json.Number:
		return v.String(), nil
	case time.Duration:
		return v.String(), nil
	case time.Time:
		return v.Format(time.RFC3339), nil
	case fmt.Stringer:
		return v.String(), nil
	}
	s, err := toJSON(v)
	if err != nil {
		return "", err
	}
	return s.(string), nil
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// truncate shortens s for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
