package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads and validates the configuration file at path, expanding
// environment variables from the process environment.
//
// An empty path means [DefaultPath], and in that case a missing file yields
// [Default] rather than an error, so that warroom can be tried without
// writing a file first. A path that was named explicitly must exist: if the
// operator pointed at a file, silently running on defaults would hide a typo.
//
// Problems with the file's content are returned as an [*Error]; failures to
// read it are returned as they are (errors.Is(err, fs.ErrNotExist) works).
func Load(path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return Default(), nil
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse decodes and validates a configuration file held in memory. name is
// used only in problem reports. env looks up environment variables for
// ${VAR} references; it is a parameter so that tests do not have to touch
// the process environment, and nil means os.LookupEnv.
//
// When the file has problems, Parse returns a nil Config and an [*Error]
// listing all of them.
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	cfg := Default()
	d := &decoder{
		file:     name,
		env:      env,
		lines:    map[string]int{},
		failed:   map[string]bool{},
		unsetAt:  map[string][]string{},
		visited:  map[*yaml.Node]bool{},
		badExp:   map[*yaml.Node]bool{},
		subst:    map[*yaml.Node]bool{},
		seenVars: map[string]bool{},
		budget:   maxVisits,
	}
	root, probs := parseYAML(name, data)
	if len(probs) > 0 {
		return nil, newError(probs)
	}
	if root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	slices.Sort(d.unset)
	cfg.meta = &meta{file: name, lines: d.lines, failed: d.failed, unset: d.unset, unsetAt: d.unsetAt}
	probs = append(d.probs, cfg.validate()...)
	if err := newError(probs); err != nil {
		return nil, err
	}
	return cfg, nil
}

// maxVisits bounds the work spent on one file. Aliases let a small file
// describe an exponentially large tree ("billion laughs"); a real
// configuration has a few hundred nodes.
const maxVisits = 100_000

var (
	yamlLineRE      = regexp.MustCompile(`^yaml: line (\d+): ((?s).*)$`)
	unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// parseYAML turns data into a node tree, or into problems if it is not
// exactly one well-formed YAML document. A nil root means an empty file.
func parseYAML(name string, data []byte) (root *yaml.Node, probs []Problem) {
	defer func() {
		// yaml.v3 has a few internal-error panics on malformed input; a
		// broken config file must be reported, not crash the server.
		if r := recover(); r != nil {
			root = nil
			probs = []Problem{{File: name, Msg: "invalid YAML: the parser failed on this file"}}
		}
	}()
	syntax := func(err error) []Problem {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		// yaml.v3 omits the line when it is the first one (its marks are
		// 0-based and 0 doubles as "unknown").
		line := 1
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
			// This one comes without a line; find the alias ourselves.
			if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
				line = bytes.Count(data[:i], []byte("\n")) + 1
			}
		}
		return []Problem{{File: name, Line: line, Msg: "invalid YAML: " + msg}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntax(err)
	}
	for {
		// Further documents are an error, except empty ones, which some
		// editors and generators leave after a trailing "---".
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntax(err)
		}
		if len(extra.Content) > 0 && !(extra.Content[0].Kind == yaml.ScalarNode && extra.Content[0].ShortTag() == "!!null") {
			return nil, []Problem{{File: name, Line: extra.Line, Msg: "invalid YAML: only one document is allowed, found another"}}
		}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root == nil || root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, []Problem{{File: name, Line: root.Line, Msg: "the top level must be a mapping of settings, got " + describeNode(root)}}
	}
	return root, nil
}

// decoder maps a yaml.Node tree onto Go values by reflection. yaml.v3 can
// do the mapping itself, but its strict mode (KnownFields) does not apply to
// Node.Decode, it stops at the first custom-unmarshaler error, and its
// messages carry neither the setting's path nor our env expansion. Doing the
// walk ourselves gives every problem a line and a path, and lets expansion
// happen per scalar with the target type known.
type decoder struct {
	file  string
	env   func(string) (string, bool)
	probs []Problem
	lines map[string]int
	// failed records paths whose value could not be decoded, so that
	// validation does not pile follow-on complaints on top.
	failed map[string]bool

	unset    []string
	seenVars map[string]bool
	unsetAt  map[string][]string

	// visited marks scalars already expanded: aliases share nodes, and
	// expanding twice would turn "$${X}" into the value of X.
	visited map[*yaml.Node]bool
	badExp  map[*yaml.Node]bool
	subst   map[*yaml.Node]bool
	budget  int
}

func (d *decoder) fail(line int, path, format string, args ...any) {
	d.failed[path] = true
	d.probs = append(d.probs, problemf(d.file, line, path, format, args...))
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	secretType      = reflect.TypeFor[Secret]()
)

// decode stores n into v, which must be addressable.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.fail(n.Line, "", "the file is too complex (too many aliases expanded)")
		}
		return
	}
	n = deref(n)
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		if !d.expand(n, path) {
			return
		}
		if d.isNull(n, v.Type()) {
			// An empty value keeps the default, so "${VAR}" with VAR unset
			// behaves like leaving the key out.
			switch v.Kind() {
			case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
				v.SetZero()
			}
			return
		}
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		u := v.Addr().Interface().(yaml.Unmarshaler)
		if err := u.UnmarshalYAML(n); err != nil {
			d.fail(n.Line, path, "%s", cleanYAMLError(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		// Always allocate, so that a pointer shared with the defaults is
		// never written through.
		p := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		v.Set(p)
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, path, "expected a single value, got %s", describeNode(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, path, "expected true or false, got %s", describeNode(n))
			return
		}
		b, err := strconv.ParseBool(n.Value)
		switch {
		case err == nil && n.ShortTag() == "!!bool":
			v.SetBool(b)
		case err == nil && n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0:
			d.fail(n.Line, path, "expected true or false, got the string %q (remove the quotes)", n.Value)
		default:
			d.fail(n.Line, path, "expected true or false, got %q", n.Value)
		}
	default:
		// The configuration does not use other kinds today; yaml.v3 knows
		// how to decode them should one be added.
		if err := safeNodeDecode(n, v.Addr().Interface()); err != nil {
			d.fail(n.Line, path, "%s", cleanYAMLError(err))
		}
	}
}

// expand substitutes environment references in a scalar once. It reports
// false if the scalar is unusable because its references are malformed.
func (d *decoder) expand(n *yaml.Node, path string) bool {
	if d.visited[n] {
		return !d.badExp[n]
	}
	d.visited[n] = true
	if !strings.Contains(n.Value, "$") {
		return true
	}
	var unset []string
	out, err := expand(n.Value, d.env, &unset)
	if err != nil {
		d.badExp[n] = true
		d.fail(n.Line, path, "%s", err)
		return false
	}
	for _, name := range unset {
		if !d.seenVars[name] {
			d.seenVars[name] = true
			d.unset = append(d.unset, name)
		}
		if !slices.Contains(d.unsetAt[path], name) {
			d.unsetAt[path] = append(d.unsetAt[path], name)
		}
	}
	if strings.Contains(n.Value, "${") {
		d.subst[n] = true
	}
	if out != n.Value {
		n.Value = out
		if n.Style == 0 {
			// A plain scalar's type was resolved from its text before
			// expansion ("${X}" is a string); resolve it again so that
			// "max_body: ${X}" with X=5 is the number 5. Quoted scalars
			// stay strings, as their author asked.
			n.Tag = ""
		}
	}
	return true
}

// isNull reports whether a scalar should leave the target at its default.
// A substituted value that is non-empty is taken literally for string
// targets, so that a token that happens to read "null" is not lost.
func (d *decoder) isNull(n *yaml.Node, t reflect.Type) bool {
	if d.subst[n] {
		if n.Value == "" {
			return true
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.String {
			return false
		}
	}
	return n.ShortTag() == "!!null"
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "expected a mapping, got %s", describeNode(n))
		return
	}
	fields, names := structFields(v.Type())
	for _, kv := range d.pairs(n, path, 0) {
		key := kv.key.Value
		child := joinKey(path, key)
		idx, ok := fields[key]
		if !ok {
			if path == "" && strings.HasPrefix(key, "x-") {
				continue
			}
			msg := "unknown key"
			if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.fail(kv.key.Line, child, "%s", msg)
			continue
		}
		d.lines[child] = kv.key.Line
		d.decode(kv.val, v.Field(idx), child)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "expected a mapping, got %s", describeNode(n))
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(n.Line, path, "internal error: unsupported map key type %s", t.Key())
		return
	}
	m := reflect.MakeMap(t)
	for _, kv := range d.pairs(n, path, 0) {
		key := kv.key.Value
		child := joinKey(path, key)
		d.lines[child] = kv.key.Line
		if strings.TrimSpace(key) == "" {
			d.fail(kv.key.Line, child, "empty key")
			continue
		}
		elem := newElem(t.Elem())
		d.decode(kv.val, elem, child)
		// Keep the entry even if its value was bad, so that references to
		// it (a role named by a command, say) do not fail as well.
		m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), elem)
	}
	v.Set(m)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "expected a list, got %s", describeNode(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, c := range n.Content {
		child := path + "[" + strconv.Itoa(i) + "]"
		d.lines[child] = c.Line
		elem := newElem(v.Type().Elem())
		d.decode(c, elem, child)
		s = reflect.Append(s, elem)
	}
	v.Set(s)
}

// pair is one key and its value in a mapping, after merge keys have been
// applied.
type pair struct{ key, val *yaml.Node }

// maxMergeDepth bounds chains of "<<" merges, which can be circular.
const maxMergeDepth = 16

// pairs lists a mapping's entries with YAML merge keys ("<<: *base")
// resolved: explicit keys win over merged ones, and earlier merge sources
// win over later ones. Duplicate and non-scalar keys are reported.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	var explicit []pair
	var merges []*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "keys must be single values, got %s", describeNode(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k.Line, joinKey(path, k.Value), "duplicate key (first set on line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		explicit = append(explicit, pair{k, val})
	}
	if len(merges) == 0 {
		return explicit
	}
	if depth >= maxMergeDepth {
		d.fail(n.Line, path, "merge keys (<<) nested too deeply or circular")
		return explicit
	}
	var merged []pair
	add := func(src *yaml.Node) {
		src = deref(src)
		if src == nil {
			return
		}
		if src.Kind != yaml.MappingNode {
			d.fail(src.Line, path, "a merge key (<<) needs a mapping or a list of mappings, got %s", describeNode(src))
			return
		}
		for _, kv := range d.pairs(src, path, depth+1) {
			if _, ok := seen[kv.key.Value]; !ok {
				seen[kv.key.Value] = kv.key
				merged = append(merged, kv)
			}
		}
	}
	for _, m := range merges {
		if dm := deref(m); dm != nil && dm.Kind == yaml.SequenceNode {
			for _, c := range dm.Content {
				add(c)
			}
		} else {
			add(m)
		}
	}
	return append(merged, explicit...)
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil
		}
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return deref(n.Content[0])
	}
	return n
}

// newElem returns a fresh, addressable value for a map or list entry, with
// the type's per-entry defaults applied.
func newElem(t reflect.Type) reflect.Value {
	v := reflect.New(t)
	if s, ok := v.Interface().(interface{ setDefaults() }); ok {
		s.setDefaults()
	}
	return v.Elem()
}

// structFields maps yaml key names to field indexes, and also returns the
// names in declaration order for "did you mean" suggestions.
func structFields(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends a mapping key to a path, quoting keys that are not plain
// words so that paths stay unambiguous.
func joinKey(path, key string) string {
	if !plainKeyRE.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest returns the candidate closest to a misspelt key, if any is close
// enough to be a plausible typo or a truncation ("password" for
// "password_hash").
func suggest(key string, candidates []string) string {
	key = strings.ToLower(key)
	best, bestDist := "", 0
	for _, c := range candidates {
		dist := editDistance(key, c)
		if best == "" || dist < bestDist {
			best, bestDist = c, dist
		}
	}
	if best != "" && bestDist <= 2 && bestDist*3 <= len(best) {
		return best
	}
	if len(key) >= 4 {
		for _, c := range candidates {
			if strings.HasPrefix(c, key) || strings.HasPrefix(key, c) {
				return c
			}
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var typeErrLineRE = regexp.MustCompile(`^line \d+: `)

// cleanYAMLError strips yaml.v3's own prefixes, since the problem already
// carries the file and line.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return typeErrLineRE.ReplaceAllString(te.Errors[0], "")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// safeNodeDecode is Node.Decode with yaml.v3's internal panics turned into
// errors.
func safeNodeDecode(n *yaml.Node, out any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode this value")
		}
	}()
	return n.Decode(out)
}
