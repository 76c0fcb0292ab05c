package playbooks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors"
)

// MaxInputLen is the longest value one input may have. Inputs come from
// chat, where a paste can be huge; a playbook's inputs are names, hosts
// and reasons.
const MaxInputLen = 8 << 10

// UsageError is a command that does not fit the playbook's inputs. Its
// message says what is wrong and then how the command is used; nothing has
// run. The command layer shows it to the user as it is.
type UsageError struct {
	// Problem says what is wrong with this command; empty for a plain
	// request for help.
	Problem string
	// Usage is the playbook's usage text (see [Playbook.Usage]).
	Usage string
}

// Error returns the problem and the usage text on separate lines.
func (e *UsageError) Error() string {
	if e.Problem == "" {
		return e.Usage
	}
	return e.Problem + "\n" + e.Usage
}

// SplitArgs separates the words of a command into key=value arguments and
// positional words. A word counts as key=value only when key is one of the
// playbook's inputs, so that a reason such as "see a=b" is left alone.
// Quoting is the command parser's business: words arrive already split.
func (pb *Playbook) SplitArgs(words []string) (args map[string]string, positional []string) {
	args = map[string]string{}
	for _, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok {
			if _, declared := pb.Input(k); declared {
				args[k] = v
				continue
			}
		}
		positional = append(positional, w)
	}
	return args, positional
}

// positional returns the inputs that take positional words, given the ones
// already set by key=value, and the index among them of the input that
// takes all remaining words (-1 if none). The first takes the first word;
// the last text input after it takes the rest ("/contain TARGET
// [REASON...]"); inputs declared after that one can only be set as
// key=value.
func (pb *Playbook) positional(given map[string]string) ([]Input, int) {
	var elig []Input
	for _, in := range pb.Inputs {
		if _, ok := given[in.Name]; !ok {
			elig = append(elig, in)
		}
	}
	rest := -1
	for i := len(elig) - 1; i >= 0; i-- {
		if elig[i].Type == connectors.String && elig[i].Name != pb.Inputs[0].Name {
			rest = i
			break
		}
	}
	if rest >= 0 {
		elig = elig[:rest+1]
	}
	return elig, rest
}

// BindInputs turns a command's arguments into the run's inputs: key=value
// arguments first, then positional words (see SplitArgs and the rule in
// [Playbook.Usage]), then defaults. Values are converted to the inputs'
// types. env supplies alert, incident and env for default expressions; a
// default that cannot be computed (no alert, say) counts as absent.
//
// Every problem (unknown names, bad values, missing required inputs) is
// reported at once as a *UsageError holding the usage text.
func (pb *Playbook) BindInputs(args map[string]string, positional []string, env Env) (map[string]any, error) {
	var problems []string
	out := make(map[string]any, len(pb.Inputs))
	names := make([]string, len(pb.Inputs))
	for i, in := range pb.Inputs {
		names[i] = in.Name
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		in, ok := pb.Input(k)
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown input %q%s", truncate(k, 40), didYouMean(k, names)))
			continue
		}
		v, err := convertInput(in, args[k])
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		out[k] = v
	}
	elig, rest := pb.positional(args)
	words := positional
	for i, in := range elig {
		if len(words) == 0 {
			break
		}
		raw := words[0]
		words = words[1:]
		if i == rest {
			raw = strings.Join(append([]string{raw}, words...), " ")
			words = nil
		}
		v, err := convertInput(in, raw)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		out[in.Name] = v
	}
	if len(words) > 0 {
		problems = append(problems, fmt.Sprintf("too many arguments: %q", truncate(strings.Join(words, " "), 60)))
	}
	var missing []string
	for _, in := range pb.Inputs {
		if _, ok := out[in.Name]; !ok {
			if v, ok := pb.defaultOf(in, env); ok {
				out[in.Name] = v
			}
		}
		if in.Required && isEmpty(out[in.Name]) {
			missing = append(missing, strings.ToUpper(in.Name))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing "+strings.Join(missing, ", "))
	}
	if len(problems) > 0 {
		return nil, &UsageError{Problem: strings.Join(problems, "; "), Usage: pb.Usage()}
	}
	return out, nil
}

func isEmpty(v any) bool { return v == nil || v == "" }

// defaultOf computes an input's default, if it has one.
func (pb *Playbook) defaultOf(in Input, env Env) (any, bool) {
	if in.DefaultExpr == nil {
		return in.Default, in.Default != nil
	}
	v, err := in.DefaultExpr.render(env.vars(nil, nil), false)
	if err != nil || isEmpty(v) {
		return nil, false
	}
	if s, ok := v.(string); ok {
		v, err = convertInput(in, s)
	} else {
		v, err = coerce(in.Type, v)
	}
	if err != nil {
		return nil, false
	}
	return v, true
}

// convertInput converts a typed word to the input's type.
func convertInput(in Input, s string) (any, error) {
	if len(s) > MaxInputLen {
		return nil, fmt.Errorf("%s is too long (%d bytes, the limit is %d)", strings.ToUpper(in.Name), len(s), MaxInputLen)
	}
	switch in.Type {
	case connectors.Int:
		i, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s must be a whole number, got %q", strings.ToUpper(in.Name), truncate(s, 40))
		}
		return i, nil
	case connectors.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%s must be true or false, got %q", strings.ToUpper(in.Name), truncate(s, 40))
	case connectors.Duration:
		if _, err := config.ParseDuration(s); err != nil {
			return nil, fmt.Errorf("%s: %v", strings.ToUpper(in.Name), err)
		}
		return strings.TrimSpace(s), nil
	}
	return s, nil
}

// Usage describes how to start the playbook from chat: the command line,
// then one line per input.
//
// Positional words bind in declaration order: the first input takes the
// first word, and the last text input after it takes all the remaining
// words, so "/contain host-42 beaconing to 203.0.113.7" gives target
// "host-42" and reason "beaconing to 203.0.113.7". Any input can also be
// given as name=value.
func (pb *Playbook) Usage() string {
	var b strings.Builder
	b.WriteString("Usage: ")
	if pb.On.Command != "" {
		b.WriteString("/" + pb.On.Command)
	} else {
		b.WriteString("/playbook run " + pb.Name)
	}
	elig, rest := pb.positional(nil)
	for i, in := range elig {
		w := strings.ToUpper(in.Name)
		if i == rest {
			w += "..."
		}
		if !in.Required || in.Default != nil {
			w = "[" + w + "]"
		}
		b.WriteString(" " + w)
	}
	for _, in := range pb.Inputs[len(elig):] {
		b.WriteString(" [" + in.Name + "=" + strings.ToUpper(string(in.Type)) + "]")
	}
	for _, in := range pb.Inputs {
		b.WriteString("\n  " + in.Name + ": " + string(in.Type))
		if in.Required && in.Default == nil {
			b.WriteString(", required")
		}
		switch {
		case in.Default != nil:
			b.WriteString(", default " + strconv.Quote(fmt.Sprint(in.Default)))
		case in.DefaultExpr != nil:
			b.WriteString(", default " + in.DefaultExpr.String())
		}
		if in.Description != "" {
			b.WriteString(". " + strings.TrimSuffix(in.Description, "."))
		}
	}
	return b.String()
}
