package execrun

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperArg, as the first argument, makes the test binary act as the
// program under test instead of running the tests. The trick is the
// classic self-exec one, keyed on an argument rather than an environment
// variable because exec.run does not pass the environment on.
const helperArg = "execrun-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == helperArg {
		// syscall.Exit, not os.Exit: under -race, os.Exit(0) waits a
		// second for late race reports, and the tests run the helper
		// often.
		syscall.Exit(helper(os.Args[2], os.Args[3:]))
	}
	os.Exit(m.Run())
}

// helper is the program the tests run. mode says what it does.
func helper(mode string, args []string) int {
	switch mode {
	case "args": // print the arguments received, as JSON
		json.NewEncoder(os.Stdout).Encode(args)
	case "env": // print the environment, as JSON
		json.NewEncoder(os.Stdout).Encode(os.Environ())
	case "cat": // copy stdin to stdout
		io.Copy(os.Stdout, os.Stdin)
	case "exit": // exit with args[0], saying args[1] on stderr
		fmt.Fprint(os.Stderr, args[1])
		code, _ := strconv.Atoi(args[0])
		return code
	case "flood": // write args[0] bytes to stdout and to stderr
		n, _ := strconv.Atoi(args[0])
		os.Stdout.WriteString(strings.Repeat("o", n))
		os.Stderr.WriteString(strings.Repeat("e", n))
	case "sleep":
		time.Sleep(time.Hour)
	case "spawn": // start a sleeping child sharing stdout, print its pid; then sleep or exit
		self, _ := os.Executable()
		child := exec.Command(self, helperArg, "sleep")
		child.Stdout = os.Stdout
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println(child.Process.Pid)
		if len(args) > 0 && args[0] == "exit" {
			return 0
		}
		time.Sleep(time.Hour)
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
	return 0
}

// self is the path of the test binary, the program the tests run.
func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Skipf("no path to the test binary: %v", err)
	}
	return p
}
