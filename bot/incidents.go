package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/warroom-bot/warroom/store"
)

// Incident is an incident as the store keeps it.
type Incident = store.Incident

// Severities, most urgent first.
var Severities = []string{"critical", "high", "medium", "low", "info"}

// Statuses an incident moves through. "closed" is reached only by Close.
var Statuses = []string{"open", "investigating", "contained", "resolved", "closed"}

// SeverityRank orders severities: critical is 0. Unknown severities rank last.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return len(Severities)
}

func valid(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// UserError is an error meant for the person who asked: it is shown to them
// as is. Other errors are internal and shown only as a reference.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

func userErrorf(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

// ErrNoIncident is returned for an incident id that does not exist.
var ErrNoIncident = &UserError{Msg: "no such incident"}

// Clock tells the time; tests pass a fake one.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// WallClock is the real clock.
var WallClock Clock = wallClock{}

// Options configure a Service.
type Options struct {
	// Platforms get a room for every incident, in this order.
	Platforms []string
	// ChannelPrefix starts every channel name ("inc").
	ChannelPrefix string
	// Responders are invited to every incident room. Plain ids go to every
	// platform; "slack:U123" or "discord:42" to that platform only.
	Responders []string
	// Private makes incident rooms private by default.
	Private bool
	// GroupWindow is how long after its last alert an incident still takes
	// new alerts of its group (default 10m).
	GroupWindow time.Duration
	// OnOpen, if set, is called inside the transaction that opens any
	// incident, with the alert that opened it (nil when a person did); the
	// events it returns are recorded in that transaction. Enrichment queues
	// its lookups and the playbook engine its alert-triggered runs here, so
	// a crash after the 202 cannot lose them.
	OnOpen func(ctx context.Context, tx *store.Tx, in Incident, a *Alert) ([]Event, error)
	Clock  Clock
	Logger *slog.Logger
	// Notify is called after a write that queued outbox rows (the
	// dispatcher's wake-up); it must not block.
	Notify func()
}

// Service changes incidents. Each change writes the incident row, its
// case-log entry and the outbox rows for the chat messages it causes in one
// transaction: either all of it happens or none.
type Service struct {
	db   *store.DB
	opts Options

	// Alert intake batches concurrent callers; see Ingest.
	ingestMu    sync.Mutex
	ingestQueue []*ingestReq
	ingestBusy  bool
	// repeatDue is when, in Unix nanoseconds, the next summary of alert
	// repeats falls due at the earliest (see logRepeats).
	repeatDue atomic.Int64
	intake    intakeCache
}

// NewService returns a Service over db.
func NewService(db *store.DB, opts Options) *Service {
	if opts.ChannelPrefix == "" {
		opts.ChannelPrefix = "inc"
	}
	if opts.Clock == nil {
		opts.Clock = WallClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Notify == nil {
		opts.Notify = func() {}
	}
	if opts.GroupWindow <= 0 {
		opts.GroupWindow = 10 * time.Minute
	}
	return &Service{db: db, opts: opts}
}

// DB returns the store the service writes to.
func (s *Service) DB() *store.DB { return s.db }

// Platforms returns the names of the platforms incidents get rooms on.
func (s *Service) Platforms() []string { return s.opts.Platforms }

// NewIncident is what it takes to open an incident.
type NewIncident struct {
	Title    string
	Severity string // default medium
	Private  bool
	// ReplyPlatform and ReplyTo, if set, get a private answer with a link to
	// the new room once it exists.
	ReplyPlatform string
	ReplyTo       string
}

// maxTitle bounds titles so that a pasted alert body cannot become a title.
const maxTitle = 200

// Open opens an incident.
func (s *Service) Open(ctx context.Context, actor string, n NewIncident) (Incident, error) {
	title := strings.Join(strings.Fields(n.Title), " ")
	if title == "" {
		return Incident{}, userErrorf("an incident needs a title")
	}
	if utf8.RuneCountInString(title) > maxTitle {
		return Incident{}, userErrorf("the title is longer than %d characters", maxTitle)
	}
	if n.Severity == "" {
		n.Severity = "medium"
	}
	if !valid(Severities, n.Severity) {
		return Incident{}, userErrorf("unknown severity %q: use one of %s", n.Severity, strings.Join(Severities, ", "))
	}
	now := s.opts.Clock.Now().UTC()
	in := Incident{
		Title: title, Severity: n.Severity, Status: "open", CreatedBy: actor,
		Private: n.Private || s.opts.Private, CreatedAt: now, UpdatedAt: now,
	}
	if actor != System {
		// A human opening an incident has acknowledged it.
		in.AcknowledgedAt = now
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if in, err = tx.CreateIncident(ctx, in); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, in.ID, now, actor, "incident.opened", map[string]any{
			"title": in.Title, "severity": in.Severity, "private": in.Private,
		}); err != nil {
			return err
		}
		for _, p := range s.opts.Platforms {
			if err := s.openRoom(ctx, tx, now, p, in, actor); err != nil {
				return err
			}
		}
		if err := s.onOpen(ctx, tx, now, in, nil); err != nil {
			return err
		}
		if n.ReplyTo != "" {
			msg := Message{Text: fmt.Sprintf("%s opened: %s", in.Ref(), in.Title)}
			if err := enqueue(ctx, tx, now, n.ReplyPlatform, in.ID, OpRespond, call{Message: &msg, ReplyTo: n.ReplyTo, LinkRoom: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Incident{}, fmt.Errorf("open incident: %w", err)
	}
	s.opts.Logger.Info("incident opened", "incident", in.Ref(), "severity", in.Severity, "actor", actor)
	s.opts.Notify()
	return in, nil
}

// onOpen runs the OnOpen hook and records its events.
func (s *Service) onOpen(ctx context.Context, tx *store.Tx, now time.Time, in Incident, a *Alert) error {
	if s.opts.OnOpen == nil {
		return nil
	}
	events, err := s.opts.OnOpen(ctx, tx, in, a)
	if err != nil {
		return err
	}
	return s.recordEvents(ctx, tx, now, events)
}

// openRoom queues the calls that give an incident its room on one platform:
// create, invite, topic, summary, pin.
func (s *Service) openRoom(ctx context.Context, tx *store.Tx, now time.Time, platform string, in Incident, actor string) error {
	topic := topicOf(in)
	spec := RoomSpec{IncidentID: in.ID, Name: ChannelName(s.opts.ChannelPrefix, in.ID, in.Title), Topic: topic, Private: in.Private}
	summary := summaryMessage(in)
	calls := []struct {
		op Op
		c  call
	}{
		{OpCreateRoom, call{Room: &spec}},
		{OpInvite, call{Users: s.invitees(platform, actor)}},
		{OpSetTopic, call{Topic: &topic}},
		{OpPost, call{Message: &summary, Key: messageKey(in.ID, "summary")}},
		{OpPin, call{Key: messageKey(in.ID, "summary")}},
	}
	for _, c := range calls {
		if c.op == OpInvite && len(c.c.Users) == 0 {
			continue
		}
		if err := enqueue(ctx, tx, now, platform, in.ID, c.op, c.c); err != nil {
			return err
		}
	}
	return nil
}

// invitees lists the platform user ids to invite into a new room: the person
// who opened it (if they are on this platform) and the responders.
func (s *Service) invitees(platform, actor string) []string {
	var users []string
	seen := map[string]bool{}
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			users = append(users, u)
		}
	}
	if p, u := SplitActor(actor); p == platform {
		add(u)
	}
	for _, r := range s.opts.Responders {
		p, u := SplitActor(r)
		if p == "" || p == platform {
			add(u)
		}
	}
	return users
}

// Get returns an incident.
func (s *Service) Get(ctx context.Context, id int64) (Incident, error) {
	in, err := s.db.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Incident{}, userErrorf("%s does not exist", store.FormatRef(id))
	}
	return in, err
}

// List returns incidents, newest first: open ones only unless all.
func (s *Service) List(ctx context.Context, all bool, limit int) ([]Incident, error) {
	return s.db.Incidents(ctx, store.IncidentFilter{Open: !all, Limit: limit})
}

// Timeline returns the last n case-log entries of an incident.
func (s *Service) Timeline(ctx context.Context, id int64, n int) ([]store.Entry, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.db.Entries(ctx, id, n)
}

// IncidentOfChannel returns the incident whose room is channel on platform.
func (s *Service) IncidentOfChannel(ctx context.Context, platform, channel string) (int64, bool, error) {
	r, err := s.db.RoomByChannel(ctx, platform, channel)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return r.IncidentID, true, nil
}

// change is one edit of an incident: apply mutates the incident and returns
// the case-log kind and body and the line announced in its rooms.
type change struct {
	kind     string
	body     any
	announce *Message
	// closing and reopening change what happens to the rooms.
	closing, reopening bool
}

// mutate runs apply on the current incident inside a write transaction and
// queues the chat calls that show the change.
func (s *Service) mutate(ctx context.Context, actor string, id int64, apply func(in *Incident) (change, error)) (Incident, error) {
	var out Incident
	now := s.opts.Clock.Now().UTC()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		in, err := tx.Incident(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return userErrorf("%s does not exist", store.FormatRef(id))
		}
		if err != nil {
			return err
		}
		c, err := apply(&in)
		if err != nil {
			return err
		}
		in.UpdatedAt = now
		if actor != System && in.AcknowledgedAt.IsZero() {
			in.AcknowledgedAt = now
		}
		if err := tx.UpdateIncident(ctx, in); err != nil {
			return err
		}
		if _, err := tx.Append(ctx, in.ID, now, actor, c.kind, c.body); err != nil {
			return err
		}
		for _, p := range s.opts.Platforms {
			if err := s.show(ctx, tx, now, p, in, actor, c); err != nil {
				return err
			}
		}
		out = in
		return nil
	})
	if err != nil {
		return Incident{}, err
	}
	s.opts.Logger.Info("incident changed", "incident", out.Ref(), "actor", actor)
	s.opts.Notify()
	return out, nil
}

// show queues the chat calls that reflect a change on one platform.
func (s *Service) show(ctx context.Context, tx *store.Tx, now time.Time, platform string, in Incident, actor string, c change) error {
	if c.reopening {
		// The old room is archived; the incident gets a fresh one.
		return s.openRoom(ctx, tx, now, platform, in, actor)
	}
	if c.announce != nil {
		if err := enqueue(ctx, tx, now, platform, in.ID, OpPost, call{Message: c.announce}); err != nil {
			return err
		}
	}
	summary := summaryMessage(in)
	if err := enqueue(ctx, tx, now, platform, in.ID, OpUpdate, call{Message: &summary, Key: messageKey(in.ID, "summary")}); err != nil {
		return err
	}
	if c.closing {
		return enqueue(ctx, tx, now, platform, in.ID, OpArchive, call{})
	}
	topic := topicOf(in)
	return enqueue(ctx, tx, now, platform, in.ID, OpSetTopic, call{Topic: &topic})
}

func notClosed(in *Incident) error {
	if in.Status == "closed" {
		return userErrorf("%s is closed; reopen it first with /incident reopen %s", in.Ref(), in.Ref())
	}
	return nil
}

// SetStatus moves an incident to investigating, contained or resolved (or back to open).
func (s *Service) SetStatus(ctx context.Context, actor string, id int64, status string) (Incident, error) {
	if status == "closed" {
		return Incident{}, userErrorf("use /incident close to close an incident")
	}
	if !valid(Statuses, status) {
		return Incident{}, userErrorf("unknown status %q: use open, investigating, contained or resolved", status)
	}
	return s.mutate(ctx, actor, id, func(in *Incident) (change, error) {
		if err := notClosed(in); err != nil {
			return change{}, err
		}
		if in.Status == status {
			return change{}, userErrorf("%s is already %s", in.Ref(), status)
		}
		from := in.Status
		in.Status = status
		now := s.opts.Clock.Now().UTC()
		if status == "contained" && in.ContainedAt.IsZero() {
			in.ContainedAt = now
		}
		if status == "resolved" && in.ResolvedAt.IsZero() {
			in.ResolvedAt = now
		}
		return change{
			kind:     "status.changed",
			body:     map[string]string{"from": from, "to": status},
			announce: announcement(actor, fmt.Sprintf("set the status to %s (was %s)", status, from)),
		}, nil
	})
}

// SetSeverity changes an incident's severity.
func (s *Service) SetSeverity(ctx context.Context, actor string, id int64, severity string) (Incident, error) {
	if !valid(Severities, severity) {
		return Incident{}, userErrorf("unknown severity %q: use one of %s", severity, strings.Join(Severities, ", "))
	}
	return s.mutate(ctx, actor, id, func(in *Incident) (change, error) {
		if err := notClosed(in); err != nil {
			return change{}, err
		}
		if in.Severity == severity {
			return change{}, userErrorf("%s is already %s", in.Ref(), severity)
		}
		from := in.Severity
		in.Severity = severity
		return change{
			kind:     "severity.changed",
			body:     map[string]string{"from": from, "to": severity},
			announce: announcement(actor, fmt.Sprintf("set the severity to %s (was %s)", severity, from)),
		}, nil
	})
}

// Assign makes commander (an actor id) the incident commander.
func (s *Service) Assign(ctx context.Context, actor string, id int64, commander string) (Incident, error) {
	return s.mutate(ctx, actor, id, func(in *Incident) (change, error) {
		if err := notClosed(in); err != nil {
			return change{}, err
		}
		if in.Commander == commander {
			return change{}, userErrorf("%s already has that commander", in.Ref())
		}
		from := in.Commander
		in.Commander = commander
		msg := announcement(actor, "handed command to")
		msg.Mentions = []string{commander}
		return change{
			kind:     "commander.changed",
			body:     map[string]string{"from": from, "to": commander},
			announce: msg,
		}, nil
	})
}

// maxNote bounds a note; longer text belongs in an attachment or ticket.
const maxNote = 3000

// Note adds a free-text note to the case log and the rooms.
func (s *Service) Note(ctx context.Context, actor string, id int64, text string) (Incident, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Incident{}, userErrorf("a note needs text")
	}
	if utf8.RuneCountInString(text) > maxNote {
		return Incident{}, userErrorf("the note is longer than %d characters", maxNote)
	}
	return s.mutate(ctx, actor, id, func(in *Incident) (change, error) {
		if err := notClosed(in); err != nil {
			return change{}, err
		}
		msg := announcement(actor, text)
		msg.Title = "📝 Note"
		return change{kind: "note.added", body: map[string]string{"text": text}, announce: msg}, nil
	})
}

// Close closes an incident, posts its final summary and archives its rooms.
func (s *Service) Close(ctx context.Context, actor string, id int64, summary string) (Incident, error) {
	summary = strings.TrimSpace(summary)
	if utf8.RuneCountInString(summary) > maxNote {
		return Incident{}, userErrorf("the summary is longer than %d characters", maxNote)
	}
	return s.mutate(ctx, actor, id, func(in *Incident) (change, error) {
		if in.Status == "closed" {
			return change{}, userErrorf("%s is already closed", in.Ref())
		}
		from := in.Status
		now := s.opts.Clock.Now().UTC()
		in.Status, in.ClosedAt, in.Summary = "closed", now, summary
		if in.ResolvedAt.IsZero() {
			in.ResolvedAt = now
		}
		final := finalSummary(*in, actor)
		return change{
			kind:     "incident.closed",
			body:     map[string]string{"from": from, "summary": summary},
			announce: &final,
			closing:  true,
		}, nil
	})
}

// Reopen reopens a closed incident in a new room.
func (s *Service) Reopen(ctx context.Context, actor string, id int64) (Incident, error) {
	return s.mutate(ctx, actor, id, func(in *Incident) (change, error) {
		if in.Status != "closed" {
			return change{}, userErrorf("%s is not closed", in.Ref())
		}
		in.Status, in.ClosedAt, in.ResolvedAt = "investigating", time.Time{}, time.Time{}
		return change{kind: "incident.reopened", body: map[string]string{}, reopening: true}, nil
	})
}

// announcement is the short line posted in the room when someone changes
// the incident: "<user> set the status to contained".
func announcement(actor, what string) *Message {
	return &Message{Actor: actor, Text: what}
}
