package main

import (
	"context"
	"fmt"
	"io"
)

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: warroom audit verify [--config FILE]")
		return errUsage
	}
	fs, cfgPath := flags("audit verify", stderr)
	if pos, err := parse(fs, args[1:]); err != nil || len(pos) > 0 {
		fmt.Fprintln(stderr, "usage: warroom audit verify [--config FILE]")
		return errUsage
	}
	db, err := openConfigured(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Verify(ctx)
	if err != nil {
		return err
	}
	if v.Bad != nil {
		fmt.Fprintf(stdout, "case log BROKEN at entry %d (INC-%d): %s\n%d entries before it verified\n",
			v.Bad.Seq, v.Bad.IncidentID, v.Bad.Reason, v.Entries)
		return exitError{code: 1}
	}
	fmt.Fprintf(stdout, "case log intact: %d entries, head %s\n", v.Entries, v.Head)
	return nil
}
