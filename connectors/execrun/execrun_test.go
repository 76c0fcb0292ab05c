package execrun

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

func argv(prog string, args ...string) []any {
	out := []any{prog}
	for _, a := range args {
		out = append(out, a)
	}
	return out
}

func TestRun(t *testing.T) {
	prog := self(t)
	tests := []struct {
		name  string
		with  map[string]any
		check func(t *testing.T, out map[string]any, err error)
	}{
		{
			name: "shell syntax stays literal",
			with: map[string]any{"argv": argv(prog, helperArg, "args",
				"; rm -rf / #", "$(id)", "`id`", "a b", "*", "", "|| true", "'\"", "\n")},
			check: func(t *testing.T, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				if err := json.Unmarshal([]byte(out["stdout"].(string)), &got); err != nil {
					t.Fatalf("stdout %q: %v", out["stdout"], err)
				}
				want := []string{"; rm -rf / #", "$(id)", "`id`", "a b", "*", "", "|| true", "'\"", "\n"}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("program got %q, want %q", got, want)
				}
				if out["exit_code"] != 0 || out["stderr"] != "" || out["stdout_truncated"] != false {
					t.Errorf("outputs = %v", out)
				}
				if ms, ok := out["duration_ms"].(int); !ok || ms < 0 {
					t.Errorf("duration_ms = %#v", out["duration_ms"])
				}
			},
		},
		{
			name: "numbers in argv become text",
			with: map[string]any{"argv": []any{prog, helperArg, "args", 443, 1.5, true}},
			check: func(t *testing.T, out map[string]any, err error) {
				if err != nil || out["stdout"] != `["443","1.5","true"]`+"\n" {
					t.Errorf("stdout %q, err %v", out["stdout"], err)
				}
			},
		},
		{
			name: "stdin",
			with: map[string]any{"argv": argv(prog, helperArg, "cat"), "stdin": "203.0.113.7\n"},
			check: func(t *testing.T, out map[string]any, err error) {
				if err != nil || out["stdout"] != "203.0.113.7\n" {
					t.Errorf("stdout %q, err %v", out["stdout"], err)
				}
			},
		},
		{
			name: "no stdin reads end of file",
			with: map[string]any{"argv": argv(prog, helperArg, "cat")},
			check: func(t *testing.T, out map[string]any, err error) {
				if err != nil || out["stdout"] != "" {
					t.Errorf("stdout %q, err %v", out["stdout"], err)
				}
			},
		},
		{
			name: "non-zero exit",
			with: map[string]any{"argv": argv(prog, helperArg, "exit", "3", "host-42: no such device\n"+strings.Repeat("x", 300))},
			check: func(t *testing.T, out map[string]any, err error) {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *Error", err)
				}
				if e.ExitCode != 3 || e.TimedOut || e.Temporary() {
					t.Errorf("Error = %+v", e)
				}
				if !strings.HasPrefix(e.Stderr, "host-42: no such device xxx") || len(e.Stderr) != 200 {
					t.Errorf("Stderr = %q (%d bytes)", e.Stderr, len(e.Stderr))
				}
				if msg := err.Error(); !strings.Contains(msg, "exit status 3: host-42: no such device") {
					t.Errorf("message %q", msg)
				}
				if out["exit_code"] != 3 || !strings.HasPrefix(out["stderr"].(string), "host-42") {
					t.Errorf("outputs = %v", out)
				}
			},
		},
		{
			name: "output truncated",
			with: map[string]any{"argv": argv(prog, helperArg, "flood", strconv.Itoa(3*MaxOutput))},
			check: func(t *testing.T, out map[string]any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(out["stdout"].(string)) != MaxOutput || len(out["stderr"].(string)) != MaxOutput {
					t.Errorf("kept %d and %d bytes", len(out["stdout"].(string)), len(out["stderr"].(string)))
				}
				if out["stdout_truncated"] != true || out["stderr_truncated"] != true {
					t.Errorf("truncated = %v, %v", out["stdout_truncated"], out["stderr_truncated"])
				}
			},
		},
		{
			name: "output at the limit is whole",
			with: map[string]any{"argv": argv(prog, helperArg, "flood", strconv.Itoa(MaxOutput))},
			check: func(t *testing.T, out map[string]any, err error) {
				if err != nil || out["stdout_truncated"] != false || len(out["stdout"].(string)) != MaxOutput {
					t.Errorf("truncated %v, %d bytes, err %v", out["stdout_truncated"], len(out["stdout"].(string)), err)
				}
			},
		},
	}
	a := New([]string{prog})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := a.Run(context.Background(), connectors.Call{With: tt.with})
			tt.check(t, out, err)
		})
	}
}

// TestEnvironment checks that the server's variables, where its secrets
// are, do not reach the program.
func TestEnvironment(t *testing.T) {
	t.Setenv("WARROOM_TEST_TOKEN", "xoxb-secret")
	prog := self(t)
	out, err := New([]string{prog}).Run(context.Background(), connectors.Call{With: map[string]any{"argv": argv(prog, helperArg, "env")}})
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	if err := json.Unmarshal([]byte(out["stdout"].(string)), &env); err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k != "PATH" && k != "HOME" && k != "LANG" {
			t.Errorf("program got %s", kv)
		}
	}
	if !strings.HasPrefix(env[0], "PATH=") {
		t.Errorf("environment = %q, want PATH first", env)
	}
}

func TestAllow(t *testing.T) {
	prog := self(t)
	// A directory on PATH with the test binary under a bare name.
	dir := t.TempDir()
	if err := os.Symlink(prog, filepath.Join(dir, "warroom-helper")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	t.Setenv("PATH", dir)
	notExec := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notExec, []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		allow []string
		argv0 string
		want  string // "" for success
	}{
		{"absolute path listed", []string{prog}, prog, ""},
		{"absolute path listed unclean", []string{filepath.Dir(prog) + "/./" + filepath.Base(prog)}, prog, ""},
		{"bare name listed and on PATH", []string{"warroom-helper"}, "warroom-helper", ""},
		{"absolute path not listed", []string{"warroom-helper"}, prog, "not allowed: add it to exec.allow"},
		{"bare name not listed", []string{prog}, "warroom-helper", "not allowed: add it to exec.allow"},
		{"bare name listed only by path", []string{filepath.Join(dir, "warroom-helper")}, "warroom-helper", "not allowed"},
		{"relative path", []string{"warroom-helper", "./warroom-helper"}, "./warroom-helper", "not allowed"},
		{"shell", []string{prog}, "sh", "not allowed"},
		{"bare name listed, not on PATH", []string{"warroom-no-such-tool"}, "warroom-no-such-tool", "allowed but not found in PATH"},
		{"empty allow list", nil, prog, "not allowed"},
		{"listed but not a program", []string{notExec}, notExec, notExec + ": permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.allow).Run(context.Background(), connectors.Call{With: map[string]any{"argv": argv(tt.argv0, helperArg, "args")}})
			if tt.want == "" {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if strings.HasPrefix(tt.want, "not allowed") && !errors.Is(err, ErrNotAllowed) {
				t.Errorf("err = %v, want ErrNotAllowed", err)
			}
		})
	}
}

// TestTimeoutKillsGroup runs a program that starts a child and sleeps, and
// checks that the timeout ends both. It needs real time: the processes do
// not run on a test clock.
func TestTimeoutKillsGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no process groups")
	}
	prog := self(t)
	start := time.Now()
	out, err := New([]string{prog}).Run(context.Background(), connectors.Call{With: map[string]any{
		"argv": argv(prog, helperArg, "spawn"), "timeout": "500ms",
	}})
	pid := childPid(t, out)
	var e *Error
	if !errors.As(err, &e) || !e.TimedOut || e.Timeout != 500*time.Millisecond {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), "timed out after 500ms") || e.Temporary() {
		t.Errorf("err = %v", err)
	}
	// Killing the group closes the pipes at once; waiting for WaitDelay
	// would mean the child survived.
	if d := time.Since(start); d > 500*time.Millisecond+defaultWaitDelay {
		t.Errorf("Run took %s", d)
	}
	waitGone(t, pid)
}

// TestBackgroundChildKilled runs a program that leaves a child holding its
// output and exits: the run succeeds once the wait delay passes, and the
// child is killed rather than left behind.
func TestBackgroundChildKilled(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no process groups")
	}
	prog := self(t)
	a := New([]string{prog})
	a.waitDelay = 100 * time.Millisecond
	out, err := a.Run(context.Background(), connectors.Call{With: map[string]any{
		"argv": argv(prog, helperArg, "spawn", "exit"),
	}})
	pid := childPid(t, out)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	waitGone(t, pid)
}

func TestCallerCancel(t *testing.T) {
	prog := self(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := New([]string{prog}).Run(ctx, connectors.Call{With: map[string]any{"argv": argv(prog, helperArg, "sleep")}})
	var e *Error
	if !errors.As(err, &e) || e.TimedOut || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// childPid reads the pid the spawn helper printed and makes sure the child
// dies with the test even if the code under test failed to kill it.
func childPid(t *testing.T, out map[string]any) int {
	t.Helper()
	s, _ := out["stdout"].(string)
	pid, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("helper printed %q", s)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// waitGone waits for pid to be dead: gone, or a zombie waiting for a
// parent that is not us (after its parent died, init reaps it).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("child %d still running", pid)
}

func TestInvalidInputs(t *testing.T) {
	prog := self(t)
	tests := []struct {
		name string
		with map[string]any
		want string
	}{
		{"no argv", map[string]any{}, "with.argv: required"},
		{"argv not a list", map[string]any{"argv": "ls -l"}, "expected a list"},
		{"empty argv", map[string]any{"argv": []any{}}, "at least the program"},
		{"empty program", map[string]any{"argv": []any{""}}, "program is empty"},
		{"map in argv", map[string]any{"argv": []any{prog, map[string]any{}}}, "with.argv[1]: expected text"},
		{"NUL in argv", map[string]any{"argv": []any{prog, "a\x00b"}}, "NUL"},
		{"timeout too long", map[string]any{"argv": []any{prog}, "timeout": "11m"}, "with.timeout: must be between"},
		{"timeout zero", map[string]any{"argv": []any{prog}, "timeout": "0s"}, "with.timeout: must be between"},
		{"timeout bad", map[string]any{"argv": []any{prog}, "timeout": "later"}, "invalid duration"},
		{"stdin not text", map[string]any{"argv": []any{prog}, "stdin": []any{}}, "with.stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]string{prog}).Run(context.Background(), connectors.Call{With: tt.with})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTimeoutInput(t *testing.T) {
	tests := []struct {
		in   any
		want time.Duration
	}{
		{nil, DefaultTimeout},
		{"10m", MaxTimeout},
		{"1m30s", 90 * time.Second},
		{2 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		in, err := parseInputs(map[string]any{"argv": []string{"x"}, "timeout": tt.in})
		if err != nil || in.timeout != tt.want {
			t.Errorf("timeout %v: got %+v, %v; want %s", tt.in, in, err, tt.want)
		}
	}
}

func TestCapped(t *testing.T) {
	tests := []struct {
		writes    []string
		max       int
		want      string
		truncated bool
	}{
		{[]string{"ab", "cd"}, 4, "abcd", false},
		{[]string{"ab", "cde"}, 4, "abcd", true},
		{[]string{"abcd", "e"}, 4, "abcd", true},
		{[]string{"aé"}, 2, "a", true}, // é is not cut in half
		{[]string{"日本"}, 5, "日", true},
	}
	for _, tt := range tests {
		c := &capped{max: tt.max}
		for _, w := range tt.writes {
			if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
				t.Errorf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if c.String() != tt.want || c.truncated != tt.truncated {
			t.Errorf("%q max %d: kept %q truncated %v; want %q %v", tt.writes, tt.max, c.String(), c.truncated, tt.want, tt.truncated)
		}
	}
}
