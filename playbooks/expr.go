package playbooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// Limits on expressions. Playbooks are written by the team, but the data
// they work on (alert fields, users' arguments, API responses) is not, so
// evaluation must stay cheap whatever that data holds. Together with the
// language restrictions enforced by checker, these keep the work of one
// evaluation in proportion to the expression's size times its
// environment's, and no string it builds can grow past MaxRenderedLen.
const (
	// MaxExprLen is the longest expression between ${{ and }}, in bytes.
	MaxExprLen = 1024
	// MaxTemplateLen is the longest string that may contain ${{ }}.
	MaxTemplateLen = 16 << 10
	// MaxExprNodes bounds an expression's syntax tree.
	MaxExprNodes = 256
	// MaxRenderedLen is the longest string a template may render to.
	MaxRenderedLen = 1 << 20
)

// roots are the names an expression can start from.
var roots = []string{"inputs", "incident", "alert", "steps", "error", "env"}

// exprEnvTypes tells expr's type checker the shape of the environment. Only
// plain maps and strings: no Go value with methods is ever exposed.
var exprEnvTypes = map[string]any{
	"inputs":   map[string]any{},
	"incident": map[string]any{},
	"alert":    map[string]any{},
	"steps":    map[string]any{},
	"error":    "",
	"env":      map[string]string{},
	"result":   map[string]any{},
}

// allowedBuiltins are expr's built-in functions that playbooks may call.
// Left out: repeat and reduce (their output can grow exponentially in the
// expression's size); toJSON, join and replace, which ourFunctions replace
// with versions that refuse to build more than MaxRenderedLen bytes; and
// the bit operations, which have no use here.
var allowedBuiltins = map[string]bool{
	// Predicates: their bodies are restricted by checker.
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true,
	"count": true, "sum": true, "find": true, "findIndex": true, "findLast": true,
	"findLastIndex": true, "groupBy": true, "sortBy": true,
	// Plain functions.
	"len": true, "type": true, "abs": true, "ceil": true, "floor": true, "round": true,
	"int": true, "float": true, "string": true, "trim": true, "trimPrefix": true,
	"trimSuffix": true, "upper": true, "lower": true, "split": true, "splitAfter": true,
	"indexOf": true, "lastIndexOf": true,
	"hasPrefix": true, "hasSuffix": true, "max": true, "min": true, "mean": true,
	"median": true, "fromJSON": true, "toBase64": true, "fromBase64": true,
	"now": true, "duration": true, "date": true, "first": true, "last": true,
	"get": true, "take": true, "keys": true, "values": true, "toPairs": true,
	"fromPairs": true, "reverse": true, "uniq": true, "concat": true, "flatten": true,
	"sort": true,
}

// ourFunctions are functions this package adds to the language, or
// replaces with size-capped versions.
var ourFunctions = map[string]bool{"toJSON": true, "join": true, "replace": true}

// concatFunc is what string "+" is compiled to (see concatPatcher). Its
// name cannot be written in a playbook: checker only allows the names in
// ourFunctions.
const concatFunc = "__concat"

// exprOptions configure every compilation the same way.
var exprOptions = func() []expr.Option {
	opts := []expr.Option{
		expr.Env(exprEnvTypes),
		expr.DisableAllBuiltins(),
		expr.MaxNodes(MaxExprNodes),
		expr.Function("toJSON", toJSON, new(func(any) string)),
		expr.Function("join", join, new(func([]any, string) string), new(func([]any) string), new(func([]string, string) string), new(func([]string) string)),
		expr.Function("replace", replace, new(func(string, string, string) string)),
		expr.Function(concatFunc, concat, new(func(any, any) any)),
		expr.Patch(concatPatcher{}),
	}
	for name := range allowedBuiltins {
		opts = append(opts, expr.EnableBuiltin(name))
	}
	return opts
}()

// newParseConfig applies exprOptions to a parser configuration, so that
// our own check sees the tree exactly as the compiler will. It is made per
// compilation because expr caches types in it without locking, and
// playbooks may be loaded concurrently.
func newParseConfig() *conf.Config {
	c := conf.CreateNew()
	for _, o := range exprOptions {
		o(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	return c
}

// toJSON renders a value as compact JSON. expr's own version indents, which
// makes deeply nested data quadratically larger; this one also refuses to
// build more than MaxRenderedLen bytes.
func toJSON(params ...any) (any, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&limitWriter{w: &buf, n: MaxRenderedLen})
	enc.SetEscapeHTML(false)
	if err := enc.Encode(params[0]); err != nil {
		var tooBig *tooLargeError
		if errors.As(err, &tooBig) {
			return nil, tooBig
		}
		return nil, fmt.Errorf("toJSON: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// join joins a list's items, rendered as text, with an optional separator.
func join(params ...any) (any, error) {
	sep := ""
	if len(params) == 2 {
		sep, _ = params[1].(string)
	}
	var items []any
	switch l := params[0].(type) {
	case []any:
		items = l
	case []string:
		items = make([]any, len(l))
		for i, s := range l {
			items[i] = s
		}
	default:
		return nil, fmt.Errorf("join: expected a list, got %s", kindOf(params[0]))
	}
	var b strings.Builder
	for i, it := range items {
		s, err := toText(it)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			s = sep + s
		}
		if b.Len()+len(s) > MaxRenderedLen {
			return nil, &tooLargeError{}
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// replace is strings.ReplaceAll, refusing results over MaxRenderedLen
// before building them.
func replace(params ...any) (any, error) {
	s, _ := params[0].(string)
	old, _ := params[1].(string)
	repl, _ := params[2].(string)
	n := strings.Count(s, old)
	if n > 0 && len(s)+n*(len(repl)-len(old)) > MaxRenderedLen {
		return nil, &tooLargeError{}
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// concat is "+" for operands that may be strings: strings are joined if
// the result stays within MaxRenderedLen, anything else is added as expr
// does. Without the check, a chain of additions could build strings
// quadratically larger than its inputs before the final size check.
func concat(params ...any) (any, error) {
	a, aok := params[0].(string)
	b, bok := params[1].(string)
	if aok && bok {
		if len(a)+len(b) > MaxRenderedLen {
			return nil, &tooLargeError{}
		}
		return a + b, nil
	}
	return runtime.Add(params[0], params[1]), nil
}

// concatPatcher compiles "+" to concat wherever an operand may be a string.
// Where both operands are known numbers, "+" stays the fast built-in, and
// where their types are known not to mix, expr reports the mistake.
type concatPatcher struct{}

// Visit patches one node; expr calls it for every node of the tree.
func (concatPatcher) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "+" || !maybeString(b.Left.Type()) || !maybeString(b.Right.Type()) {
		return
	}
	ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: concatFunc}, Arguments: []ast.Node{b.Left, b.Right}})
}

func maybeString(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.String || t.Kind() == reflect.Interface
}

// tooLargeError reports a rendering that passed MaxRenderedLen.
type tooLargeError struct{}

// Error says which limit was passed.
func (*tooLargeError) Error() string {
	return fmt.Sprintf("result is too large (over %d bytes)", MaxRenderedLen)
}

// limitWriter fails once more than n bytes have been written.
type limitWriter struct {
	w *bytes.Buffer
	n int
}

// Write appends p, or fails if that would pass the limit.
func (l *limitWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.n {
		return 0, &tooLargeError{}
	}
	return l.w.Write(p)
}

// expression is one compiled ${{ }}.
type expression struct {
	src  string
	prog *vm.Program
	// dynamic is set when the expression reads steps, error or result,
	// which are unknown until the run gets there (a dry run shows such
	// expressions as written instead of evaluating them).
	dynamic bool
}

// scope says which names an expression may use where it appears. The
// loader builds one per place; a nil map means "anything goes" for that
// root, which is what the exported Compile uses.
type scope struct {
	inputs   bool
	inputSet map[string]bool
	inputOrd []string
	env      map[string]bool
	steps    bool
	// visible are the steps an expression here may read; later are the
	// ones that exist but run after (or are) the current step.
	visible map[string]*Step
	later   map[string]bool
	// self is the id of the step the expression belongs to.
	self    string
	errorOK bool
	result  bool
	// where names the place for "not available here" messages.
	where string
}

// anyScope accepts every root and every name under it.
var anyScope = &scope{inputs: true, steps: true, errorOK: true, result: true}

// exprProblem is a problem at a rune offset within an expression.
type exprProblem struct {
	at  int
	msg string
}

// compileExpr checks and compiles the text of one ${{ }}.
func compileExpr(src string, sc *scope) (*expression, []exprProblem) {
	if strings.TrimSpace(src) == "" {
		return nil, []exprProblem{{0, "empty expression"}}
	}
	if len(src) > MaxExprLen {
		return nil, []exprProblem{{0, fmt.Sprintf("expression is too long (%d bytes, the limit is %d)", len(src), MaxExprLen)}}
	}
	tree, err := parser.ParseWithConfig(src, newParseConfig())
	if err != nil {
		return nil, []exprProblem{fileProblem(err)}
	}
	c := &checker{sc: sc}
	c.walk(tree.Node, false)
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	prog, err := expr.Compile(src, exprOptions...)
	if err != nil {
		return nil, []exprProblem{fileProblem(err)}
	}
	return &expression{src: src, prog: prog, dynamic: c.dynamic}, nil
}

// fileProblem turns an expr error into a problem at its offset.
func fileProblem(err error) exprProblem {
	var fe *file.Error
	if errors.As(err, &fe) {
		return exprProblem{fe.From, fe.Message}
	}
	return exprProblem{0, err.Error()}
}

// checker walks an expression's tree enforcing the playbook rules: known
// names only, references to steps that exist and have already run, and the
// restrictions that keep evaluation bounded.
type checker struct {
	sc      *scope
	probs   []exprProblem
	dynamic bool
}

func (c *checker) errf(n ast.Node, format string, args ...any) {
	c.probs = append(c.probs, exprProblem{n.Location().From, fmt.Sprintf(format, args...)})
}

// walk checks n. inPred is true inside the body of a predicate such as
// map(list, …).
func (c *checker) walk(n ast.Node, inPred bool) {
	switch n := n.(type) {
	case nil:
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode,
		*ast.StringNode, *ast.BytesNode, *ast.ConstantNode, *ast.PointerNode:
	case *ast.IdentifierNode:
		c.ref(n, nil, inPred)
	case *ast.MemberNode, *ast.ChainNode:
		root, props, method := memberChain(n)
		if method {
			c.errf(n, "method calls are not allowed")
			return
		}
		if id, ok := root.(*ast.IdentifierNode); ok {
			c.ref(id, props, inPred)
		} else {
			c.walk(root, inPred)
		}
		for _, p := range props {
			c.walk(p, inPred)
		}
	case *ast.UnaryNode:
		c.walk(n.Node, inPred)
	case *ast.BinaryNode:
		switch n.Operator {
		case "..":
			c.errf(n, "ranges (a..b) are not allowed")
			return
		case "matches":
			if _, ok := n.Right.(*ast.StringNode); !ok {
				c.errf(n.Right, "the pattern after matches must be a literal string")
			}
		}
		c.walk(n.Left, inPred)
		c.walk(n.Right, inPred)
	case *ast.SliceNode:
		c.walk(n.Node, inPred)
		c.walk(n.From, inPred)
		c.walk(n.To, inPred)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || !ourFunctions[id.Value] {
			c.unknownFunc(n, n.Callee)
			return
		}
		for _, a := range n.Arguments {
			c.walk(a, inPred)
		}
	case *ast.BuiltinNode:
		c.builtin(n, inPred)
	case *ast.PredicateNode:
		if inPred {
			c.errf(n, "predicates cannot be nested")
			return
		}
		c.walk(n.Node, true)
	case *ast.ConditionalNode:
		c.walk(n.Cond, inPred)
		c.walk(n.Exp1, inPred)
		c.walk(n.Exp2, inPred)
	case *ast.VariableDeclaratorNode:
		c.errf(n, "let is not allowed")
	case *ast.SequenceNode:
		c.errf(n, "sequences (a; b) are not allowed")
	case *ast.ArrayNode:
		for _, e := range n.Nodes {
			c.walk(e, inPred)
		}
	case *ast.MapNode:
		for _, p := range n.Pairs {
			c.walk(p, inPred)
		}
	case *ast.PairNode:
		c.walk(n.Key, inPred)
		c.walk(n.Value, inPred)
	default:
		c.errf(n, "this kind of expression is not allowed")
	}
}

func (c *checker) unknownFunc(n ast.Node, callee ast.Node) {
	name := ""
	switch cl := callee.(type) {
	case *ast.IdentifierNode:
		name = cl.Value
	case *ast.MemberNode:
		c.errf(n, "method calls are not allowed")
		return
	}
	if name == "repeat" || name == "reduce" || name == "toJSON" {
		c.errf(n, "function %s is not allowed", name)
		return
	}
	names := make([]string, 0, len(allowedBuiltins)+len(ourFunctions))
	for k := range allowedBuiltins {
		names = append(names, k)
	}
	for k := range ourFunctions {
		names = append(names, k)
	}
	slices.Sort(names)
	c.errf(n, "unknown function %s%s", name, didYouMean(name, names))
}

// builtin checks a call of one of expr's functions.
func (c *checker) builtin(n *ast.BuiltinNode, inPred bool) {
	if !allowedBuiltins[n.Name] {
		c.errf(n, "function %s is not allowed", n.Name)
		return
	}
	for _, a := range n.Arguments {
		if _, isPred := a.(*ast.PredicateNode); isPred && inPred {
			c.errf(a, "predicates cannot be nested")
			continue
		}
		c.walk(a, inPred)
	}
}

// memberChain flattens a.b["c"].d into its root and properties.
func memberChain(n ast.Node) (root ast.Node, props []ast.Node, method bool) {
	for {
		switch m := n.(type) {
		case *ast.MemberNode:
			method = method || m.Method
			props = append(props, m.Property)
			n = m.Node
		case *ast.ChainNode:
			n = m.Node
		default:
			slices.Reverse(props)
			return n, props, method
		}
	}
}

// literalName returns a property's name when it is a literal.
func literalName(p ast.Node) (string, bool) {
	if s, ok := p.(*ast.StringNode); ok {
		return s.Value, true
	}
	return "", false
}

// ref checks a name and the literal properties read from it.
func (c *checker) ref(id *ast.IdentifierNode, props []ast.Node, inPred bool) {
	sc := c.sc
	name := id.Value
	if inPred {
		c.errf(id, "inside a predicate only the element (#, .field, #index) and literals can be used, not %s", name)
		return
	}
	switch name {
	case "incident", "alert":
	case "inputs":
		if !sc.inputs {
			c.errf(id, "inputs are not available %s", sc.where)
			return
		}
		if sc.inputSet == nil || len(props) == 0 {
			return
		}
		if in, ok := literalName(props[0]); ok && !sc.inputSet[in] {
			c.errf(props[0], "inputs.%s is not declared under inputs:%s", in, didYouMean(in, sc.inputOrd))
		}
	case "env":
		if sc.env == nil || len(props) == 0 {
			return
		}
		if v, ok := literalName(props[0]); ok && !sc.env[v] {
			c.errf(props[0], "env.%s is not listed in playbook_env (only the variables named there are visible)", v)
		}
	case "error":
		c.dynamic = true
		if !sc.errorOK {
			c.errf(id, "error is only set in on_failure steps (use steps.<id>.error with continue_on_error)")
		}
	case "result":
		c.dynamic = true
		if !sc.result {
			c.errf(id, "result is only available in a step's outputs:")
		}
	case "steps":
		c.dynamic = true
		if !sc.steps {
			c.errf(id, "steps are not available %s", sc.where)
			return
		}
		c.stepRef(id, props)
	default:
		c.errf(id, "unknown name %s (expressions can use %s)%s", name, strings.Join(roots, ", "), didYouMean(name, roots))
	}
}

// stepFields are what steps.<id> holds.
var stepFields = []string{"outputs", "status", "error"}

func (c *checker) stepRef(id *ast.IdentifierNode, props []ast.Node) {
	sc := c.sc
	if sc.visible == nil || len(props) == 0 {
		return
	}
	sid, ok := literalName(props[0])
	if !ok {
		c.errf(props[0], "name the step literally, as steps.<id>")
		return
	}
	st, ok := sc.visible[sid]
	if !ok {
		if sid == sc.self && sid != "" {
			c.errf(props[0], "steps.%s is this step: it cannot read its own results (in outputs:, use result)", sid)
			return
		}
		if sc.later[sid] {
			c.errf(props[0], "steps.%s has not run yet here: a step can only use the results of the steps before it", sid)
			return
		}
		ids := make([]string, 0, len(sc.visible))
		for k := range sc.visible {
			ids = append(ids, k)
		}
		slices.Sort(ids)
		c.errf(props[0], "no step has id %q%s", sid, didYouMean(sid, ids))
		return
	}
	if len(props) < 2 {
		return
	}
	field, ok := literalName(props[1])
	if !ok {
		return
	}
	if !slices.Contains(stepFields, field) {
		c.errf(props[1], "steps.%s.%s: a step has outputs, status and error%s", sid, field, didYouMean(field, stepFields))
		return
	}
	if field != "outputs" || len(props) < 3 {
		return
	}
	out, ok := literalName(props[2])
	if !ok {
		return
	}
	known := st.outputNames()
	if len(known) > 0 && !slices.Contains(known, out) {
		what := "step " + sid
		if st.Uses != "" {
			what = st.Uses
		}
		c.errf(props[2], "steps.%s.outputs.%s: %s has no output %q (it has %s)", sid, out, what, out, strings.Join(known, ", "))
	}
}

// outputNames lists the outputs a step is known to have, or nil when the
// action does not declare them (then any name is accepted).
func (s *Step) outputNames() []string {
	var names []string
	switch {
	case s.Approval != nil:
		names = append(names, ApprovalOutputs...)
	case len(s.Action.Outputs) > 0:
		for _, f := range s.Action.Outputs {
			names = append(names, f.Name)
		}
	case len(s.Outputs) == 0:
		return nil
	}
	for k := range s.Outputs {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}
