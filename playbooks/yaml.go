package playbooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/warroom-bot/warroom/config"
)

// This file holds the loader's YAML plumbing: decoding to a node tree,
// walking mappings strictly, reading typed scalars with messages that name
// what was expected, and mapping offsets inside a scalar back to a line and
// column. yaml.v3's own decoding into structs would stop at the first error
// and lose positions; walking nodes reports every problem with its place.

// maxVisits bounds the nodes visited in one file. Aliases let a small file
// describe an exponentially large tree ("billion laughs"); a real playbook
// has a few hundred nodes.
const maxVisits = 20_000

// MaxFileSize is the largest playbook file the loader reads. A playbook is a
// page of YAML; anything far larger is a mistake (or an attack on the
// parser) and is refused before parsing.
const MaxFileSize = 1 << 20

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): ((?s).*)$`)

// decodeYAML parses data into the root node of its only document. A nil
// root with no diagnostics means an empty file.
func (l *loader) decodeYAML(data []byte) (root *yaml.Node) {
	defer func() {
		// yaml.v3 has internal-error panics on some malformed input; a
		// broken playbook must be reported, never crash the server.
		if r := recover(); r != nil {
			root = nil
			l.diags = append(l.diags, Diagnostic{File: l.file, Line: 1, Col: 1, Msg: "invalid YAML: the parser failed on this file"})
		}
	}()
	syntax := func(err error) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 1
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n >= 1 {
				line = n
			}
			msg = m[2]
		}
		l.diags = append(l.diags, Diagnostic{File: l.file, Line: line, Col: 1, Msg: "invalid YAML: " + msg})
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			syntax(err)
		}
		return nil
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			syntax(err)
			return nil
		}
		if len(extra.Content) > 0 && !(extra.Content[0].Kind == yaml.ScalarNode && extra.Content[0].ShortTag() == "!!null") {
			l.errAt(&extra, "", "only one playbook per file: found a second YAML document")
			return nil
		}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return doc.Content[0]
	}
	return nil
}

// errAt records a problem at a node.
func (l *loader) errAt(n *yaml.Node, path, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, max(n.Column, 1)
	}
	l.diags = append(l.diags, Diagnostic{File: l.file, Line: line, Col: col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// errIn records a problem at a byte offset inside a scalar's value.
func (l *loader) errIn(n *yaml.Node, off int, path, msg string) {
	line, col := l.posIn(n, off)
	l.diags = append(l.diags, Diagnostic{File: l.file, Line: line, Col: col, Path: path, Msg: msg})
}

// posIn maps a byte offset in a scalar's value to a position in the file.
// It is exact for single-line plain and quoted scalars and for literal
// block scalars, and checks itself against the source text: where escapes
// or folding make the value differ from what is written, it falls back to
// the scalar's own position rather than point at the wrong character.
func (l *loader) posIn(n *yaml.Node, off int) (int, int) {
	line, col := max(n.Line, 1), max(n.Column, 1)
	if off <= 0 || off > len(n.Value) {
		return line, col
	}
	before := n.Value[:off]
	switch n.Style {
	case 0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if strings.Contains(before, "\n") {
			return line, col
		}
		skip := 0
		if n.Style != 0 {
			skip = 1
		}
		if l.sourceHas(n.Line, n.Column+skip, before) {
			return line, n.Column + skip + utf8.RuneCountInString(before)
		}
	case yaml.LiteralStyle:
		k := strings.Count(before, "\n")
		tail := before[strings.LastIndexByte(before, '\n')+1:]
		ln := n.Line + 1 + k
		if ln-1 < len(l.lines) {
			text := l.lines[ln-1]
			indent := len(text) - len(strings.TrimLeft(text, " "))
			if l.sourceHas(ln, indent+1, tail) {
				return ln, indent + 1 + utf8.RuneCountInString(tail)
			}
		}
	}
	return line, col
}

// sourceHas reports whether the file has text at line and rune column col.
func (l *loader) sourceHas(line, col int, text string) bool {
	if line < 1 || line > len(l.lines) || col < 1 {
		return false
	}
	src := l.lines[line-1]
	for i := 1; i < col; i++ {
		_, size := utf8.DecodeRuneInString(src)
		if size == 0 {
			return false
		}
		src = src[size:]
	}
	return strings.HasPrefix(src, text)
}

// visit follows aliases and spends the file's node budget. It returns nil
// when the budget is gone (reported once) or the alias is broken.
func (l *loader) visit(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 32 {
			return nil
		}
		n = n.Alias
	}
	l.budget--
	if l.budget == -1 {
		l.errAt(n, "", "the file is too complex (too many nodes, or aliases expanded too often)")
	}
	if l.budget < 0 {
		return nil
	}
	return n
}

// entry is one key and value of a mapping.
type entry struct{ key, val *yaml.Node }

// entries lists a mapping's entries in file order, reporting a non-mapping,
// non-text keys, merge keys and duplicates. ok is false if n is not a
// mapping.
func (l *loader) entries(n *yaml.Node, path string) ([]entry, bool) {
	if n.Kind != yaml.MappingNode {
		l.errAt(n, path, "expected a mapping, got %s", describe(n))
		return nil, false
	}
	var out []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := l.visit(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			l.errAt(k, path, "keys must be text, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			l.errAt(k, path, "merge keys (<<) are not supported: write the keys out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errAt(k, joinPath(path, k.Value), "key is repeated (first on line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{k, v})
	}
	return out, true
}

// fields reads a mapping whose keys are fixed, reporting unknown keys.
// Entries whose value is null are left out: "with:" with nothing after it
// means the same as no with: at all.
func (l *loader) fields(n *yaml.Node, path string, allowed ...string) (map[string]entry, bool) {
	es, ok := l.entries(n, path)
	if !ok {
		return nil, false
	}
	out := make(map[string]entry, len(es))
	for _, e := range es {
		known := false
		for _, a := range allowed {
			if a == e.key.Value {
				known = true
				break
			}
		}
		if !known {
			l.errAt(e.key, joinPath(path, e.key.Value), "unknown key%s; expected one of %s", didYouMean(e.key.Value, allowed), strings.Join(allowed, ", "))
			if l.typos == nil {
				l.typos = map[*yaml.Node]bool{}
			}
			l.typos[n] = true
			continue
		}
		v := l.visit(e.val)
		if v == nil || isNull(v) {
			continue
		}
		out[e.key.Value] = entry{e.key, v}
	}
	return out, true
}

// missing reports a required key that is absent from mapping n, unless
// the mapping had an unknown key: that is most likely the same key
// misspelt, already reported with a suggestion.
func (l *loader) missing(n *yaml.Node, path, format string, args ...any) {
	if !l.typos[n] {
		l.errAt(n, path, format, args...)
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe says what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "the number " + truncate(n.Value, 20)
		case "!!bool":
			return n.Value
		case "!!str":
			return strconv.Quote(truncate(n.Value, 40))
		default:
			return "a value tagged " + truncate(n.Tag, 20)
		}
	}
	return "something else"
}

// str reads text, as for names and ids. Numbers and booleans are refused
// rather than silently converted, because a YAML "no" or "1e3" is rarely
// what the author meant to write.
func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			hint = " (put it in quotes)"
		}
		l.errAt(n, path, "expected text, got %s%s", describe(n), hint)
		return "", false
	}
	return n.Value, true
}

// text reads any scalar as its text, for values that are only compared as
// text, such as alert labels: `tier: 1` then means "1".
func (l *loader) text(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errAt(n, path, "expected text, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if n.Decode(&b) == nil {
			return b, true
		}
	}
	l.errAt(n, path, "expected true or false, got %s%s", describe(n), unquoteHint(n, "!!bool"))
	return false, false
}

// unquoteHint suggests removing quotes from a quoted scalar that would
// have had the wanted tag without them.
func unquoteHint(n *yaml.Node, tag string) string {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 {
		return ""
	}
	var probe yaml.Node
	if yaml.Unmarshal([]byte(n.Value), &probe) != nil || len(probe.Content) != 1 {
		return ""
	}
	if probe.Content[0].Kind == yaml.ScalarNode && probe.Content[0].ShortTag() == tag {
		return " (remove the quotes)"
	}
	return ""
}

func (l *loader) integer(n *yaml.Node, path string, lo, hi int) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var i int
		if n.Decode(&i) == nil {
			if i < lo || i > hi {
				l.errAt(n, path, "must be between %d and %d, got %d", lo, hi, i)
				return 0, false
			}
			return i, true
		}
	}
	l.errAt(n, path, "expected a whole number, got %s%s", describe(n), unquoteHint(n, "!!int"))
	return 0, false
}

// duration reads a positive duration in the configuration's syntax ("90s",
// "15m", "2h", "1d").
func (l *loader) duration(n *yaml.Node, path string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		l.errAt(n, path, "expected a duration such as 30s, 15m or 2h, got %s", describe(n))
		return 0, false
	}
	d, err := config.ParseDuration(n.Value)
	if err != nil {
		l.errAt(n, path, "%v", err)
		return 0, false
	}
	if d <= 0 {
		l.errAt(n, path, "must be longer than zero, got %s", n.Value)
		return 0, false
	}
	return d, true
}

// words reads one word or a list of them, for roles and alert sources.
func (l *loader) words(n *yaml.Node, path string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := l.str(n, path)
		if !ok {
			return nil, false
		}
		if strings.TrimSpace(s) == "" {
			l.errAt(n, path, "empty")
			return nil, false
		}
		return []string{s}, true
	}
	if n.Kind != yaml.SequenceNode {
		l.errAt(n, path, "expected a word or a list of words, got %s", describe(n))
		return nil, false
	}
	if len(n.Content) == 0 {
		l.errAt(n, path, "the list is empty")
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for i, c := range n.Content {
		c = l.visit(c)
		if c == nil {
			return nil, false
		}
		p := path + "[" + strconv.Itoa(i) + "]"
		s, good := l.str(c, p)
		switch {
		case !good:
			ok = false
		case strings.TrimSpace(s) == "":
			l.errAt(c, p, "empty")
			ok = false
		default:
			out = append(out, s)
		}
	}
	return out, ok
}
