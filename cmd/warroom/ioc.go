package main

import (
	"fmt"
	"io"

	"github.com/warroom-bot/warroom/connectors/ioc"
)

// maxIOCInput bounds what `ioc extract` reads: a pasted report or a log
// excerpt, not a disk image.
const maxIOCInput = 16 << 20

// cmdIOC runs `warroom ioc extract`: text on stdin, one JSON object per
// indicator on stdout, refanged and deduplicated, for scripts.
func cmdIOC(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const use = "usage: warroom ioc extract < text"
	if len(args) == 0 || args[0] != "extract" {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	fs, _ := flags("ioc extract", stderr)
	if pos, err := parse(fs, args[1:]); err != nil || len(pos) > 0 {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	text, err := io.ReadAll(io.LimitReader(stdin, maxIOCInput+1))
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if len(text) > maxIOCInput {
		return fmt.Errorf("input is larger than %d MiB", maxIOCInput>>20)
	}
	return ioc.WriteJSONLines(stdout, ioc.Extract(string(text), ioc.Options{}))
}
