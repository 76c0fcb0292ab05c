// Package enrichment fills in every incident's enrichment message: when an
// incident opens it extracts the indicators (from the title, the alert's
// text, labels and observables), queues a lookup job in the same
// transaction, and a worker runs the job against every source at once,
// recording each answer in the case log and editing the message as answers
// arrive. Because the job is a row written with the incident, a crash
// between the two cannot lose it: the next process picks it up.
package enrichment

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
	"github.com/warroom-bot/warroom/store"
)

// Options configure a Worker.
type Options struct {
	Service  *bot.Service
	Enricher *enrich.Enricher
	// Allow drops the organisation's own domains and ranges, and known
	// scanners, before anything is looked up.
	Allow ioc.Allowlist
	// MaxIndicators bounds the indicators looked up per incident (default
	// 25): an alert carrying a thousand addresses must not spend a day of
	// a rate-limited API key.
	MaxIndicators int
	// Buttons returns the actions offered for a malicious indicator of an
	// incident, such as the playbooks that block an IP. May be nil.
	Buttons func(incidentID int64, ind ioc.Indicator) []bot.Button
	// Concurrency bounds the jobs run at once (default 8).
	Concurrency int
	Logger      *slog.Logger
}

// Worker runs enrichment jobs.
type Worker struct {
	opts Options
	db   *store.DB
	wake chan struct{}
	// queued is set when a transaction queued a job: Notify comes after
	// every commit of the service, and only those worth a claim.
	queued atomic.Bool
}

// New returns a Worker.
func New(opts Options) *Worker {
	if opts.MaxIndicators <= 0 {
		opts.MaxIndicators = 25
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{opts: opts, db: opts.Service.DB(), wake: make(chan struct{}, 1)}
}

// messageOpen names the enrichment message posted when an incident opens.
const messageOpen = "enrichment"

// indicators lists what is worth looking up about an incident opened from
// alert a (nil when a person opened it): indicators in the title and the
// alert's description, its labels read as structured fields, and its typed
// observables. Allowlisted values are dropped and the list is capped.
func (w *Worker) indicators(in bot.Incident, a *bot.Alert) []ioc.Indicator {
	text := in.Title
	var found []ioc.Indicator
	if a != nil {
		text += "\n" + a.Description
		for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
			text += "\n" + a.Labels[k]
		}
		found = append(found, ioc.FromFields(a.Labels)...)
		for _, o := range a.Observables {
			if ind, ok := observable(o); ok {
				found = append(found, ind)
			}
		}
	}
	found = append(found, ioc.Extract(text, ioc.Options{Allow: w.opts.Allow})...)
	return w.trim(found)
}

// observable types an alert's observable. Host and user names are taken as
// they are (free text gives no way to check them); everything else must
// classify as what the alert says it is.
func observable(o bot.Observable) (ioc.Indicator, bool) {
	switch t := ioc.Type(o.Type); t {
	case ioc.TypeHostname:
		v := strings.ToLower(strings.TrimSpace(o.Value))
		return ioc.Indicator{Type: t, Value: v}, v != ""
	case ioc.TypeUser:
		v := strings.TrimSpace(o.Value)
		return ioc.Indicator{Type: t, Value: v}, v != ""
	}
	ind, ok := ioc.Classify(o.Value)
	return ind, ok && string(ind.Type) == o.Type
}

// trim drops duplicates and allowlisted values and caps the list. A name
// that an alert field calls a host is not also looked up as a domain: it is
// one of ours, and its name has no business at an outside service.
func (w *Worker) trim(inds []ioc.Indicator) []ioc.Indicator {
	seen := map[ioc.Indicator]bool{}
	hosts := map[string]bool{}
	for _, ind := range inds {
		if ind.Type == ioc.TypeHostname {
			hosts[ind.Value] = true
		}
	}
	out := inds[:0:0]
	for _, ind := range inds {
		if seen[ind] || w.opts.Allow.Allows(ind) || (ind.Type == ioc.TypeDomain && hosts[ind.Value]) {
			continue
		}
		seen[ind] = true
		out = append(out, ind)
		if len(out) == w.opts.MaxIndicators {
			break
		}
	}
	return out
}

// OnOpen is called in the transaction that opens an incident (bot.Options
// OnOpen): it records the incident's indicators, queues their lookup and
// posts the enrichment message in its first, empty state.
func (w *Worker) OnOpen(ctx context.Context, tx *store.Tx, in bot.Incident, a *bot.Alert) ([]bot.Event, error) {
	inds := w.indicators(in, a)
	if len(inds) == 0 {
		return nil, nil
	}
	ev, err := w.queue(ctx, tx, in, inds, messageOpen, bot.System)
	if err != nil {
		return nil, err
	}
	return []bot.Event{ev}, nil
}

// Request queues lookups of inds for an incident on someone's demand
// (/enrich in an incident room); the answers fill a message of their own.
func (w *Worker) Request(ctx context.Context, incidentID int64, actor string, inds []ioc.Indicator) error {
	inds = w.trim(inds)
	if len(inds) == 0 {
		return nil
	}
	return w.opts.Service.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
		in, err := tx.Incident(ctx, incidentID)
		if err != nil {
			return nil, err
		}
		ev, err := w.queue(ctx, tx, in, inds, "", actor)
		if err != nil {
			return nil, err
		}
		return []bot.Event{ev}, nil
	})
}

func (w *Worker) queue(ctx context.Context, tx *store.Tx, in bot.Incident, inds []ioc.Indicator, message, actor string) (bot.Event, error) {
	now := w.opts.Service.Clock().Now().UTC()
	rows := storeIndicators(inds)
	if err := tx.SawIndicators(ctx, in.ID, now, rows); err != nil {
		return bot.Event{}, err
	}
	id, err := tx.CreateEnrichJob(ctx, in.ID, message, rows, now)
	if err != nil {
		return bot.Event{}, err
	}
	w.queued.Store(true)
	if message == "" {
		message = jobMessage(store.EnrichJob{ID: id})
	}
	view := View{Findings: pendingFindings(inds), Pending: w.opts.Enricher.Pending(inds, w.builtin(in.ID)...), Private: in.Private}
	return bot.Event{
		IncidentID: in.ID, Actor: actor, Kind: "enrichment.requested",
		Body:  map[string]any{"job": id, "indicators": inds, "sources": w.sourceNames()},
		Keyed: []bot.Keyed{{Name: message, Message: view.Message()}},
	}, nil
}

// jobMessage names the message a job fills in.
func jobMessage(j store.EnrichJob) string {
	if j.Message != "" {
		return j.Message
	}
	return "enrichment-" + strconv.FormatInt(j.ID, 10)
}

func (w *Worker) sourceNames() []string {
	return append(w.opts.Enricher.Sources(), historyName, rangesName)
}

// builtin are the sources every install has, whatever its config: earlier
// incidents (excluding incidentID itself) and the special-purpose ranges.
func (w *Worker) builtin(incidentID int64) []enrich.Configured {
	return []enrich.Configured{History(w.db, incidentID), Ranges()}
}

// Notify wakes the worker if a job was queued since it last looked. The
// service calls it after every commit, so it must be cheap; it never blocks.
func (w *Worker) Notify() {
	if w.queued.Load() {
		w.poke()
	}
}

func (w *Worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// lease is how long a claimed job belongs to this process after its last
// answer. It is long because a rate-limited source may keep a lookup
// queued for minutes; every answer renews it, and a job whose process died
// is taken up again once it runs out.
const lease = 30 * time.Minute

// Run claims and runs jobs until ctx ends, checking at least every poll.
func (w *Worker) Run(ctx context.Context, poll time.Duration) {
	sem := make(chan struct{}, w.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	// look is whether a claim may find something: at start (jobs left by
	// a process that died), after a job was queued, when a slot frees up
	// after a full claim, and on every poll.
	look := true
	for {
		if free := cap(sem) - len(sem); free > 0 && (look || w.queued.Swap(false)) {
			w.queued.Store(false)
			jobs, err := w.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				w.opts.Logger.Error("claim enrichment jobs", "err", err)
			}
			look = len(jobs) == free // there may be more than fitted
			for _, j := range jobs {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					if err := w.runJob(ctx, j); err != nil && ctx.Err() == nil {
						w.opts.Logger.Error("enrichment job", "incident", store.FormatRef(j.IncidentID), "job", j.ID, "err", err)
					}
					w.poke() // a slot is free
				})
			}
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
		case <-t.C:
			look = true
		}
		t.Stop()
	}
}

func (w *Worker) claim(ctx context.Context, limit int) ([]store.EnrichJob, error) {
	var jobs []store.EnrichJob
	now := w.opts.Service.Clock().Now().UTC()
	err := w.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		jobs, err = tx.ClaimEnrichJobs(ctx, now, now.Add(lease), limit)
		return err
	})
	return jobs, err
}

// RunOnce claims and runs every waiting job, one after another; tests and
// `warroom enrich` use it where no background worker runs.
func (w *Worker) RunOnce(ctx context.Context) error {
	for {
		jobs, err := w.claim(ctx, w.opts.Concurrency)
		if err != nil || len(jobs) == 0 {
			return err
		}
		for _, j := range jobs {
			if err := w.runJob(ctx, j); err != nil {
				return err
			}
		}
	}
}

// runJob looks a job's indicators up and records every answer as it
// arrives: a case-log entry, the stored result, and an edit of the job's
// message, in one transaction each.
func (w *Worker) runJob(ctx context.Context, j store.EnrichJob) error {
	in, err := w.opts.Service.Get(ctx, j.IncidentID)
	if err != nil {
		return err
	}
	inds := fromStore(j.Indicators)
	builtin := w.builtin(j.IncidentID)
	lookups := w.opts.Enricher.Pending(inds, builtin...)
	view := View{Findings: pendingFindings(inds), Pending: lookups, Private: in.Private, Buttons: w.buttons(j.IncidentID)}
	index := map[ioc.Indicator]int{}
	for i, ind := range inds {
		index[ind] = i
	}
	clock := w.opts.Service.Clock()
	start := clock.Now()
	message := jobMessage(j)
	var failed error
	w.opts.Enricher.Run(ctx, inds, func(ind ioc.Indicator, r enrich.Result) {
		f := &view.Findings[index[ind]]
		f.Results = append(f.Results, r)
		view.Pending--
		if view.Pending == 0 {
			view.Took = max(clock.Now().Sub(start), time.Millisecond)
		}
		if failed != nil {
			return
		}
		// Encode and render before the write: the writer is shared.
		body, err := json.Marshal(r)
		if err != nil {
			failed = err
			return
		}
		msg := view.Message()
		failed = w.opts.Service.Record(ctx, func(tx *store.Tx) ([]bot.Event, error) {
			now := clock.Now().UTC()
			if err := tx.SaveEnrichResult(ctx, store.EnrichResult{JobID: j.ID, IncidentID: j.IncidentID,
				Type: string(ind.Type), Value: ind.Value, Source: r.Source, Result: body, At: now}); err != nil {
				return nil, err
			}
			if view.Pending == 0 {
				if err := tx.FinishEnrichJob(ctx, j.ID, now); err != nil {
					return nil, err
				}
			} else if err := tx.RenewEnrichJob(ctx, j.ID, now.Add(lease)); err != nil {
				// A job that still gets answers is alive, however long
				// a rate-limited source keeps it queued: it must not be
				// claimed again and spend the quota twice.
				return nil, err
			}
			return []bot.Event{{
				IncidentID: j.IncidentID, Actor: bot.System, Kind: "enrichment.result",
				Body:  resultBody(ind, r),
				Keyed: []bot.Keyed{{Name: message, Message: msg, Update: true}},
			}}, nil
		})
	}, builtin...)
	if failed != nil {
		return fmt.Errorf("record enrichment of %s: %w", in.Ref(), failed)
	}
	if view.Pending > 0 {
		// ctx ended first; the lease runs out and the job is taken up again.
		return ctx.Err()
	}
	if len(view.Findings) > 0 && lookups == 0 {
		// Nothing supported any indicator: close the job all the same.
		return w.db.Write(ctx, func(tx *store.Tx) error { return tx.FinishEnrichJob(ctx, j.ID, clock.Now().UTC()) })
	}
	return nil
}

// resultBody is the case-log entry of one answer: everything the message
// shows, nothing secret (sources never put keys in results).
func resultBody(ind ioc.Indicator, r enrich.Result) map[string]any {
	b := map[string]any{"type": ind.Type, "value": ind.Value, "source": r.Source, "verdict": r.Verdict}
	if r.Score != enrich.NoScore {
		b["score"] = r.Score
	}
	for k, v := range map[string]string{"reason": r.Reason, "link": r.Link, "tlp": r.TLP, "error": r.Error} {
		if v != "" {
			b[k] = v
		}
	}
	if len(r.Facts) > 0 {
		b["facts"] = r.Facts
	}
	if r.Cached {
		b["cached"] = true
	}
	return b
}

// Lookup answers an on-demand lookup outside any incident: it waits for
// every source (or ctx) and returns the findings, in the order of inds.
func (w *Worker) Lookup(ctx context.Context, inds []ioc.Indicator) []Finding {
	inds = w.trim(inds)
	findings := pendingFindings(inds)
	index := map[ioc.Indicator]int{}
	for i, ind := range inds {
		index[ind] = i
	}
	w.opts.Enricher.Run(ctx, inds, func(ind ioc.Indicator, r enrich.Result) {
		f := &findings[index[ind]]
		f.Results = append(f.Results, r)
	}, w.builtin(0)...)
	return findings
}

func (w *Worker) buttons(incidentID int64) func(ioc.Indicator) []bot.Button {
	if w.opts.Buttons == nil {
		return nil
	}
	return func(ind ioc.Indicator) []bot.Button { return w.opts.Buttons(incidentID, ind) }
}

func pendingFindings(inds []ioc.Indicator) []Finding {
	out := make([]Finding, len(inds))
	for i, ind := range inds {
		out[i] = Finding{Indicator: ind}
	}
	return out
}

func storeIndicators(inds []ioc.Indicator) []store.Indicator {
	out := make([]store.Indicator, len(inds))
	for i, ind := range inds {
		out[i] = store.Indicator{Type: string(ind.Type), Value: ind.Value, Scope: string(ind.Scope)}
	}
	return out
}

func fromStore(rows []store.Indicator) []ioc.Indicator {
	out := make([]ioc.Indicator, len(rows))
	for i, r := range rows {
		out[i] = ioc.Indicator{Type: ioc.Type(r.Type), Value: r.Value, Scope: ioc.Scope(r.Scope)}
	}
	return out
}
