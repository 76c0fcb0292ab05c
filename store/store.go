// Package store keeps warroom's state in SQLite: incidents, their chat rooms,
// the hash-chained case log and the outbox of chat calls still to make.
//
// It is the only package that speaks SQL. All writes go through one writer
// connection and are group-committed: concurrent Write calls that arrive
// together share one transaction, each inside its own savepoint, so one
// caller's failure never undoes another's work and the disk sync is paid once
// per batch instead of once per call.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// maxBatch bounds how many queued writes share one transaction, so a long
// queue still commits regularly and no caller waits behind thousands.
const maxBatch = 256

// DB is an open warroom database.
type DB struct {
	w      *sql.DB // the single writer connection
	r      *sql.DB // a pool of read-only connections
	writes chan *writeReq
	done   chan struct{}
	path   string

	// gen counts committed write batches; read caches compare it to know
	// whether anything may have changed since they were filled.
	gen   atomic.Uint64
	lists listCache
	// noticeEpoch and incidentEpoch: see NoticeEpoch and IncidentEpoch.
	noticeEpoch, incidentEpoch atomic.Int64
}

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	errc chan error
}

// Option adjusts how a database is opened.
type Option func(*options)

type options struct{ sync string }

// WithSync sets SQLite's synchronous mode for commits: "full" (the default)
// makes every commit durable against power loss; "normal" keeps commits
// durable against any crash or kill of the process, lets a power loss roll
// back the last ones, and multiplies write throughput.
func WithSync(mode string) Option { return func(o *options) { o.sync = mode } }

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the writer.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	o := options{sync: "full"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.sync != "full" && o.sync != "normal" {
		return nil, fmt.Errorf("open database: sync must be full or normal, not %q", o.sync)
	}
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	// Pragmas live in the DSN so that every pooled connection gets them.
	// _stmt_cache_size keeps prepared statements per connection: preparing
	// was a third of the cost of an alert's writes. It is large because
	// intake's batched statements differ by the length of their value
	// lists (up to a few hundred texts), and each one is worth keeping.
	params := "_journal_mode=WAL&_busy_timeout=5000&_txlock=immediate&_foreign_keys=on&_synchronous=" +
		strings.ToUpper(o.sync) + "&_stmt_cache_size=512"
	w, err := sql.Open("sqlite3", "file:"+escapePath(path)+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", "file:"+escapePath(path)+"?mode=ro&_busy_timeout=5000&_foreign_keys=on&_query_only=1&_stmt_cache_size=64")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database readers: %w", err)
	}
	r.SetMaxOpenConns(8)
	db := &DB{w: w, r: r, writes: make(chan *writeReq, maxBatch), done: make(chan struct{}), path: path}
	go db.writer()
	return db, nil
}

// escapePath keeps '?' and '#' in a file name from being read as URI syntax.
func escapePath(p string) string {
	return strings.NewReplacer("?", url.QueryEscape("?"), "#", url.QueryEscape("#")).Replace(p)
}

// Close stops the writer and closes the connections. Writes queued before
// Close are committed first.
func (db *DB) Close() error {
	close(db.writes)
	<-db.done
	return errors.Join(db.r.Close(), db.w.Close())
}

// Path returns the file the database lives in.
func (db *DB) Path() string { return db.path }

// Ping reports whether the database answers and its schema is current.
func (db *DB) Ping(ctx context.Context) error {
	var v int
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if want := latestMigration(); v != want {
		return fmt.Errorf("database schema is version %d, want %d", v, want)
	}
	return nil
}

// Write runs fn in a write transaction and returns once it is durably
// committed (or failed). fn may be batched with other callers' functions in
// one transaction; it runs inside its own savepoint, so its error rolls back
// only its own changes. fn must not keep tx after it returns.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	select {
	case db.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write may commit, so wait for the verdict regardless of
	// ctx: returning early would leave the caller unsure what happened.
	return <-req.errc
}

func (db *DB) writer() {
	defer close(db.done)
	for first := range db.writes {
		batch := []*writeReq{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case req, ok := <-db.writes:
				if !ok {
					break fill
				}
				batch = append(batch, req)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

func (db *DB) commit(batch []*writeReq) {
	errs := make([]error, len(batch))
	err := func() error {
		tx, err := db.w.BeginTx(context.Background(), nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		if len(batch) == 1 {
			// Alone in its transaction: a failure rolls the whole of it
			// back, so the savepoint would only cost two statements.
			if errs[0] = db.runAlone(tx, batch[0]); errs[0] != nil {
				return errs[0]
			}
		} else {
			for i, req := range batch {
				errs[i] = db.runSavepoint(tx, req)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	db.gen.Add(1)
	for i, req := range batch {
		if err != nil {
			req.errc <- err
			continue
		}
		req.errc <- errs[i]
	}
}

// runAlone runs one caller's function; a panic becomes its error.
func (db *DB) runAlone(tx *sql.Tx, req *writeReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	if err := req.ctx.Err(); err != nil {
		return err
	}
	return req.fn(&Tx{tx: tx, db: db})
}

// runSavepoint runs one caller's function of a shared transaction inside a
// savepoint, so that its error rolls back only its own changes.
func (db *DB) runSavepoint(tx *sql.Tx, req *writeReq) (err error) {
	if _, err := tx.Exec(`SAVEPOINT w`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err = db.runAlone(tx, req); err != nil {
		if _, rbErr := tx.Exec(`ROLLBACK TO w`); rbErr != nil {
			err = errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rbErr))
		}
	}
	if _, relErr := tx.Exec(`RELEASE w`); relErr != nil && err == nil {
		err = fmt.Errorf("release savepoint: %w", relErr)
	}
	return err
}

// Tx is one caller's share of a write transaction.
type Tx struct {
	tx *sql.Tx
	db *DB
	// head is the case-log entry this caller appended last, so that a
	// caller appending many entries reads the chain head once. A Tx is
	// one caller's and lives for one call, so it cannot go stale.
	head *Entry
}

// Statements inside a write ignore their caller's cancellation: the
// transaction is shared by a batch, and an interrupted statement would make
// SQLite roll back everyone's work. A write that has started finishes.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.r.QueryRowContext(ctx, query, args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.r.QueryContext(ctx, query, args...)
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	for _, m := range migrationFiles() {
		if m.version <= current {
			continue
		}
		body, err := migrations.ReadFile(m.path)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.path, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.path, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, m.version, time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", m.path, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", m.path, err)
		}
	}
	return nil
}

type migration struct {
	version int
	path    string
}

// migrationFiles lists the embedded migrations in version order. Names are
// NNNN_description.sql; a malformed name is a programming error.
func migrationFiles() []migration {
	paths, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var ms []migration
	for _, p := range paths {
		name := strings.TrimPrefix(p, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("store: bad migration name " + name)
		}
		ms = append(ms, migration{version: v, path: p})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms
}

func latestMigration() int {
	ms := migrationFiles()
	return ms[len(ms)-1].version
}

// nanos converts a time to the stored form; the zero time is stored as NULL
// by callers that use nullTime.
func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: nanos(t), Valid: true}
}

func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}
