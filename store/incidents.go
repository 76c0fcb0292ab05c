package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Incident is one incident row. Severity and Status are stored as the words
// the bot uses; the store does not interpret them beyond "closed".
type Incident struct {
	ID             int64
	Title          string
	Severity       string
	Status         string
	Commander      string // actor id ("slack:U123"), empty when nobody has command
	CreatedBy      string
	Private        bool
	Summary        string
	AlertCount     int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	AcknowledgedAt time.Time
	ContainedAt    time.Time
	ResolvedAt     time.Time
	ClosedAt       time.Time

	// GroupKey folds alerts with the same group labels into this incident.
	GroupKey    string
	LastAlertAt time.Time
}

// Ref returns the human id, INC-N.
func (i Incident) Ref() string { return FormatRef(i.ID) }

// FormatRef formats an incident number as its human id.
func FormatRef(id int64) string { return "INC-" + strconv.FormatInt(id, 10) }

// ParseRef reads a human id (INC-N, any case) and returns N.
func ParseRef(s string) (int64, bool) {
	if len(s) < 5 || !strings.EqualFold(s[:4], "INC-") {
		return 0, false
	}
	n, err := strconv.ParseInt(s[4:], 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

const incidentCols = `id, title, severity, status, commander, created_by, private, summary, alert_count,
	created_at, updated_at, acknowledged_at, contained_at, resolved_at, closed_at,
	group_key, last_alert_at`

type scanner interface{ Scan(dest ...any) error }

func scanIncident(s scanner) (Incident, error) {
	var (
		in                          Incident
		created, updated            int64
		ack, contained, res, closed sql.NullInt64
		lastAlert                   sql.NullInt64
	)
	err := s.Scan(&in.ID, &in.Title, &in.Severity, &in.Status, &in.Commander, &in.CreatedBy, &in.Private,
		&in.Summary, &in.AlertCount, &created, &updated, &ack, &contained, &res, &closed,
		&in.GroupKey, &lastAlert)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, ErrNotFound
	}
	if err != nil {
		return Incident{}, err
	}
	in.CreatedAt, in.UpdatedAt = fromNanos(created), fromNanos(updated)
	in.AcknowledgedAt, in.ContainedAt, in.ResolvedAt, in.ClosedAt = fromNull(ack), fromNull(contained), fromNull(res), fromNull(closed)
	in.LastAlertAt = fromNull(lastAlert)
	return in, nil
}

// CreateIncident inserts a new incident and returns it with its id.
func (tx *Tx) CreateIncident(ctx context.Context, in Incident) (Incident, error) {
	res, err := tx.exec(ctx, `INSERT INTO incidents(title, severity, status, commander, created_by, private, summary,
		alert_count, created_at, updated_at, acknowledged_at, contained_at, resolved_at, closed_at,
		group_key, last_alert_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.Title, in.Severity, in.Status, in.Commander, in.CreatedBy, in.Private, in.Summary, in.AlertCount,
		nanos(in.CreatedAt), nanos(in.UpdatedAt), nullTime(in.AcknowledgedAt), nullTime(in.ContainedAt),
		nullTime(in.ResolvedAt), nullTime(in.ClosedAt),
		in.GroupKey, nullTime(in.LastAlertAt))
	if err != nil {
		return Incident{}, fmt.Errorf("insert incident: %w", err)
	}
	in.ID, err = res.LastInsertId()
	if err != nil {
		return Incident{}, fmt.Errorf("insert incident: %w", err)
	}
	return in, nil
}

// UpdateIncident writes every mutable field of in, and moves
// IncidentEpoch on.
func (tx *Tx) UpdateIncident(ctx context.Context, in Incident) error {
	tx.db.incidentEpoch.Add(1)
	res, err := tx.exec(ctx, `UPDATE incidents SET title = ?, severity = ?, status = ?, commander = ?, private = ?,
		summary = ?, alert_count = ?, updated_at = ?, acknowledged_at = ?, contained_at = ?, resolved_at = ?, closed_at = ?,
		group_key = ?, last_alert_at = ?
		WHERE id = ?`,
		in.Title, in.Severity, in.Status, in.Commander, in.Private, in.Summary, in.AlertCount, nanos(in.UpdatedAt),
		nullTime(in.AcknowledgedAt), nullTime(in.ContainedAt), nullTime(in.ResolvedAt), nullTime(in.ClosedAt),
		in.GroupKey, nullTime(in.LastAlertAt), in.ID)
	if err != nil {
		return fmt.Errorf("update incident %d: %w", in.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update incident %d: %w", in.ID, ErrNotFound)
	}
	return nil
}

// IncidentEpoch counts the writes of whole incident rows in this process
// (status, severity and the rest; counting more alerts does not move it).
// Whoever remembers incidents' states across transactions compares it to
// know whether one may have changed; another process's writes show in
// Tx.DataVersion instead.
func (db *DB) IncidentEpoch() int64 { return db.incidentEpoch.Load() }

// Incident reads one incident inside the transaction, seeing its own writes.
func (tx *Tx) Incident(ctx context.Context, id int64) (Incident, error) {
	return incidentOf(ctx, tx, id)
}

// Incident reads one incident.
func (db *DB) Incident(ctx context.Context, id int64) (Incident, error) {
	return incidentOf(ctx, db, id)
}

func incidentOf(ctx context.Context, q querier, id int64) (Incident, error) {
	return scanIncident(q.queryRow(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
}

// IncidentFilter selects incidents for listing.
type IncidentFilter struct {
	// Open limits the list to incidents that are not closed.
	Open bool
	// Limit caps the number returned; zero means no cap.
	Limit int
}

// Incidents lists incidents, newest first. Lists are cached until the next
// write: /incident list is the command typed most, by many people at once
// during an incident, and a list between two writes cannot change.
func (db *DB) Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	gen := db.gen.Load()
	if ins, ok := db.lists.get(f, gen); ok {
		return ins, nil
	}
	ins, err := db.incidents(ctx, f)
	if err == nil {
		db.lists.put(f, gen, ins)
	}
	return slices.Clone(ins), err
}

// listCache holds incident lists filled at one write generation.
type listCache struct {
	mu    sync.Mutex
	gen   uint64
	lists map[IncidentFilter][]Incident
}

func (c *listCache) get(f IncidentFilter, gen uint64) ([]Incident, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ins, ok := c.lists[f]
	if !ok || c.gen != gen {
		return nil, false
	}
	return slices.Clone(ins), true
}

func (c *listCache) put(f IncidentFilter, gen uint64, ins []Incident) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.lists == nil {
		c.gen, c.lists = gen, map[IncidentFilter][]Incident{}
	}
	c.lists[f] = slices.Clone(ins)
}

func (db *DB) incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	q := `SELECT ` + incidentCols + ` FROM incidents`
	if f.Open {
		q += ` WHERE status != 'closed'`
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit)
	}
	rows, err := db.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// Room is an incident's channel on one chat platform.
type Room struct {
	Platform   string
	IncidentID int64
	ChannelID  string
	Name       string
	URL        string
	CreatedAt  time.Time
}

// SaveRoom records (or replaces, after a reopen) the room of an incident on a platform.
func (tx *Tx) SaveRoom(ctx context.Context, r Room) error {
	_, err := tx.exec(ctx, `INSERT INTO rooms(platform, incident_id, channel_id, name, url, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(platform, incident_id) DO UPDATE SET channel_id = excluded.channel_id, name = excluded.name,
			url = excluded.url, created_at = excluded.created_at`,
		r.Platform, r.IncidentID, r.ChannelID, r.Name, r.URL, nanos(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("save room: %w", err)
	}
	return nil
}

// Room returns the room of an incident on a platform, seeing the transaction's own writes.
func (tx *Tx) Room(ctx context.Context, platform string, incidentID int64) (Room, error) {
	return roomOf(ctx, tx, platform, incidentID)
}

// Room returns the room of an incident on a platform.
func (db *DB) Room(ctx context.Context, platform string, incidentID int64) (Room, error) {
	return roomOf(ctx, db, platform, incidentID)
}

func roomOf(ctx context.Context, q querier, platform string, incidentID int64) (Room, error) {
	return scanRoom(q.queryRow(ctx, `SELECT platform, incident_id, channel_id, name, url, created_at
		FROM rooms WHERE platform = ? AND incident_id = ?`, platform, incidentID))
}

// RoomByChannel finds the incident room behind a platform channel.
func (db *DB) RoomByChannel(ctx context.Context, platform, channelID string) (Room, error) {
	return scanRoom(db.queryRow(ctx, `SELECT platform, incident_id, channel_id, name, url, created_at
		FROM rooms WHERE platform = ? AND channel_id = ?`, platform, channelID))
}

// Rooms lists every room of an incident, one per platform.
func (db *DB) Rooms(ctx context.Context, incidentID int64) ([]Room, error) {
	rows, err := db.query(ctx, `SELECT platform, incident_id, channel_id, name, url, created_at
		FROM rooms WHERE incident_id = ? ORDER BY platform`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	defer rows.Close()
	var out []Room
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, fmt.Errorf("list rooms: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRoom(s scanner) (Room, error) {
	var r Room
	var created int64
	err := s.Scan(&r.Platform, &r.IncidentID, &r.ChannelID, &r.Name, &r.URL, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, ErrNotFound
	}
	if err != nil {
		return Room{}, err
	}
	r.CreatedAt = fromNanos(created)
	return r, nil
}

// SaveMessage records where a keyed bot message landed, so later edits find it.
func (tx *Tx) SaveMessage(ctx context.Context, platform, key, channelID, messageID string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO messages(platform, key, channel_id, message_id, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(platform, key) DO UPDATE SET channel_id = excluded.channel_id, message_id = excluded.message_id`,
		platform, key, channelID, messageID, nanos(at))
	if err != nil {
		return fmt.Errorf("save message %s: %w", key, err)
	}
	return nil
}

// Message returns the channel and platform message id of a keyed bot message.
func (tx *Tx) Message(ctx context.Context, platform, key string) (channelID, messageID string, err error) {
	return messageOf(ctx, tx, platform, key)
}

// Message returns the channel and platform message id of a keyed bot message.
func (db *DB) Message(ctx context.Context, platform, key string) (channelID, messageID string, err error) {
	return messageOf(ctx, db, platform, key)
}

func messageOf(ctx context.Context, q querier, platform, key string) (channelID, messageID string, err error) {
	err = q.queryRow(ctx, `SELECT channel_id, message_id FROM messages WHERE platform = ? AND key = ?`,
		platform, key).Scan(&channelID, &messageID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	return channelID, messageID, err
}

// querier is what both a transaction and the reader pool offer.
type querier interface {
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
}
