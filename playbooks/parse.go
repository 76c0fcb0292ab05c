package playbooks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/warroom-bot/warroom/connectors"
)

// Options configure loading.
type Options struct {
	// Spec looks up a connector action's declared spec, as registered in a
	// connectors.Registry (see [RegistrySpec]). Built-in actions are found
	// without it. Nil means only built-in actions exist.
	Spec func(name string) (connectors.Spec, bool)
	// Names lists the connector actions, for "did you mean" hints. It is
	// optional.
	Names func() []string
	// Env lists the environment variables playbooks may read as env.NAME:
	// config playbook_env. Any other env.NAME is an error, so a typo shows
	// at load time rather than as an empty URL during an incident.
	Env []string
}

// RegistrySpec adapts anything with a connectors.Registry's Lookup method
// to Options.Spec. It is a function type rather than the registry itself so
// that this package owns the one method it needs and tests can pass a map.
func RegistrySpec(r interface {
	Lookup(name string) (connectors.Action, bool)
}) func(string) (connectors.Spec, bool) {
	return func(name string) (connectors.Spec, bool) {
		a, ok := r.Lookup(name)
		if !ok {
			return connectors.Spec{}, false
		}
		return a.Spec(), true
	}
}

// builtinCommands are the slash-command words warroom answers itself; a
// playbook cannot take them with on.command.
var builtinCommands = []string{"incident", "enrich", "playbook"}

// severities are the normalised alert severities.
var severities = []string{"critical", "high", "medium", "low", "info"}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	commandRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	// identRE is the shape of step ids, input and output names: they are
	// read as steps.<id> and inputs.<name> in expressions, where a "-"
	// would be a minus sign.
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

var (
	topKeys      = []string{"name", "description", "on", "inputs", "steps", "on_failure"}
	onKeys       = []string{"command", "alert"}
	alertKeys    = []string{"source", "severity", "labels"}
	inputKeys    = []string{"type", "required", "default", "description"}
	stepKeys     = []string{"id", "name", "uses", "with", "if", "approval", "retry", "timeout", "continue_on_error", "outputs"}
	approvalKeys = []string{"roles", "message", "timeout", "required", "escalate", "on_timeout"}
	escalateKeys = []string{"after", "roles"}
	retryKeys    = []string{"attempts", "backoff"}
	inputTypes   = []string{string(connectors.String), string(connectors.Int), string(connectors.Bool), string(connectors.Duration)}
)

// loader holds the state of parsing one file.
type loader struct {
	file   string
	lines  []string
	opts   Options
	env    map[string]bool
	diags  Diagnostics
	budget int
	pb     *Playbook
	// typos marks mappings that had an unknown key (see missing).
	typos map[*yaml.Node]bool
}

// Parse reads one playbook held in memory. file is used in diagnostics and
// as Playbook.File. It returns the playbook, or nil and every problem found,
// sorted; checks across files (duplicate names and commands) are left to
// [Load] and [NewSet].
func Parse(file string, data []byte, opts Options) (*Playbook, Diagnostics) {
	l := parse(file, data, opts)
	if len(l.diags) > 0 {
		return nil, l.diags.sorted()
	}
	return l.pb, nil
}

// parse does the work of Parse, keeping the partial playbook and the
// positions that checks across files need.
func parse(file string, data []byte, opts Options) *loader {
	l := &loader{file: file, opts: opts, budget: maxVisits, env: map[string]bool{}}
	for _, e := range opts.Env {
		l.env[e] = true
	}
	sum := sha256.Sum256(data)
	l.pb = &Playbook{File: file, Digest: hex.EncodeToString(sum[:]), steps: map[string]*Step{}}
	if len(data) > MaxFileSize {
		l.diags = append(l.diags, Diagnostic{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("the file is too large (%d bytes, the limit is %d)", len(data), MaxFileSize)})
		return l
	}
	l.lines = strings.Split(string(data), "\n")
	root := l.decodeYAML(data)
	if len(l.diags) > 0 {
		return l
	}
	if root == nil || isNull(root) {
		l.diags = append(l.diags, Diagnostic{File: file, Line: 1, Col: 1, Msg: "the file is empty: a playbook needs at least a name and steps"})
		return l
	}
	l.playbook(root)
	return l
}

func (l *loader) playbook(root *yaml.Node) {
	pb := l.pb
	pb.Pos = Pos{l.file, root.Line, root.Column}
	f, ok := l.fields(root, "", topKeys...)
	if !ok {
		return
	}
	if e, ok := f["name"]; !ok {
		l.missing(root, "name", "required: every playbook needs a name")
	} else if s, ok := l.str(e.val, "name"); ok {
		if !nameRE.MatchString(s) {
			l.errAt(e.val, "name", "%q is not a valid name: use lower-case letters, digits, - and _, starting with a letter or digit", truncate(s, 40))
		} else {
			pb.Name = s
			l.pb.namePos = Pos{l.file, e.val.Line, e.val.Column}
		}
	}
	if e, ok := f["description"]; ok {
		pb.Description, _ = l.text(e.val, "description")
	}
	if e, ok := f["on"]; ok {
		l.trigger(e.val)
	}
	if e, ok := f["inputs"]; ok {
		l.inputs(e.val)
	}
	steps, hasSteps := f["steps"]
	if !hasSteps {
		l.missing(root, "steps", "required: a playbook needs at least one step")
	}
	var stepNodes, failNodes []*yaml.Node
	if hasSteps {
		stepNodes = l.list(steps.val, "steps")
		if stepNodes != nil && len(stepNodes) == 0 {
			l.errAt(steps.val, "steps", "required: a playbook needs at least one step")
		}
	}
	if e, ok := f["on_failure"]; ok {
		failNodes = l.list(e.val, "on_failure")
	}
	l.steps(stepNodes, failNodes)
}

// list reads a sequence, following aliases in its items.
func (l *loader) list(n *yaml.Node, path string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		l.errAt(n, path, "expected a list of steps, got %s", describe(n))
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		if c = l.visit(c); c != nil {
			out = append(out, c)
		}
	}
	return out
}

func (l *loader) trigger(n *yaml.Node) {
	f, ok := l.fields(n, "on", onKeys...)
	if !ok {
		return
	}
	if e, ok := f["command"]; ok {
		if s, ok := l.str(e.val, "on.command"); ok {
			word := strings.TrimPrefix(s, "/")
			switch {
			case !commandRE.MatchString(word):
				l.errAt(e.val, "on.command", "%q is not a valid command word: use up to 32 lower-case letters, digits, - and _, starting with a letter", truncate(s, 40))
			case slices.Contains(builtinCommands, word):
				l.errAt(e.val, "on.command", "/%s is a built-in command; choose another word", word)
			default:
				l.pb.On.Command = word
				l.pb.commandPos = Pos{l.file, e.val.Line, e.val.Column}
			}
		}
	}
	e, ok := f["alert"]
	if !ok {
		return
	}
	af, ok := l.fields(e.val, "on.alert", alertKeys...)
	if !ok {
		return
	}
	good := !l.typos[e.val]
	m := &AlertMatch{}
	if s, ok := af["source"]; ok {
		m.Sources, ok = l.words(s.val, "on.alert.source")
		good = good && ok
	}
	if s, ok := af["severity"]; ok {
		sev, ok := l.words(s.val, "on.alert.severity")
		good = good && ok
		for i, v := range sev {
			if !slices.Contains(severities, v) {
				p := "on.alert.severity"
				at := s.val
				if s.val.Kind == yaml.SequenceNode && i < len(s.val.Content) {
					p += "[" + strconv.Itoa(i) + "]"
					at = s.val.Content[i]
				}
				l.errAt(at, p, "unknown severity %q; expected one of %s", v, strings.Join(severities, ", "))
				good = false
			}
		}
		m.Severities = sev
	}
	if s, ok := af["labels"]; ok {
		es, ok := l.entries(s.val, "on.alert.labels")
		good = good && ok
		m.Labels = map[string]string{}
		for _, kv := range es {
			v := l.visit(kv.val)
			if v == nil {
				continue
			}
			if t, ok := l.text(v, joinPath("on.alert.labels", kv.key.Value)); ok {
				m.Labels[kv.key.Value] = t
			} else {
				good = false
			}
		}
	}
	if len(m.Sources) == 0 && len(m.Severities) == 0 && len(m.Labels) == 0 {
		if good {
			l.errAt(e.val, "on.alert", "name at least one of source, severity or labels: an empty match would start this playbook on every alert")
		}
		return
	}
	l.pb.On.Alert = m
}

func (l *loader) inputs(n *yaml.Node) {
	es, ok := l.entries(n, "inputs")
	if !ok {
		return
	}
	defScope := &scope{env: l.env, where: "in an input's default (defaults can use alert, incident and env)"}
	for _, e := range es {
		name := e.key.Value
		path := joinPath("inputs", name)
		if !identRE.MatchString(name) {
			l.errAt(e.key, path, "%q is not a valid input name: use letters, digits and _, starting with a letter (it is read as inputs.%s)", truncate(name, 40), truncate(name, 40))
			continue
		}
		in := Input{Name: name, Type: connectors.String}
		v := l.visit(e.val)
		if v == nil {
			continue
		}
		if !isNull(v) {
			f, ok := l.fields(v, path, inputKeys...)
			if !ok {
				continue
			}
			if t, ok := f["type"]; ok {
				if s, ok := l.str(t.val, path+".type"); ok {
					if slices.Contains(inputTypes, s) {
						in.Type = connectors.Type(s)
					} else {
						l.errAt(t.val, path+".type", "unknown type %q; expected one of %s", s, strings.Join(inputTypes, ", "))
					}
				}
			}
			if r, ok := f["required"]; ok {
				in.Required, _ = l.boolean(r.val, path+".required")
			}
			if d, ok := f["description"]; ok {
				in.Description, _ = l.text(d.val, path+".description")
			}
			if d, ok := f["default"]; ok {
				l.inputDefault(&in, d.val, path+".default", defScope)
			}
		}
		l.pb.Inputs = append(l.pb.Inputs, in)
	}
}

func (l *loader) inputDefault(in *Input, n *yaml.Node, path string, sc *scope) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.Contains(n.Value, "${{") {
		in.DefaultExpr, _ = l.template(n, path, sc)
		return
	}
	bad := func(want, tag string) {
		l.errAt(n, path, "expected %s, got %s%s", want, describe(n), unquoteHint(n, tag))
	}
	if n.Kind != yaml.ScalarNode {
		bad("a single value", "")
		return
	}
	switch in.Type {
	case connectors.String:
		if n.ShortTag() != "!!str" {
			l.errAt(n, path, "expected text, got %s (put it in quotes)", describe(n))
			return
		}
		in.Default = n.Value
	case connectors.Int:
		var i int
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			bad("a whole number", "!!int")
			return
		}
		in.Default = i
	case connectors.Bool:
		b, ok := l.boolean(n, path)
		if ok {
			in.Default = b
		}
	case connectors.Duration:
		if _, ok := l.duration(n, path); ok {
			in.Default = n.Value
		}
	}
}

// template compiles a scalar that may hold ${{ }}, reporting problems at
// their place inside the scalar.
func (l *loader) template(n *yaml.Node, path string, sc *scope) (*Template, bool) {
	t, probs := compileTemplate(n.Value, sc)
	for _, p := range probs {
		l.errIn(n, p.at, path, p.msg)
	}
	return t, len(probs) == 0
}

// stepScope builds the scope of an expression in a step that sees the
// steps listed in visible; later are the ids it cannot see yet.
func (l *loader) stepScope(visible map[string]*Step, later map[string]bool, onFailure bool) *scope {
	set := map[string]bool{}
	var ord []string
	for _, in := range l.pb.Inputs {
		set[in.Name] = true
		ord = append(ord, in.Name)
	}
	return &scope{
		inputs: true, inputSet: set, inputOrd: ord, env: l.env,
		steps: true, visible: maps.Clone(visible), later: maps.Clone(later),
		errorOK: onFailure,
	}
}

// steps parses the main and on_failure lists. Ids are collected first, so
// that a reference to a later step can be told apart from a typo.
func (l *loader) steps(main, fail []*yaml.Node) {
	type idInfo struct {
		id   string
		pos  *yaml.Node
		path string
	}
	ids := func(nodes []*yaml.Node, list string) []idInfo {
		out := make([]idInfo, len(nodes))
		for i, n := range nodes {
			out[i].id = fmt.Sprintf("%s[%d]", list, i)
			if n.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == "id" {
					v := n.Content[j+1]
					for k := 0; k < 32 && v.Kind == yaml.AliasNode && v.Alias != nil; k++ {
						v = v.Alias
					}
					if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && identRE.MatchString(v.Value) {
						out[i] = idInfo{v.Value, v, fmt.Sprintf("%s[%d].id", list, i)}
					}
				}
			}
		}
		return out
	}
	mainIDs, failIDs := ids(main, "steps"), ids(fail, "on_failure")
	first := map[string]*yaml.Node{}
	dup := map[*yaml.Node]bool{}
	for _, info := range slices.Concat(mainIDs, failIDs) {
		if info.pos == nil {
			continue
		}
		if f, ok := first[info.id]; ok {
			l.errAt(info.pos, info.path, "step id %q is used twice (first on line %d)", info.id, f.Line)
			dup[info.pos] = true
			continue
		}
		first[info.id] = info.pos
	}
	visible := map[string]*Step{}
	later := map[string]bool{}
	for _, info := range slices.Concat(mainIDs, failIDs) {
		later[info.id] = true
	}
	parseList := func(nodes []*yaml.Node, infos []idInfo, list string, onFailure bool) []*Step {
		var out []*Step
		for i, n := range nodes {
			path := fmt.Sprintf("%s[%d]", list, i)
			s := &Step{ID: infos[i].id, OnFailure: onFailure, Index: i, pb: l.pb, Pos: Pos{l.file, n.Line, n.Column}}
			sc := l.stepScope(visible, later, onFailure)
			sc.self = s.ID
			if l.step(n, path, s, sc) {
				out = append(out, s)
			}
			if !dup[infos[i].pos] {
				visible[s.ID] = s
				l.pb.steps[s.ID] = s
			}
			delete(later, s.ID)
		}
		return out
	}
	l.pb.Steps = parseList(main, mainIDs, "steps", false)
	l.pb.OnFailure = parseList(fail, failIDs, "on_failure", true)
	l.checkApprovals(main, l.pb.Steps, "steps")
	l.checkApprovals(fail, l.pb.OnFailure, "on_failure")
}

// step parses one step. It reports false if the step is unusable.
func (l *loader) step(n *yaml.Node, path string, s *Step, sc *scope) bool {
	sc.where = "in " + path
	f, ok := l.fields(n, path, stepKeys...)
	if !ok {
		return false
	}
	good := true
	if e, ok := f["id"]; ok {
		if id, ok := l.str(e.val, path+".id"); ok && !identRE.MatchString(id) {
			l.errAt(e.val, path+".id", "%q is not a valid id: use letters, digits and _, starting with a letter (it is read as steps.%s)", truncate(id, 40), truncate(id, 40))
		}
	}
	if e, ok := f["name"]; ok {
		if _, ok := l.str(e.val, path+".name"); ok {
			s.Name, _ = l.template(e.val, path+".name", sc)
		}
	}
	uses, hasUses := f["uses"]
	appr, hasAppr := f["approval"]
	none := hasAppr && appr.val.Kind == yaml.ScalarNode && appr.val.ShortTag() == "!!str" && appr.val.Value == "none"
	switch {
	case hasUses && hasAppr && !none:
		l.errAt(appr.key, path+".approval", "a step has either uses: or approval:, not both: put the approval in a step of its own before this one (or write approval: none to waive it)")
		good = false
	case !hasUses && none:
		l.errAt(appr.val, path+".approval", "approval: none only makes sense on a step with uses:")
		good = false
	case !hasUses && !hasAppr:
		l.errAt(n, path, "a step needs uses: (an action to run) or approval: (a gate for leads to pass)")
		good = false
	}
	if hasUses {
		if !l.uses(uses.val, path+".uses", s) {
			good = false
		}
		s.NoApproval = none
		if hasAppr && !none {
			// Already reported; do not also parse it as a gate.
			hasAppr = false
		}
	}
	if hasAppr && !none {
		a, ok := l.approval(appr.val, path+".approval", sc)
		s.Approval = a
		good = good && ok
	}
	if e, ok := f["with"]; ok {
		if !hasUses {
			l.errAt(e.key, path+".with", "with: gives inputs to an action: it needs uses:")
		} else if s.Uses != "" {
			l.with(e.val, path+".with", s, sc)
		}
	} else if s.Uses != "" {
		for _, fld := range s.Action.Inputs {
			if fld.Required && fld.Default == nil {
				l.errAt(uses.val, joinPath(path+".with", fld.Name), "required input missing")
			}
		}
	}
	if e, ok := f["if"]; ok {
		s.If = l.condition(e.val, path+".if", sc)
	}
	gate := func(key, instead string) {
		if e, ok := f[key]; ok && s.Approval != nil {
			l.errAt(e.key, path+"."+key, "not allowed on an approval step: %s", instead)
		}
	}
	gate("retry", "an approval is asked once")
	gate("timeout", "use approval.timeout")
	gate("continue_on_error", "a denied approval must stop the run")
	if e, ok := f["retry"]; ok && s.Approval == nil {
		s.Retry = l.retry(e.val, path+".retry")
	}
	if s.Retry.Attempts == 0 {
		s.Retry.Attempts = 1
	}
	if e, ok := f["timeout"]; ok && s.Approval == nil {
		s.Timeout, _ = l.duration(e.val, path+".timeout")
	}
	if e, ok := f["continue_on_error"]; ok && s.Approval == nil {
		s.ContinueOnError, _ = l.boolean(e.val, path+".continue_on_error")
	}
	if e, ok := f["outputs"]; ok {
		osc := *sc
		osc.result = true
		s.Outputs = l.outputs(e.val, path+".outputs", &osc)
	}
	return good
}

// uses resolves the action a step calls.
func (l *loader) uses(n *yaml.Node, path string, s *Step) bool {
	name, ok := l.str(n, path)
	if !ok {
		return false
	}
	spec, ok := builtinSpecs[name]
	if !ok && l.opts.Spec != nil {
		spec, ok = l.opts.Spec(name)
	}
	if !ok {
		var names []string
		for k := range builtinSpecs {
			names = append(names, k)
		}
		if l.opts.Names != nil {
			names = append(names, l.opts.Names()...)
		}
		slices.Sort(names)
		l.errAt(n, path, "unknown action %q%s", truncate(name, 60), didYouMean(name, names))
		return false
	}
	s.Uses, s.Action = name, spec
	return true
}

// with compiles a step's inputs and checks them against the action's spec.
func (l *loader) with(n *yaml.Node, path string, s *Step, sc *scope) {
	es, ok := l.entries(n, path)
	if !ok {
		return
	}
	s.With = map[string]Value{}
	var names []string
	for _, fld := range s.Action.Inputs {
		names = append(names, fld.Name)
	}
	for _, e := range es {
		key := e.key.Value
		p := joinPath(path, key)
		fld, ok := s.Action.Input(key)
		if !ok {
			list := "it takes no inputs"
			if len(names) > 0 {
				list = "it takes " + strings.Join(names, ", ")
			}
			l.errAt(e.key, p, "unknown input for %s%s; %s", s.Uses, didYouMean(key, names), list)
			if l.typos == nil {
				l.typos = map[*yaml.Node]bool{}
			}
			l.typos[n] = true
			continue
		}
		v := l.visit(e.val)
		if v == nil {
			continue
		}
		if isNull(v) {
			if fld.Required {
				l.errAt(v, p, "required input is empty")
			}
			continue
		}
		val, ok := l.value(v, p, sc)
		if !ok {
			continue
		}
		l.staticType(v, val, fld, p)
		s.With[key] = val
		s.withOrder = append(s.withOrder, key)
	}
	for _, fld := range s.Action.Inputs {
		if _, given := s.With[fld.Name]; given || !fld.Required || fld.Default != nil {
			continue
		}
		given := false
		for _, e := range es {
			given = given || e.key.Value == fld.Name
		}
		if !given {
			l.missing(n, joinPath(path, fld.Name), "required input missing")
		}
	}
}

// typeWords describe connector types in messages.
var typeWords = map[connectors.Type]string{
	connectors.String:   "text",
	connectors.Int:      "a whole number",
	connectors.Bool:     "true or false",
	connectors.Duration: "a duration such as 30s",
	connectors.Map:      "a mapping",
	connectors.List:     "a list",
}

// staticType checks a with: value against the input's declared type where
// that is known without running anything: literals, and text with ${{ }}
// inside, which always renders to a string. A lone ${{ }} is typed at run
// time and checked then.
func (l *loader) staticType(n *yaml.Node, v Value, fld connectors.Field, path string) {
	want, ok := typeWords[fld.Type]
	if !ok {
		return // connectors.Any, or a type this package does not know
	}
	if v.kind == templateValue {
		if !v.tmpl.single && fld.Type != connectors.String && fld.Type != connectors.Duration {
			l.errAt(n, path, "expected %s, but text around ${{ }} always makes a string", want)
		}
		return
	}
	good := false
	switch fld.Type {
	case connectors.String:
		good = n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str"
	case connectors.Int:
		good = n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int"
	case connectors.Bool:
		good = n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool"
	case connectors.Duration:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
			l.duration(n, path)
			return
		}
	case connectors.Map:
		good = n.Kind == yaml.MappingNode
	case connectors.List:
		good = n.Kind == yaml.SequenceNode
	}
	if !good {
		hint := ""
		if fld.Type == connectors.String && n.Kind == yaml.ScalarNode {
			hint = " (put it in quotes)"
		}
		l.errAt(n, path, "expected %s, got %s%s", want, describe(n), hint)
	}
}

// value compiles a with: or outputs: value.
func (l *loader) value(n *yaml.Node, path string, sc *scope) (Value, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			if strings.Contains(n.Value, "${{") {
				t, ok := l.template(n, path, sc)
				return Value{kind: templateValue, tmpl: t}, ok
			}
			return Value{lit: n.Value}, true
		case "!!int", "!!float", "!!bool", "!!null":
			var x any
			if err := n.Decode(&x); err != nil {
				l.errAt(n, path, "cannot read %s: %v", describe(n), err)
				return Value{}, false
			}
			if u, ok := x.(uint64); ok {
				l.errAt(n, path, "the number %d is too large", u)
				return Value{}, false
			}
			if i, ok := x.(int64); ok && int64(int(i)) == i {
				x = int(i)
			}
			return Value{lit: x}, true
		}
		l.errAt(n, path, "unsupported YAML tag %s", truncate(n.Tag, 20))
		return Value{}, false
	case yaml.SequenceNode:
		v := Value{kind: listValue}
		ok := true
		for i, c := range n.Content {
			c = l.visit(c)
			if c == nil {
				return Value{}, false
			}
			e, good := l.value(c, path+"["+strconv.Itoa(i)+"]", sc)
			ok = ok && good
			v.list = append(v.list, e)
		}
		return v, ok
	case yaml.MappingNode:
		es, ok := l.entries(n, path)
		if !ok {
			return Value{}, false
		}
		v := Value{kind: mapValue}
		for _, e := range es {
			c := l.visit(e.val)
			if c == nil {
				return Value{}, false
			}
			x, good := l.value(c, joinPath(path, e.key.Value), sc)
			ok = ok && good
			v.keys = append(v.keys, e.key.Value)
			v.vals = append(v.vals, x)
		}
		return v, ok
	}
	l.errAt(n, path, "unexpected %s", describe(n))
	return Value{}, false
}

// condition compiles an if:. It may be written as ${{ expr }} or as a bare
// expression; true and false are accepted as constants.
func (l *loader) condition(n *yaml.Node, path string, sc *scope) *Template {
	if n.Kind != yaml.ScalarNode {
		l.errAt(n, path, "expected an expression such as ${{ steps.check.status == 'succeeded' }}, got %s", describe(n))
		return nil
	}
	switch n.ShortTag() {
	case "!!bool":
		t, _ := compileTemplate("${{ "+n.Value+" }}", sc)
		return t
	case "!!str":
	default:
		l.errAt(n, path, "expected an expression that is true or false, got %s", describe(n))
		return nil
	}
	if !strings.Contains(n.Value, "${{") {
		// A bare expression: compile it as if it were wrapped, keeping
		// offsets right for messages.
		e, probs := compileExpr(n.Value, sc)
		for _, p := range probs {
			l.errIn(n, runeOffset(n.Value, p.at), path, p.msg)
		}
		if e == nil {
			return nil
		}
		return l.checkBool(n, path, &Template{src: n.Value, parts: []tmplPart{{e: e}}, single: true})
	}
	t, ok := l.template(n, path, sc)
	if !ok {
		return nil
	}
	if !t.single {
		l.errAt(n, path, "must be one expression, such as ${{ steps.check.status == 'succeeded' }}, not text")
		return nil
	}
	return l.checkBool(n, path, t)
}

// checkBool refuses conditions whose type is known and is not bool.
func (l *loader) checkBool(n *yaml.Node, path string, t *Template) *Template {
	typ := t.parts[0].e.prog.Node().Type()
	if typ != nil && typ.Kind() != reflect.Bool && typ.Kind() != reflect.Interface {
		l.errAt(n, path, "the expression gives %s, not true or false", typ)
		return nil
	}
	return t
}

func (l *loader) retry(n *yaml.Node, path string) Retry {
	f, ok := l.fields(n, path, retryKeys...)
	r := Retry{Attempts: 1}
	if !ok {
		return r
	}
	e, ok := f["attempts"]
	if !ok {
		l.missing(n, path+".attempts", "required: how many attempts in all")
	} else if a, ok := l.integer(e.val, path+".attempts", 1, 10); ok {
		r.Attempts = a
	}
	if e, ok := f["backoff"]; ok {
		r.Backoff, _ = l.duration(e.val, path+".backoff")
	}
	return r
}

func (l *loader) approval(n *yaml.Node, path string, sc *scope) (*Approval, bool) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		l.errAt(n, path, "expected a mapping with roles:, or none, got %s", describe(n))
		return nil, false
	}
	f, ok := l.fields(n, path, approvalKeys...)
	if !ok {
		return nil, false
	}
	a := &Approval{Required: 1, OnTimeout: Deny}
	good := true
	if e, ok := f["roles"]; !ok {
		l.missing(n, path+".roles", "required: which roles may approve")
		good = false
	} else {
		a.Roles, ok = l.words(e.val, path+".roles")
		good = good && ok
	}
	if e, ok := f["message"]; ok {
		if _, ok := l.str(e.val, path+".message"); ok {
			a.Message, _ = l.template(e.val, path+".message", sc)
		}
	}
	if e, ok := f["timeout"]; ok {
		a.Timeout, _ = l.duration(e.val, path+".timeout")
	}
	if e, ok := f["required"]; ok {
		if r, ok := l.integer(e.val, path+".required", 1, 10); ok {
			a.Required = r
		}
	}
	if e, ok := f["on_timeout"]; ok {
		if s, ok := l.str(e.val, path+".on_timeout"); ok {
			switch Decision(s) {
			case Deny, Approve:
				a.OnTimeout = Decision(s)
			default:
				l.errAt(e.val, path+".on_timeout", "expected deny or approve, got %q", truncate(s, 40))
			}
		}
	}
	if e, ok := f["escalate"]; ok {
		ef, ok := l.fields(e.val, path+".escalate", escalateKeys...)
		if ok {
			esc := &Escalation{}
			if x, ok := ef["after"]; !ok {
				l.missing(e.val, path+".escalate.after", "required: how long to wait before escalating")
			} else if d, ok := l.duration(x.val, path+".escalate.after"); ok {
				esc.After = d
				if a.Timeout > 0 && d >= a.Timeout {
					l.errAt(x.val, path+".escalate.after", "must be shorter than the approval's timeout (%s), or the escalation never happens", shortDuration(a.Timeout))
				}
			}
			if x, ok := ef["roles"]; !ok {
				l.missing(e.val, path+".escalate.roles", "required: which roles to add")
			} else {
				esc.Roles, _ = l.words(x.val, path+".escalate.roles")
			}
			a.Escalate = esc
		}
	}
	return a, good
}

func (l *loader) outputs(n *yaml.Node, path string, sc *scope) map[string]Value {
	es, ok := l.entries(n, path)
	if !ok {
		return nil
	}
	out := map[string]Value{}
	for _, e := range es {
		p := joinPath(path, e.key.Value)
		if !identRE.MatchString(e.key.Value) {
			l.errAt(e.key, p, "%q is not a valid output name: use letters, digits and _, starting with a letter", truncate(e.key.Value, 40))
			continue
		}
		v := l.visit(e.val)
		if v == nil {
			continue
		}
		if val, ok := l.value(v, p, sc); ok {
			out[e.key.Value] = val
		}
	}
	return out
}

// checkApprovals enforces that a destructive action runs only after an
// approval step that cannot be skipped, unless the step waives it.
func (l *loader) checkApprovals(nodes []*yaml.Node, steps []*Step, list string) {
	approved, conditional := false, false
	for _, s := range steps {
		if s.Approval != nil {
			if s.If == nil {
				approved = true
			} else {
				conditional = true
			}
			continue
		}
		if !s.Action.Destructive || s.NoApproval || approved {
			continue
		}
		at := nodes[s.Index]
		for j := 0; j+1 < len(at.Content); j += 2 {
			if at.Content[j].Value == "uses" {
				at = at.Content[j+1]
				break
			}
		}
		path := fmt.Sprintf("%s[%d]", list, s.Index)
		if conditional {
			l.errAt(at, path, "%s is destructive, and the approval step before it has an if: and may be skipped: make the approval unconditional, or add approval: none to this step", s.Uses)
		} else {
			l.errAt(at, path, "%s is destructive: put an approval step before it, or add approval: none to run it without one", s.Uses)
		}
	}
}
