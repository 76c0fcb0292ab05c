// Command warroom is a ChatOps bot for collaborative security incident
// response. "warroom serve" runs the bot; the other subcommands inspect and
// check its database from a shell.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // digest schedules name time zones; the static image has no zoneinfo
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `warroom: incident response from chat

Usage:
  warroom serve [--config FILE]             run the bot and its HTTP endpoints
  warroom incident list [--all] [--json]    list open (or all) incidents
  warroom incident show INC-N [--json]      show one incident and its timeline
  warroom playbook validate PATH...         check playbooks; file:line:col per problem
  warroom audit verify                      check the case log's hash chain
  warroom outbox list [--dead] [--json]     chat calls waiting (or given up on)
  warroom outbox retry ID...|--all          give dead chat calls another go
  warroom digest NAME --dry-run             print a configured digest as it would be posted now
  warroom alerts replay FILE --source S     parse a saved alert payload and post it to the server
  warroom ioc extract < TEXT                print the indicators in TEXT as JSON lines
  warroom enrich IOC... [--json]            look indicators up in every configured source
  warroom healthcheck                       exit 0 if the local server answers /healthz
  warroom version                           print the version

Every subcommand takes --config FILE (default warroom.yaml, if present).
`

// errUsage marks a command-line mistake: exit status 2.
var errUsage = errors.New("usage")

// exitError carries a specific exit status without printing more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "warroom:", err)
		os.Exit(1)
	}
}

// run dispatches a command line; tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stderr)
	case "enrich":
		return cmdEnrich(ctx, rest, stdout, stderr)
	case "incident":
		return cmdIncident(ctx, rest, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "playbook":
		return cmdPlaybook(ctx, rest, stdout, stderr)
	case "digest":
		return cmdDigest(ctx, rest, stdout, stderr)
	case "alerts":
		return cmdAlerts(ctx, rest, stdout, stderr)
	case "ioc":
		return cmdIOC(rest, stdin, stdout, stderr)
	case "outbox":
		return cmdOutbox(ctx, rest, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "warroom", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "warroom: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// flags returns a flag set with the --config flag every subcommand takes.
func flags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", "", "config `file` (default warroom.yaml if present)")
	return fs, cfg
}

// parse parses flags that may come before, between or after the
// positional arguments ("incident show INC-3 --json") and returns the
// positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
