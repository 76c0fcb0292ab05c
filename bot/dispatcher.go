package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/warroom-bot/warroom/store"
)

// DispatcherOptions tune delivery.
type DispatcherOptions struct {
	Clock  Clock
	Logger *slog.Logger
	// Workers bounds concurrent calls across lanes (default 8).
	Workers int
	// MaxAttempts before a row is given up as dead (default 30: with the
	// backoff cap that is most of a day of trying).
	MaxAttempts int
	// CallTimeout bounds one platform call (default 30s).
	CallTimeout time.Duration
	// BaseBackoff and MaxBackoff shape the retry delay after 5xx, timeouts
	// and network errors (defaults 1s and 5m).
	BaseBackoff, MaxBackoff time.Duration
	// Unpaced ignores the platforms' rate limits: for tests that drive a
	// fake platform and must not wait on the wall clock.
	Unpaced bool
	// Observe, if set, is told the outcome of every attempt ("done",
	// "retry", "dead") for metrics.
	Observe func(platform string, op Op, outcome string)
	// MinScan is the least time between two scans of the outbox (default
	// 20ms), stretched to ten times the last scan's duration when scans
	// get slow. Every commit wakes the dispatcher, and under an alert storm
	// that is thousands of wake-ups a second while each scan reads the head
	// of every lane: scanning once per wake-up would spend the CPU the
	// storm needs. Wake-ups in between share one scan.
	MinScan time.Duration
	// KeepDone is how long delivered rows stay in the outbox before they
	// are pruned (default 7 days): long enough to look into a delivery,
	// short enough that a busy year does not live in the table.
	KeepDone time.Duration
}

// Dispatcher delivers outbox rows through the platforms. Rows of one lane go
// strictly in order; lanes run concurrently, paced by each platform's rate
// limits. A row leaves the outbox only when the platform has accepted the
// call, so a crash or an outage delays messages but never loses them.
type Dispatcher struct {
	db        *store.DB
	platforms map[string]Platform
	opts      DispatcherOptions
	wake      chan struct{}

	mu       sync.Mutex
	busy     map[string]bool // lanes with a call in flight
	limiters map[string]*rate.Limiter
}

// NewDispatcher returns a dispatcher for the given platforms.
func NewDispatcher(db *store.DB, platforms []Platform, opts DispatcherOptions) *Dispatcher {
	if opts.Clock == nil {
		opts.Clock = WallClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 30
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Observe == nil {
		opts.Observe = func(string, Op, string) {}
	}
	if opts.MinScan <= 0 {
		opts.MinScan = 20 * time.Millisecond
	}
	if opts.KeepDone <= 0 {
		opts.KeepDone = 7 * 24 * time.Hour
	}
	d := &Dispatcher{
		db: db, platforms: map[string]Platform{}, opts: opts,
		wake: make(chan struct{}, 1), busy: map[string]bool{}, limiters: map[string]*rate.Limiter{},
	}
	for _, p := range platforms {
		d.platforms[p.Name()] = p
	}
	return d
}

// Notify wakes the dispatcher: new rows were written. It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers rows until ctx ends. Calls in flight are allowed to finish.
func (d *Dispatcher) Run(ctx context.Context) error {
	sem := make(chan struct{}, d.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	var pruned time.Time
	for {
		if time.Since(pruned) > time.Hour {
			pruned = time.Now()
			d.prune(ctx)
		}
		scanned := time.Now()
		rows, err := d.db.DueOutbox(ctx, d.opts.Clock.Now(), 4*d.opts.Workers)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.opts.Logger.Error("read outbox", "err", err)
		}
		for _, row := range rows {
			if !d.claim(row.Lane) {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				d.release(row.Lane)
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer d.Notify() // the lane's next row may be due later
				defer d.release(row.Lane)
				d.drainLane(ctx, row)
			}()
		}
		wait := time.Minute
		if next, ok, err := d.db.NextOutboxAt(ctx); err == nil && ok {
			wait = min(wait, max(next.Sub(d.opts.Clock.Now()), 10*time.Millisecond))
		}
		took := time.Since(scanned)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-d.wake:
		case <-timer.C:
		}
		timer.Stop()
		// Real time, not the injected clock: this bounds CPU, not delivery.
		if rest := max(d.opts.MinScan, 10*took) - time.Since(scanned); rest > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(rest):
			}
		}
	}
}

// maxLaneRun bounds how many rows of one lane a worker delivers in a row
// (a new incident's lane is about that long), so that one busy incident
// cannot keep a worker from the other lanes, nor chat deliveries crowd
// alert intake out of the database writer during a storm.
const maxLaneRun = 8

// drainLane delivers row and then the rows after it in its lane while they
// are due: a lane is a sequence (create the room, invite, set the topic,
// post the summary...), and waiting for the next scan between its rows
// would add a scan interval to every step.
func (d *Dispatcher) drainLane(ctx context.Context, row store.OutboxRow) {
	for range maxLaneRun {
		d.deliver(ctx, row)
		if ctx.Err() != nil {
			return
		}
		next, ok, err := d.db.LaneHead(ctx, row.Lane)
		if err != nil || !ok || next.NextAt.After(d.opts.Clock.Now()) {
			return
		}
		row = next
	}
}

// pruneBatch is how many delivered rows one prune transaction deletes.
const pruneBatch = 1000

// prune deletes delivered rows older than KeepDone, a batch at a time so
// that alert intake never waits long behind it.
func (d *Dispatcher) prune(ctx context.Context) {
	cutoff := d.opts.Clock.Now().Add(-d.opts.KeepDone)
	for ctx.Err() == nil {
		var n int64
		err := d.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.PruneOutbox(ctx, cutoff, pruneBatch)
			return err
		})
		if err != nil {
			d.opts.Logger.Warn("prune outbox", "err", err)
			return
		}
		if n < pruneBatch {
			return
		}
	}
}

// RunOnce delivers every row that is due now, lane by lane, and returns how
// many calls it made. Each row gets at most one attempt per RunOnce. Tests
// use it to step delivery with a fake clock.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	tried := map[int64]bool{}
	for {
		rows, err := d.db.DueOutbox(ctx, d.opts.Clock.Now(), 64)
		if err != nil {
			return len(tried), err
		}
		progressed := false
		for _, row := range rows {
			if tried[row.ID] || !d.claim(row.Lane) {
				continue
			}
			tried[row.ID] = true
			progressed = true
			d.deliver(ctx, row)
			d.release(row.Lane)
		}
		if !progressed {
			return len(tried), nil
		}
	}
}

func (d *Dispatcher) claim(lane string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.busy[lane] {
		return false
	}
	d.busy[lane] = true
	return true
}

func (d *Dispatcher) release(lane string) {
	d.mu.Lock()
	delete(d.busy, lane)
	d.mu.Unlock()
}

// deliver makes one attempt at a row and records the outcome.
func (d *Dispatcher) deliver(ctx context.Context, row store.OutboxRow) {
	log := d.opts.Logger.With("outbox", row.ID, "platform", row.Platform, "op", row.Op, "incident", row.IncidentID)
	op := Op(row.Op)
	p, ok := d.platforms[row.Platform]
	if !ok {
		d.settle(ctx, log, row, nil, Permanent(fmt.Errorf("platform %q is not configured", row.Platform)))
		return
	}
	var c call
	if err := json.Unmarshal(row.Payload, &c); err != nil {
		d.settle(ctx, log, row, nil, Permanent(fmt.Errorf("decode payload: %w", err)))
		return
	}
	if wait := d.pace(p, op, row.Lane); wait > 0 {
		err := d.db.Write(ctx, func(tx *store.Tx) error {
			return tx.PaceOutbox(ctx, row.ID, d.opts.Clock.Now().Add(wait))
		})
		if err != nil && ctx.Err() == nil {
			log.Error("pace outbox row", "err", err)
		}
		return
	}
	claimed := false
	if err := d.db.Write(ctx, func(tx *store.Tx) (err error) {
		claimed, err = tx.StartAttempt(ctx, row.ID)
		return err
	}); err != nil {
		log.Error("record attempt", "err", err)
		return
	}
	if !claimed {
		return // delivered or overtaken since it was read
	}
	callCtx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	defer cancel()
	effect, err := d.call(callCtx, p, row, c)
	if err != nil && ctx.Err() != nil {
		return // shutting down mid-call: the row stays in flight and is checked at restart
	}
	// A call that went through is recorded even while shutting down.
	d.settle(context.WithoutCancel(ctx), log, row, effect, err)
}

// effect is what a successful call leaves behind to record.
type effect func(ctx context.Context, tx *store.Tx, now time.Time) (result string, err error)

// call performs the platform call for a row.
func (d *Dispatcher) call(ctx context.Context, p Platform, row store.OutboxRow, c call) (effect, error) {
	room := func() (RoomRef, error) {
		r, err := d.db.Room(ctx, row.Platform, row.IncidentID)
		if errors.Is(err, store.ErrNotFound) {
			return RoomRef{}, Permanent(fmt.Errorf("incident %d has no room on %s", row.IncidentID, row.Platform))
		}
		return RoomRef{Platform: r.Platform, ID: r.ChannelID, Name: r.Name, URL: r.URL}, err
	}
	message := func() (MessageRef, error) {
		ch, id, err := d.db.Message(ctx, row.Platform, c.Key)
		if errors.Is(err, store.ErrNotFound) {
			return MessageRef{}, Permanent(fmt.Errorf("message %s was never posted", c.Key))
		}
		return MessageRef{Room: RoomRef{Platform: row.Platform, ID: ch}, ID: id}, err
	}
	switch Op(row.Op) {
	case OpCreateRoom:
		if c.Room == nil {
			return nil, Permanent(errors.New("create_room without a room spec"))
		}
		var ref RoomRef
		found := false
		if f, ok := p.(RoomFinder); ok && row.Attempts > 0 {
			// An earlier attempt may have created it after all.
			if r, ok, err := f.FindRoom(ctx, c.Room.Name); err == nil && ok {
				ref, found = r, true
			}
		}
		if !found {
			var err error
			if ref, err = p.CreateRoom(ctx, *c.Room); err != nil {
				return nil, err
			}
		}
		return func(ctx context.Context, tx *store.Tx, now time.Time) (string, error) {
			if err := tx.SaveRoom(ctx, store.Room{Platform: row.Platform, IncidentID: row.IncidentID, ChannelID: ref.ID, Name: ref.Name, URL: ref.URL, CreatedAt: now}); err != nil {
				return "", err
			}
			_, err := tx.Append(ctx, row.IncidentID, now, System, "room.created", map[string]string{"platform": row.Platform, "channel": ref.ID, "name": ref.Name})
			return ref.ID, err
		}, nil
	case OpInvite:
		r, err := room()
		if err != nil {
			return nil, err
		}
		return nil, p.Invite(ctx, r, c.Users)
	case OpSetTopic:
		r, err := room()
		if err != nil || c.Topic == nil {
			return nil, errors.Join(err, errorIf(c.Topic == nil, "set_topic without a topic"))
		}
		return nil, p.SetTopic(ctx, r, *c.Topic)
	case OpPost:
		r, err := room()
		if c.Channel != "" {
			r, err = RoomRef{Platform: row.Platform, ID: c.Channel}, nil
		}
		if err != nil || c.Message == nil {
			return nil, errors.Join(err, errorIf(c.Message == nil, "post without a message"))
		}
		tag := "outbox-" + strconv.FormatInt(row.ID, 10)
		if row.Attempts > 0 {
			// An earlier attempt (cut off by a crash, or failed with a
			// timeout or 5xx) may have reached the platform after all.
			if f, ok := p.(Finder); ok {
				if ref, found, err := f.FindPosted(ctx, r, tag); err == nil && found {
					return d.posted(row, c, ref), nil
				}
			}
		}
		msg := *c.Message
		msg.Tag = tag
		ref, err := p.Post(ctx, r, msg)
		if err != nil {
			return nil, err
		}
		return d.posted(row, c, ref), nil
	case OpUpdate:
		ref, err := message()
		if err != nil || c.Message == nil {
			return nil, errors.Join(err, errorIf(c.Message == nil, "update without a message"))
		}
		return nil, p.Update(ctx, ref, *c.Message)
	case OpPin:
		pinner, ok := p.(Pinner)
		if !ok {
			return nil, nil
		}
		ref, err := message()
		if err != nil {
			return nil, err
		}
		return nil, pinner.Pin(ctx, ref)
	case OpArchive:
		r, err := room()
		if err != nil {
			return nil, err
		}
		return nil, p.Archive(ctx, r)
	case OpAlertNotice:
		return d.alertNotice(ctx, p, row, room)
	case OpRespond:
		responder, ok := p.(Responder)
		if !ok || c.Message == nil {
			return nil, Permanent(fmt.Errorf("%s cannot answer privately", row.Platform))
		}
		msg := *c.Message
		if c.LinkRoom {
			if r, err := room(); err == nil {
				msg.Links = append(msg.Links, Link{Text: r.Name, Room: &r})
			}
		}
		return nil, responder.Respond(ctx, c.ReplyTo, msg)
	}
	return nil, Permanent(fmt.Errorf("unknown outbox op %q", row.Op))
}

// alertNotice posts "N more alerts" for the alerts a room has not heard of
// and refreshes the summary's count.
func (d *Dispatcher) alertNotice(ctx context.Context, p Platform, row store.OutboxRow, room func() (RoomRef, error)) (effect, error) {
	r, err := room()
	if IsPermanent(err) {
		// The room may not be created yet (its lane is separate): try later.
		return nil, errors.New("room not created yet")
	}
	if err != nil {
		return nil, err
	}
	in, err := d.db.Incident(ctx, row.IncidentID)
	if err != nil {
		return nil, err
	}
	n, err := d.db.Notice(ctx, row.Platform, row.IncidentID)
	if err != nil {
		return nil, err
	}
	seen := in.AlertCount
	if delta := seen - n.Noticed; delta > 0 {
		if _, err := p.Post(ctx, r, Message{Text: noticeText(delta, seen)}); err != nil {
			return nil, err
		}
		if ch, id, err := d.db.Message(ctx, row.Platform, messageKey(in.ID, "summary")); err == nil {
			if err := p.Update(ctx, MessageRef{Room: RoomRef{Platform: row.Platform, ID: ch}, ID: id}, summaryMessage(in)); err != nil {
				d.opts.Logger.Warn("refresh summary after alert notice", "incident", in.Ref(), "err", err)
			}
		}
	}
	return func(ctx context.Context, tx *store.Tx, now time.Time) (string, error) {
		if err := tx.SaveNotice(ctx, row.Platform, row.IncidentID, store.Notice{Noticed: seen, At: now}); err != nil {
			return "", err
		}
		cur, err := tx.Incident(ctx, row.IncidentID)
		if err != nil {
			return "", err
		}
		if cur.AlertCount > seen {
			// Alerts arrived while this notice was being posted.
			return "", queueNotice(ctx, tx, now, row.Platform, row.IncidentID)
		}
		return strconv.Itoa(seen), nil
	}, nil
}

func errorIf(cond bool, msg string) error {
	if cond {
		return Permanent(errors.New(msg))
	}
	return nil
}

// posted records a keyed message so that later edits can find it.
func (d *Dispatcher) posted(row store.OutboxRow, c call, ref MessageRef) effect {
	return func(ctx context.Context, tx *store.Tx, now time.Time) (string, error) {
		if c.Key != "" {
			if err := tx.SaveMessage(ctx, row.Platform, c.Key, ref.Room.ID, ref.ID, now); err != nil {
				return "", err
			}
		}
		return ref.ID, nil
	}
}

// settle records the outcome of an attempt: done, retry later, or dead.
func (d *Dispatcher) settle(ctx context.Context, log *slog.Logger, row store.OutboxRow, eff effect, callErr error) {
	now := d.opts.Clock.Now()
	attempts := row.Attempts + 1
	outcome := "done"
	err := d.db.Write(ctx, func(tx *store.Tx) error {
		switch {
		case callErr == nil:
			result := ""
			if eff != nil {
				var err error
				if result, err = eff(ctx, tx, now); err != nil {
					return err
				}
			}
			return tx.CompleteOutbox(ctx, row.ID, result, now)
		case IsPermanent(callErr) || attempts >= d.opts.MaxAttempts:
			outcome = "dead"
			return tx.KillOutbox(ctx, row.ID, callErr.Error(), now)
		default:
			outcome = "retry"
			return tx.RetryOutbox(ctx, row.ID, now.Add(d.backoff(attempts, callErr)), callErr.Error())
		}
	})
	if err != nil {
		log.Error("record outbox outcome", "err", err, "call_err", callErr)
		return
	}
	d.opts.Observe(row.Platform, Op(row.Op), outcome)
	switch outcome {
	case "dead":
		log.Error("outbox call failed for good", "attempts", attempts, "err", callErr)
	case "retry":
		log.Warn("outbox call failed, will retry", "attempts", attempts, "err", callErr)
	default:
		log.Debug("outbox call delivered", "attempts", attempts)
	}
}

// backoff is the delay before the next attempt: what the platform asked for
// after a 429, otherwise exponential with jitter, capped.
func (d *Dispatcher) backoff(attempts int, err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > 0 {
		return ra.After
	}
	delay := d.opts.BaseBackoff << min(attempts-1, 20)
	if delay <= 0 || delay > d.opts.MaxBackoff {
		delay = d.opts.MaxBackoff
	}
	// Up to 20% jitter so a recovering platform is not hit by every lane at once.
	return delay + time.Duration(rand.Int64N(int64(delay)/5+1))
}

// pace reserves a call under the platform's published rate limits. It
// returns how long the call must wait instead; nothing is reserved then. A
// row that must wait is put back with a later due time rather than holding
// a worker, so other lanes and platforms keep moving.
func (d *Dispatcher) pace(p Platform, op Op, lane string) time.Duration {
	rl, ok := p.(RateLimiter)
	if !ok || d.opts.Unpaced {
		return 0
	}
	now := d.opts.Clock.Now()
	var taken []*rate.Reservation
	var wait time.Duration
	for i, l := range rl.Limits()[op] {
		key := p.Name() + "/" + string(op) + "/" + strconv.Itoa(i)
		if l.PerRoom {
			key += "/" + lane
		}
		r := d.limiter(key, l).ReserveN(now, 1)
		taken = append(taken, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait > 0 {
		for _, r := range taken {
			r.CancelAt(now)
		}
	}
	return wait
}

func (d *Dispatcher) limiter(key string, l Limit) *rate.Limiter {
	d.mu.Lock()
	defer d.mu.Unlock()
	lim, ok := d.limiters[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.PerMinute/60), max(l.Burst, 1))
		d.limiters[key] = lim
	}
	return lim
}
