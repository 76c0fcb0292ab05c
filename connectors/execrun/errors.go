package execrun

import (
	"fmt"
	"strings"
	"time"
)

// Error is a run that failed: the program could not start, exited with a
// non-zero status, was killed, or ran out of time. Its text names the
// program but not its arguments, which may carry tokens, and quotes at
// most the first 200 bytes of stderr.
type Error struct {
	// Program is the path that was run.
	Program string
	// ExitCode is the program's exit status, or -1 when it did not start
	// or was ended by a signal (which includes the timeout).
	ExitCode int
	// Stderr is the start of standard error after a non-zero exit.
	Stderr string
	// TimedOut says the program ran past its timeout and its process
	// group was killed.
	TimedOut bool
	// Timeout is the limit that was reached, when TimedOut.
	Timeout time.Duration
	// Err is the cause when there is one beyond the exit status: a start
	// failure, a signal, or the caller's context ending.
	Err error
}

// Error describes the failure in one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Program + ": ")
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, "timed out after %s; its process group was killed", e.Timeout)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		fmt.Fprintf(&b, "exit status %d", e.ExitCode)
	}
	if e.Stderr != "" {
		b.WriteString(": " + e.Stderr)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports false: a program that failed may have done part of
// its work, and exec.run is not idempotent, so the engine must not repeat
// it on its own.
func (e *Error) Temporary() bool { return false }
