package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/digests"
	"github.com/warroom-bot/warroom/store"
)

// digestNow builds a digest as of now over the period since its last post
// (or the last day), with the job's filter.
func digestNow(ctx context.Context, db *store.DB, j digests.Job, platform string, now time.Time) (digests.Digest, error) {
	since := now.Add(-24 * time.Hour)
	if last, ok, err := db.LastDigest(ctx, j.Name); err == nil && ok && last.Before(now) {
		since = last
	}
	return digests.Build(ctx, db, j.Name, platform, j.Filter, since, now, j.Loc)
}

// defaultJob is what /incident digest uses when no digest is configured.
var defaultJob = digests.Job{Name: "open incidents", Loc: time.UTC}

// cmdDigest runs `warroom digest NAME --dry-run`.
func cmdDigest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: warroom digest NAME --dry-run [--config FILE]"
	fs, cfgPath := flags("digest", stderr)
	dry := fs.Bool("dry-run", false, "print the digest as text; post nothing")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	if !*dry {
		fmt.Fprintln(stderr, "warroom digest only prints (--dry-run); the server posts digests on their schedule\n"+use)
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	jobs, _, err := digests.FromConfig(cfg, []string{"slack"})
	if err != nil {
		return err
	}
	var job *digests.Job
	for i := range jobs {
		if jobs[i].Name == pos[0] {
			job = &jobs[i]
		}
	}
	if job == nil {
		return fmt.Errorf("no digest named %q in the config", pos[0])
	}
	db, err := openExisting(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := digestNow(ctx, db, *job, job.Platform, bot.WallClock.Now())
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, d.Text())
	return nil
}
