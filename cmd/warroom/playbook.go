package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/playbooks"
)

// playbookVars reads the variables named in playbook_env, and only those.
func playbookVars(cfg *config.Config) map[string]string {
	vars := map[string]string{}
	for _, name := range cfg.PlaybookEnv {
		if v, ok := os.LookupEnv(name); ok {
			vars[name] = v
		}
	}
	return vars
}

// playbookOptions checks playbooks against the actions in reg and the
// variables the config lets them read.
func playbookOptions(cfg *config.Config, reg *connectors.Registry) playbooks.Options {
	return playbooks.Options{Spec: playbooks.RegistrySpec(reg), Names: reg.Names, Env: cfg.PlaybookEnv}
}

// loadPlaybooks loads the playbook directory against the actions in reg;
// any problem stops the start, with every problem listed as file:line:col.
func loadPlaybooks(cfg *config.Config, reg *connectors.Registry) (*playbooks.Set, error) {
	set, diags := playbooks.Load(cfg.Playbooks, playbookOptions(cfg, reg))
	if len(diags) > 0 {
		return nil, fmt.Errorf("playbooks in %s are invalid:\n%w", cfg.Playbooks, diags.Err())
	}
	return set, nil
}

// cmdPlaybook runs `warroom playbook validate PATH...`.
func cmdPlaybook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: warroom playbook validate [--config FILE] PATH..."
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	fs, cfgPath := flags("playbook validate", stderr)
	paths, err := parse(fs, args[1:])
	if err != nil || len(paths) == 0 {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	reg, err := actionRegistry(cfg)
	if err != nil {
		return err
	}
	opts := playbookOptions(cfg, reg)
	var all []*playbooks.Playbook
	var diags playbooks.Diagnostics
	for _, p := range paths {
		set, d := playbooks.Load(p, opts)
		diags = append(diags, d...)
		if set != nil {
			all = append(all, set.All()...)
		}
	}
	if _, d := playbooks.NewSet(all...); len(d) > 0 {
		diags = append(diags, d...)
	}
	for _, d := range diags {
		fmt.Fprintln(stdout, d.String())
	}
	if len(diags) > 0 {
		return exitError{code: 1}
	}
	fmt.Fprintf(stdout, "%d playbooks valid\n", len(all))
	return nil
}
