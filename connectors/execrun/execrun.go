// Package execrun is the exec.run action: a playbook step that runs a local
// program, such as a script that pushes a block list or a vendor CLI.
//
// The program is named by an argument list and started directly, never
// through a shell, so text from an alert or a chat command that ends up in
// an argument stays one literal argument: "; rm -rf / #" is a strange file
// name, not a second command. Only programs listed in the exec.allow
// configuration run. The program gets a minimal environment (PATH, HOME,
// LANG) rather than the server's, which holds warroom's own tokens.
//
// On Unix the program runs in its own process group, and a timeout kills the
// whole group, so that the children of a script do not outlive the step.
package execrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warroom-bot/warroom/connectors"
)

// Limits and defaults of a run.
const (
	// DefaultTimeout bounds a run whose with: gives no timeout.
	DefaultTimeout = 30 * time.Second
	// MaxTimeout is the longest timeout a step may ask for; a program that
	// needs longer belongs in a job system, not in a step that holds a
	// playbook run.
	MaxTimeout = 10 * time.Minute
	// MaxOutput is how much of stdout and of stderr each is kept: outputs
	// are stored in the case log with every step.
	MaxOutput = 64 << 10
	// errorStderrLen is how much of stderr an error quotes.
	errorStderrLen = 200
	// defaultWaitDelay is how long a run waits, after the program exited
	// or was killed, for stragglers that still hold its stdout or stderr
	// open, before it closes them and kills the process group.
	defaultWaitDelay = 2 * time.Second
)

// ErrNotAllowed is the cause of running a program that exec.allow does not
// list.
var ErrNotAllowed = errors.New("not allowed: add it to exec.allow")

// Action is the exec.run action. It is safe for concurrent use.
type Action struct {
	paths     map[string]bool // absolute paths allowed
	names     map[string]bool // bare names allowed, found through PATH
	waitDelay time.Duration   // defaultWaitDelay; shorter in tests
}

// New returns the exec.run action allowed to run the programs in allow:
// absolute paths, or bare names looked up in PATH when a step runs. Any
// other entry (a relative path such as bin/tool) can never match and is
// ignored; config validation is the place to report it.
func New(allow []string) *Action {
	a := &Action{paths: map[string]bool{}, names: map[string]bool{}, waitDelay: defaultWaitDelay}
	for _, p := range allow {
		switch {
		case filepath.IsAbs(p):
			a.paths[filepath.Clean(p)] = true
		case p != "" && !strings.ContainsRune(p, filepath.Separator) && !strings.ContainsRune(p, '/'):
			a.names[p] = true
		}
	}
	return a
}

// Spec declares exec.run's inputs and outputs. It must stay equal to the
// declaration in playbooks.BuiltinSpecs, which validates playbooks; a test
// holds the two together.
func (a *Action) Spec() connectors.Spec {
	return connectors.Spec{
		Name: "exec.run",
		Doc: "Run a program listed in config exec.allow with an argument list; " +
			"never through a shell.",
		Inputs: []connectors.Field{
			{Name: "argv", Type: connectors.List, Required: true, Doc: "Program and arguments."},
			{Name: "timeout", Type: connectors.Duration, Doc: "Time limit."},
			{Name: "stdin", Type: connectors.String, Doc: "Text fed to the program."},
		},
		Outputs: []connectors.Field{
			{Name: "exit_code", Type: connectors.Int, Doc: "Exit status."},
			{Name: "stdout", Type: connectors.String, Doc: "Standard output, truncated."},
			{Name: "stderr", Type: connectors.String, Doc: "Standard error, truncated."},
			{Name: "stdout_truncated", Type: connectors.Bool, Doc: "Whether stdout was cut."},
			{Name: "stderr_truncated", Type: connectors.Bool, Doc: "Whether stderr was cut."},
			{Name: "duration_ms", Type: connectors.Int, Doc: "How long the program ran."},
		},
	}
}

// Run runs the program and waits for it.
//
// The inputs are argv (the program, then its arguments), timeout (default
// DefaultTimeout, at most MaxTimeout) and stdin (text fed to the program;
// without it the program reads an empty input). The outputs are exit_code,
// stdout and stderr (each at most MaxOutput bytes), stdout_truncated and
// stderr_truncated, and duration_ms. A program that ran but failed (a
// non-zero exit, a signal, the timeout) gives these outputs together with
// an *Error, so a step with continue_on_error can still read them. A
// failed run is never marked retryable: a program may have done part of
// its work.
func (a *Action) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	in, err := parseInputs(call.With)
	if err != nil {
		return nil, err
	}
	path, err := a.resolve(in.argv[0])
	if err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, path, in.argv[1:]...)
	cmd.Args[0] = in.argv[0] // what the playbook wrote, as a shell would pass it
	cmd.Env = minimalEnv()
	if in.stdin != nil {
		cmd.Stdin = strings.NewReader(*in.stdin)
	}
	stdout, stderr := &capped{max: MaxOutput}, &capped{max: MaxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = a.waitDelay
	setProcessGroup(cmd)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, &Error{Program: path, ExitCode: -1, Err: unwrapExecError(err)}
	}
	waitErr := cmd.Wait()
	elapsed := time.Since(start)
	if errors.Is(waitErr, exec.ErrWaitDelay) {
		// The program exited but left something holding its output
		// open: a background child. The step is over; so is the child.
		killGroup(cmd)
	}

	code := cmd.ProcessState.ExitCode()
	out := map[string]any{
		"exit_code":        code,
		"stdout":           stdout.String(),
		"stderr":           stderr.String(),
		"stdout_truncated": stdout.truncated,
		"stderr_truncated": stderr.truncated,
		"duration_ms":      int(elapsed.Milliseconds()),
	}
	if code == 0 && (waitErr == nil || errors.Is(waitErr, exec.ErrWaitDelay)) {
		// Success, even if the deadline passed while Wait collected the
		// last of the output.
		return out, nil
	}
	e := &Error{Program: path, ExitCode: code}
	switch {
	case ctx.Err() != nil:
		// The engine or the server is stopping.
		e.Err = ctx.Err()
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		e.TimedOut, e.Timeout = true, in.timeout
	default:
		e.Stderr = errorText(stderr.buf.Bytes())
		if code <= 0 {
			e.Err = waitErr // "signal: killed", or an I/O failure
		}
	}
	return out, e
}

// resolve finds the program argv0 names, if exec.allow lets it run.
func (a *Action) resolve(argv0 string) (string, error) {
	if filepath.IsAbs(argv0) {
		if a.paths[filepath.Clean(argv0)] {
			return argv0, nil
		}
		return "", fmt.Errorf("%q %w", argv0, ErrNotAllowed)
	}
	if !a.names[argv0] {
		return "", fmt.Errorf("%q %w", argv0, ErrNotAllowed)
	}
	p, err := exec.LookPath(argv0)
	if err != nil || !filepath.IsAbs(p) {
		// A relative result comes from a relative PATH entry: what it
		// names depends on the server's working directory.
		return "", fmt.Errorf("%q is allowed but not found in PATH", argv0)
	}
	return p, nil
}

// minimalEnv is the environment a program gets: enough to find other
// programs, its own configuration and a locale, and none of the server's
// variables, which hold warroom's tokens and the playbook secrets.
func minimalEnv() []string {
	env := []string{}
	for _, k := range []string{"PATH", "HOME", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		} else if k == "PATH" {
			env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
		}
	}
	return env
}

// unwrapExecError drops the *exec.Error or *os.PathError wrapping of a
// start failure; the Error already names the program.
func unwrapExecError(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// capped keeps the first max bytes written to it and counts the rest as
// truncated. It never fails a write, so the program is never blocked or
// killed by a full pipe.
type capped struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

// Write keeps what fits.
func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - c.buf.Len(); n > room {
		c.truncated = true
		p = p[:max(room, 0)]
	}
	c.buf.Write(p)
	return n, nil
}

// String returns what was kept, without a character cut in half at the end.
func (c *capped) String() string {
	b := c.buf.Bytes()
	if c.truncated {
		b = trimPartialRune(b)
	}
	return string(b)
}

// errorText is the start of stderr for an error message, on one line.
func errorText(b []byte) string {
	if len(b) > errorStderrLen {
		b = trimPartialRune(b[:errorStderrLen])
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}
