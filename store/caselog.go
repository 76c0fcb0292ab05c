package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Entry is one case-log entry. Entries are chained: Hash is
// SHA-256(PrevHash || canonical form of the entry), over the whole table in
// Seq order, so altering, removing or reordering any entry breaks the chain
// from that point on.
type Entry struct {
	Seq        int64
	IncidentID int64
	At         time.Time
	Actor      string // "slack:U123", "local:alice", or "system"
	Kind       string // e.g. "incident.opened", "status.changed"
	Body       json.RawMessage
	PrevHash   string // hex
	Hash       string // hex
}

// canonical is the exact byte string that is hashed for an entry. A JSON
// array of fixed order: unambiguous field boundaries, stable across versions.
func (e Entry) canonical() []byte {
	b, err := json.Marshal([]any{e.Seq, e.IncidentID, e.At.UTC().UnixNano(), e.Actor, e.Kind, string(e.Body)})
	if err != nil {
		panic(err) // only basic types above: cannot fail
	}
	return b
}

func chainHash(prevHex string, e Entry) (string, error) {
	prev, err := hex.DecodeString(prevHex)
	if err != nil {
		return "", fmt.Errorf("previous hash is not hex: %w", err)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(e.canonical())
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Append adds an entry for an incident and returns it with its sequence
// number and hash. body is marshalled to JSON; nil becomes {}.
func (tx *Tx) Append(ctx context.Context, incidentID int64, at time.Time, actor, kind string, body any) (Entry, error) {
	entries, err := tx.AppendAll(ctx, []NewEntry{{IncidentID: incidentID, At: at, Actor: actor, Kind: kind, Body: body}})
	if err != nil {
		return Entry{}, err
	}
	return entries[0], nil
}

// NewEntry is an entry to append.
type NewEntry struct {
	IncidentID int64
	At         time.Time
	Actor      string
	Kind       string
	Body       any // marshalled to JSON; nil becomes {}
}

// appendChunk bounds the rows of one INSERT (8 parameters each).
const appendChunk = 128

// AppendAll appends entries in order, chaining each to the one before, with
// one INSERT per chunk of rows: intake appends an entry per fingerprint of
// a batch, and one statement costs far less than a hundred.
func (tx *Tx) AppendAll(ctx context.Context, entries []NewEntry) ([]Entry, error) {
	var last Entry
	if tx.head != nil {
		// This caller appended before in this transaction: its entry is the
		// head, and no one else writes between a caller's statements.
		last = *tx.head
	} else {
		err := tx.queryRow(ctx, `SELECT seq, hash FROM case_log ORDER BY seq DESC LIMIT 1`).Scan(&last.Seq, &last.Hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("append: read chain head: %w", err)
		}
	}
	out := make([]Entry, len(entries))
	for i, n := range entries {
		raw := json.RawMessage("{}")
		if n.Body != nil {
			// Marshal's output is compact, a json.RawMessage body included
			// (it is compacted as it is encoded), so the hash covers one
			// canonical spelling of the body.
			b, err := json.Marshal(n.Body)
			if err != nil {
				return nil, fmt.Errorf("append %s: encode body: %w", n.Kind, err)
			}
			raw = b
		}
		e := Entry{Seq: last.Seq + 1, IncidentID: n.IncidentID, At: n.At.UTC(), Actor: n.Actor, Kind: n.Kind, Body: raw, PrevHash: last.Hash}
		var err error
		if e.Hash, err = chainHash(e.PrevHash, e); err != nil {
			return nil, fmt.Errorf("append %s: %w", n.Kind, err)
		}
		out[i], last = e, e
	}
	for start := 0; start < len(out); start += appendChunk {
		part := out[start:min(start+appendChunk, len(out))]
		args := make([]any, 0, 8*len(part))
		for _, e := range part {
			args = append(args, e.Seq, e.IncidentID, nanos(e.At), e.Actor, e.Kind, string(e.Body), e.PrevHash, e.Hash)
		}
		_, err := tx.exec(ctx, `INSERT INTO case_log(seq, incident_id, at, actor, kind, body, prev_hash, hash) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", len(part)), ", "), args...)
		if err != nil {
			return nil, fmt.Errorf("append %s: %w", part[0].Kind, err)
		}
	}
	if len(out) > 0 {
		tx.head = &Entry{Seq: last.Seq, Hash: last.Hash}
	}
	return out, nil
}

const entryCols = `seq, incident_id, at, actor, kind, body, prev_hash, hash`

func scanEntry(s scanner) (Entry, error) {
	var e Entry
	var at int64
	var body string
	if err := s.Scan(&e.Seq, &e.IncidentID, &at, &e.Actor, &e.Kind, &body, &e.PrevHash, &e.Hash); err != nil {
		return Entry{}, err
	}
	e.At, e.Body = fromNanos(at), json.RawMessage(body)
	return e, nil
}

// Entries returns the last n entries of an incident (all of them when n <= 0),
// oldest first.
func (db *DB) Entries(ctx context.Context, incidentID int64, n int) ([]Entry, error) {
	q := `SELECT ` + entryCols + ` FROM case_log WHERE incident_id = ? ORDER BY seq DESC`
	args := []any{incidentID}
	if n > 0 {
		q += ` LIMIT ?`
		args = append(args, n)
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read case log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("read case log: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read case log: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Verification is the outcome of walking the case-log chain.
type Verification struct {
	Entries int    // entries checked
	Head    string // hash of the last good entry
	Bad     *BadEntry
}

// BadEntry names the first entry where the chain breaks.
type BadEntry struct {
	Seq        int64
	IncidentID int64
	Reason     string
}

// Verify walks the whole case log in order and recomputes every hash. It
// stops at the first broken link: everything after it is unproven.
func (db *DB) Verify(ctx context.Context) (Verification, error) {
	rows, err := db.query(ctx, `SELECT `+entryCols+` FROM case_log ORDER BY seq`)
	if err != nil {
		return Verification{}, fmt.Errorf("verify case log: %w", err)
	}
	defer rows.Close()
	var v Verification
	prev := Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return v, fmt.Errorf("verify case log: %w", err)
		}
		bad := func(format string, args ...any) (Verification, error) {
			v.Bad = &BadEntry{Seq: e.Seq, IncidentID: e.IncidentID, Reason: fmt.Sprintf(format, args...)}
			return v, nil
		}
		switch {
		case e.Seq != prev.Seq+1:
			return bad("sequence jumps from %d to %d: entries are missing", prev.Seq, e.Seq)
		case e.PrevHash != prev.Hash:
			return bad("previous-hash link does not match entry %d", prev.Seq)
		}
		want, err := chainHash(e.PrevHash, e)
		if err != nil {
			return bad("%v", err)
		}
		if want != e.Hash {
			return bad("content does not match its hash")
		}
		v.Entries++
		v.Head = e.Hash
		prev = e
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("verify case log: %w", err)
	}
	return v, nil
}
