package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// LocalRoom is a room of the built-in local platform (the web room).
type LocalRoom struct {
	ID         int64
	IncidentID int64
	Name       string
	Topic      json.RawMessage // the platform's topic, as JSON
	Members    []string
	Archived   bool
	CreatedAt  time.Time
}

// LocalMessage is a message the bot posted in a local room. Body is the
// platform-neutral message as JSON; the store does not interpret it.
type LocalMessage struct {
	ID        int64
	RoomID    int64
	Tag       string
	Body      json.RawMessage
	Pinned    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const localRoomCols = `id, incident_id, name, topic, members, archived, created_at`

func scanLocalRoom(s scanner) (LocalRoom, error) {
	var r LocalRoom
	var topic, members string
	var created int64
	err := s.Scan(&r.ID, &r.IncidentID, &r.Name, &topic, &members, &r.Archived, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return LocalRoom{}, ErrNotFound
	}
	if err != nil {
		return LocalRoom{}, err
	}
	r.Topic, r.CreatedAt = json.RawMessage(topic), fromNanos(created)
	json.Unmarshal([]byte(members), &r.Members)
	return r, nil
}

// CreateLocalRoom creates a local room named name, or the first free
// variant of it ("name-2", "name-3"…) when the name is taken, as a chat
// platform would after a reopen.
func (tx *Tx) CreateLocalRoom(ctx context.Context, incidentID int64, name string, topic json.RawMessage, at time.Time) (LocalRoom, error) {
	if len(topic) == 0 {
		topic = json.RawMessage("{}")
	}
	for n := 1; ; n++ {
		try := name
		if n > 1 {
			try = name + "-" + strconv.Itoa(n)
		}
		var taken int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM local_rooms WHERE name = ?`, try).Scan(&taken); err != nil {
			return LocalRoom{}, fmt.Errorf("create local room: %w", err)
		}
		if taken > 0 {
			continue
		}
		res, err := tx.exec(ctx, `INSERT INTO local_rooms(incident_id, name, topic, created_at) VALUES (?, ?, ?, ?)`,
			incidentID, try, string(topic), nanos(at))
		if err != nil {
			return LocalRoom{}, fmt.Errorf("create local room: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return LocalRoom{}, fmt.Errorf("create local room: %w", err)
		}
		return LocalRoom{ID: id, IncidentID: incidentID, Name: try, Topic: topic, CreatedAt: at.UTC()}, nil
	}
}

// LocalRoom reads a local room by id.
func (db *DB) LocalRoom(ctx context.Context, id int64) (LocalRoom, error) {
	return scanLocalRoom(db.queryRow(ctx, `SELECT `+localRoomCols+` FROM local_rooms WHERE id = ?`, id))
}

// LocalRoomByName reads a local room by its name.
func (db *DB) LocalRoomByName(ctx context.Context, name string) (LocalRoom, error) {
	return scanLocalRoom(db.queryRow(ctx, `SELECT `+localRoomCols+` FROM local_rooms WHERE name = ?`, name))
}

// SetLocalTopic replaces a local room's topic.
func (tx *Tx) SetLocalTopic(ctx context.Context, roomID int64, topic json.RawMessage) error {
	return tx.updateLocalRoom(ctx, roomID, `UPDATE local_rooms SET topic = ? WHERE id = ?`, string(topic), roomID)
}

// ArchiveLocalRoom marks a local room archived; its messages stay readable.
func (tx *Tx) ArchiveLocalRoom(ctx context.Context, roomID int64) error {
	return tx.updateLocalRoom(ctx, roomID, `UPDATE local_rooms SET archived = 1 WHERE id = ?`, roomID)
}

// AddLocalMembers adds users to a local room's member list, once each.
func (tx *Tx) AddLocalMembers(ctx context.Context, roomID int64, users []string) error {
	r, err := scanLocalRoom(tx.queryRow(ctx, `SELECT `+localRoomCols+` FROM local_rooms WHERE id = ?`, roomID))
	if err != nil {
		return fmt.Errorf("invite to local room %d: %w", roomID, err)
	}
	seen := map[string]bool{}
	for _, m := range r.Members {
		seen[m] = true
	}
	for _, u := range users {
		if !seen[u] {
			seen[u] = true
			r.Members = append(r.Members, u)
		}
	}
	members, err := json.Marshal(r.Members)
	if err != nil {
		return fmt.Errorf("invite to local room %d: %w", roomID, err)
	}
	return tx.updateLocalRoom(ctx, roomID, `UPDATE local_rooms SET members = ? WHERE id = ?`, string(members), roomID)
}

func (tx *Tx) updateLocalRoom(ctx context.Context, roomID int64, query string, args ...any) error {
	res, err := tx.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update local room %d: %w", roomID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update local room %d: %w", roomID, ErrNotFound)
	}
	return nil
}

const localMessageCols = `id, room_id, tag, body, pinned, created_at, updated_at`

func scanLocalMessage(s scanner) (LocalMessage, error) {
	var m LocalMessage
	var body string
	var created, updated int64
	err := s.Scan(&m.ID, &m.RoomID, &m.Tag, &body, &m.Pinned, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return LocalMessage{}, ErrNotFound
	}
	if err != nil {
		return LocalMessage{}, err
	}
	m.Body, m.CreatedAt, m.UpdatedAt = json.RawMessage(body), fromNanos(created), fromNanos(updated)
	return m, nil
}

// PostLocal stores a message in a local room and returns its id. A post
// whose non-empty tag the room already holds returns the earlier message's
// id instead of storing it twice: the outbox repeats posts whose first
// attempt it could not see finish.
func (tx *Tx) PostLocal(ctx context.Context, roomID int64, tag string, body json.RawMessage, at time.Time) (int64, error) {
	if tag != "" {
		var id int64
		err := tx.queryRow(ctx, `SELECT id FROM local_messages WHERE room_id = ? AND tag = ?`, roomID, tag).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("post local message: %w", err)
		}
	}
	res, err := tx.exec(ctx, `INSERT INTO local_messages(room_id, tag, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		roomID, tag, string(body), nanos(at), nanos(at))
	if err != nil {
		return 0, fmt.Errorf("post local message: %w", err)
	}
	return res.LastInsertId()
}

// UpdateLocal replaces the body of a local message.
func (tx *Tx) UpdateLocal(ctx context.Context, id int64, body json.RawMessage, at time.Time) (LocalMessage, error) {
	res, err := tx.exec(ctx, `UPDATE local_messages SET body = ?, updated_at = ? WHERE id = ?`, string(body), nanos(at), id)
	if err != nil {
		return LocalMessage{}, fmt.Errorf("update local message %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return LocalMessage{}, fmt.Errorf("update local message %d: %w", id, ErrNotFound)
	}
	return scanLocalMessage(tx.queryRow(ctx, `SELECT `+localMessageCols+` FROM local_messages WHERE id = ?`, id))
}

// PinLocal pins a local message.
func (tx *Tx) PinLocal(ctx context.Context, id int64) (LocalMessage, error) {
	res, err := tx.exec(ctx, `UPDATE local_messages SET pinned = 1 WHERE id = ?`, id)
	if err != nil {
		return LocalMessage{}, fmt.Errorf("pin local message %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return LocalMessage{}, fmt.Errorf("pin local message %d: %w", id, ErrNotFound)
	}
	return scanLocalMessage(tx.queryRow(ctx, `SELECT `+localMessageCols+` FROM local_messages WHERE id = ?`, id))
}

// LocalMessageByTag finds the message a room holds under a tag.
func (db *DB) LocalMessageByTag(ctx context.Context, roomID int64, tag string) (LocalMessage, error) {
	return scanLocalMessage(db.queryRow(ctx, `SELECT `+localMessageCols+` FROM local_messages WHERE room_id = ? AND tag = ?`, roomID, tag))
}

// LocalMessage reads one local message.
func (db *DB) LocalMessage(ctx context.Context, id int64) (LocalMessage, error) {
	return scanLocalMessage(db.queryRow(ctx, `SELECT `+localMessageCols+` FROM local_messages WHERE id = ?`, id))
}

// LocalMessages lists the messages of a local room, oldest first.
func (db *DB) LocalMessages(ctx context.Context, roomID int64) ([]LocalMessage, error) {
	rows, err := db.query(ctx, `SELECT `+localMessageCols+` FROM local_messages WHERE room_id = ? ORDER BY id`, roomID)
	if err != nil {
		return nil, fmt.Errorf("list local messages: %w", err)
	}
	defer rows.Close()
	var out []LocalMessage
	for rows.Next() {
		m, err := scanLocalMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list local messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// LocalAccount is a web room account warroom created itself.
type LocalAccount struct {
	Name         string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
}

// CreateLocalAccount stores an account. It fails if the name is taken.
func (tx *Tx) CreateLocalAccount(ctx context.Context, a LocalAccount) error {
	_, err := tx.exec(ctx, `INSERT INTO local_accounts(name, role, password_hash, created_at) VALUES (?, ?, ?, ?)`,
		a.Name, a.Role, a.PasswordHash, nanos(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("create local account %s: %w", a.Name, err)
	}
	return nil
}

// LocalAccounts lists the stored accounts by name.
func (db *DB) LocalAccounts(ctx context.Context) ([]LocalAccount, error) {
	rows, err := db.query(ctx, `SELECT name, role, password_hash, created_at FROM local_accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list local accounts: %w", err)
	}
	defer rows.Close()
	var out []LocalAccount
	for rows.Next() {
		var a LocalAccount
		var created int64
		if err := rows.Scan(&a.Name, &a.Role, &a.PasswordHash, &created); err != nil {
			return nil, fmt.Errorf("list local accounts: %w", err)
		}
		a.CreatedAt = fromNanos(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// CaseLogHead returns the sequence number of the newest case-log entry (0
// for an empty log). Live views compare it to know whether anything
// happened since they last looked.
func (db *DB) CaseLogHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM case_log`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read case log head: %w", err)
	}
	return seq, nil
}

// LastActivity returns, per incident, the time of its newest case-log entry.
func (db *DB) LastActivity(ctx context.Context) (map[int64]time.Time, error) {
	rows, err := db.query(ctx, `SELECT incident_id, MAX(at) FROM case_log GROUP BY incident_id`)
	if err != nil {
		return nil, fmt.Errorf("read last activity: %w", err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("read last activity: %w", err)
		}
		out[id] = fromNanos(at)
	}
	return out, rows.Err()
}
