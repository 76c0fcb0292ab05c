package digests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// Job is one configured digest.
type Job struct {
	Name      string
	Schedule  cron.Schedule
	Loc       *time.Location // where its times are shown
	Platform  string
	Channel   string
	Filter    Filter
	SkipEmpty bool
}

// Reminders configures nudges for incidents that went quiet or have no
// commander. A zero duration turns that reminder off.
type Reminders struct {
	QuietAfter      time.Duration
	UnassignedAfter time.Duration
	Repeat          time.Duration // default 2h
	// Leads lists who is pinged about an incident without a commander
	// (actor ids, or bare ids for every platform).
	Leads []string
}

// Scheduler posts digests and reminders. Each tick of a digest is claimed
// in SQLite in the same transaction as its post, so a restart or a second
// replica on the same database never posts it twice, and a tick missed
// while the process was down is posted once at the next check.
type Scheduler struct {
	svc       *bot.Service
	db        *store.DB
	jobs      []Job
	reminders Reminders
	log       *slog.Logger
}

// NewScheduler returns a scheduler for jobs and reminders.
func NewScheduler(svc *bot.Service, jobs []Job, r Reminders, log *slog.Logger) *Scheduler {
	if r.Repeat <= 0 {
		r.Repeat = 2 * time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{svc: svc, db: svc.DB(), jobs: jobs, reminders: r, log: log.With("component", "digests")}
}

// maxCatchUp bounds the ticks walked to find the latest one that is due,
// for a frequent schedule after a long downtime.
const maxCatchUp = 1 << 20

// latestDue returns the latest tick of sched in (after, now], if any.
func latestDue(sched cron.Schedule, after, now time.Time) (time.Time, bool) {
	t := sched.Next(after)
	if t.IsZero() || t.After(now) {
		return time.Time{}, false
	}
	for range maxCatchUp {
		n := sched.Next(t)
		if n.IsZero() || n.After(now) {
			break
		}
		t = n
	}
	return t, true
}

// Tick posts every digest whose schedule has a tick due since its last
// post, once (the latest such tick), and fires due reminders.
func (s *Scheduler) Tick(ctx context.Context) error {
	now := s.svc.Clock().Now()
	var errs []error
	for _, j := range s.jobs {
		if err := s.tickJob(ctx, j, now); err != nil {
			errs = append(errs, fmt.Errorf("digest %s: %w", j.Name, err))
		}
	}
	if err := s.remind(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Scheduler) tickJob(ctx context.Context, j Job, now time.Time) error {
	last, ok, err := s.db.LastDigest(ctx, j.Name)
	if err != nil {
		return err
	}
	if !ok {
		// First start with this digest: start counting from now, post nothing.
		return s.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ClaimDigest(ctx, j.Name, now)
			return err
		})
	}
	due, ok := latestDue(j.Schedule, last, now)
	if !ok {
		return nil
	}
	d, err := Build(ctx, s.db, j.Name, j.Platform, j.Filter, last, now, j.Loc)
	if err != nil {
		return err
	}
	claim := func(tx *store.Tx) (bool, error) { return tx.ClaimDigest(ctx, j.Name, due) }
	if d.Open == 0 && j.SkipEmpty {
		// Still claim the tick, so the next digest's period starts here.
		return s.db.Write(ctx, func(tx *store.Tx) error { _, err := claim(tx); return err })
	}
	posted, err := s.svc.PostChannel(ctx, j.Platform, j.Channel, d.Message(), claim)
	if err == nil && posted {
		s.log.Info("digest posted", "digest", j.Name, "tick", due, "open", d.Open)
	}
	return err
}

// Run checks every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	if err := s.Tick(ctx); err != nil {
		s.log.Error("digests", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Tick(ctx); err != nil {
				s.log.Error("digests", "err", err)
			}
		}
	}
}

// remind nudges incidents that went quiet or still have no commander.
func (s *Scheduler) remind(ctx context.Context, now time.Time) error {
	r := s.reminders
	if r.QuietAfter <= 0 && r.UnassignedAfter <= 0 {
		return nil
	}
	open, _, err := s.db.FilteredIncidents(ctx, []string{"open", "investigating", "contained"}, nil, 10000)
	if err != nil {
		return err
	}
	for _, in := range open {
		if r.UnassignedAfter > 0 && in.Commander == "" && !now.Before(in.CreatedAt.Add(r.UnassignedAfter)) {
			msg := bot.Message{Text: fmt.Sprintf("⏰ %s has had no commander for %s. Leads, who takes it? (/incident assign @user)",
				in.Ref(), bot.Age(now.Sub(in.CreatedAt))), Mentions: s.leads()}
			if err := s.fire(ctx, in.Incident, "unassigned", now, msg); err != nil {
				return err
			}
		}
		if r.QuietAfter > 0 && !in.LastActivity.IsZero() && !now.Before(in.LastActivity.Add(r.QuietAfter)) {
			msg := bot.Message{Text: fmt.Sprintf("⏰ Nothing has happened on %s for %s. Is it still %s? A note or a status change keeps the timeline honest.",
				in.Ref(), bot.Age(now.Sub(in.LastActivity)), in.Status)}
			if in.Commander != "" {
				msg.Mentions = []string{in.Commander}
			} else {
				msg.Mentions = s.leads()
			}
			if err := s.fire(ctx, in.Incident, "quiet", now, msg); err != nil {
				return err
			}
		}
	}
	return nil
}

// fire posts a reminder unless one of its kind fired less than Repeat ago.
func (s *Scheduler) fire(ctx context.Context, in store.Incident, kind string, now time.Time, msg bot.Message) error {
	return s.svc.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
		ok, err := tx.ClaimReminder(ctx, in.ID, kind, now, s.reminders.Repeat)
		if err != nil || !ok {
			return nil, err
		}
		return []bot.Event{{IncidentID: in.ID, Actor: bot.System, Kind: "reminder." + kind,
			Body: map[string]string{"text": msg.Text}, Posts: []bot.Message{msg}}}, nil
	})
}

func (s *Scheduler) leads() []string {
	var out []string
	for _, l := range s.reminders.Leads {
		if strings.Contains(l, ":") {
			out = append(out, l)
			continue
		}
		for _, p := range s.svc.Platforms() {
			out = append(out, bot.ActorID(p, l))
		}
	}
	return out
}
