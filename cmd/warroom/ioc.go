package main

import (
	"fmt"
	"io"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// maxIOCInput bounds what `ioc extract` reads: a pasted report or a log
// excerpt, not a disk image.
const maxIOCInput = 16 << 20

// cmdIOC runs `warroom ioc extract`: text on stdin, one JSON object per
// indicator on stdout, refanged and deduplicated, for scripts. Values in
// the config's enrichment.allowlist are left out, as enrichment leaves them.
func cmdIOC(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const use = "usage: warroom ioc extract < text"
	if len(args) == 0 || args[0] != "extract" {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	fs, cfgPath := flags("ioc extract", stderr)
	if pos, err := parse(fs, args[1:]); err != nil || len(pos) > 0 {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	allow, err := ioc.ParseAllowlist(cfg.Enrichment.Allowlist)
	if err != nil {
		return fmt.Errorf("enrichment.allowlist: %w", err)
	}
	text, err := io.ReadAll(io.LimitReader(stdin, maxIOCInput+1))
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if len(text) > maxIOCInput {
		return fmt.Errorf("input is larger than %d MiB", maxIOCInput>>20)
	}
	return ioc.WriteJSONLines(stdout, ioc.Extract(string(text), ioc.Options{Allow: allow}))
}
