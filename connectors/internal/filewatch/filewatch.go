// Package filewatch keeps an in-memory index built from local files up to
// date without a background goroutine or a file-notification dependency.
//
// Sources over local files (feeds, inventory) are asked many questions per
// incident and their files change a few times a day, so the check rides on
// the lookups: at most once per interval a lookup stats the files, and if a
// modification time or size changed, the changed files are parsed again and
// the index is rebuilt and swapped in atomically. Lookups running at the same
// time keep using the previous index and never wait for the reload.
//
// A file that fails to read or parse keeps its last good contents in the
// index, so that an operator saving a half-edited feed does not silently
// switch a source off; the failure is reported by Problems until the file
// is fixed.
package filewatch

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultEvery is the check interval used when Options.Every is zero. A few
// seconds keeps the stat calls invisible next to a lookup while an edited
// feed is live before a responder can finish typing a command.
const DefaultEvery = 5 * time.Second

// Options configures a Set. Parse turns one file into its part; Build turns
// the parts of all files (in Paths order) into the index lookups use.
type Options[P, I any] struct {
	Paths []string
	Parse func(path string, data []byte) (P, error)
	Build func(parts []P) I
	// Every is the minimum time between two checks; zero means
	// DefaultEvery, negative means every call to Current checks.
	Every time.Duration
	// Now is the clock; nil means time.Now. Tests move it by hand.
	Now func() time.Time
	// Log receives reload events; nil discards them.
	Log *slog.Logger
}

// Set is a group of watched files and the index built from them. It is safe
// for concurrent use.
type Set[P, I any] struct {
	opts Options[P, I]

	next     atomic.Int64 // unix nanoseconds of the next due check
	index    atomic.Pointer[I]
	problems atomic.Pointer[[]error]

	mu    sync.Mutex // held by the one caller that checks and reloads
	files []file[P]
}

type file[P any] struct {
	stamp stamp
	part  P
	ok    bool  // part holds a good parse
	err   error // the last failure, until the file changes and parses
}

// stamp identifies a version of a file. Modification time and size are what
// editors and feed downloaders change; comparing contents would mean reading
// every feed every few seconds.
type stamp struct {
	mod  time.Time
	size int64
}

// Load reads and parses every file. Unlike a reload, the first load fails
// if any file fails, because a source that starts with a missing feed is a
// configuration mistake that should stop startup; all failures are
// reported together.
func Load[P, I any](o Options[P, I]) (*Set[P, I], error) {
	if o.Every == 0 {
		o.Every = DefaultEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Set[P, I]{opts: o, files: make([]file[P], len(o.Paths))}
	var errs []error
	for i, p := range o.Paths {
		st, part, err := load(p, o.Parse)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.files[i] = file[P]{stamp: st, part: part, ok: true}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.rebuild()
	s.next.Store(o.Now().Add(o.Every).UnixNano())
	empty := []error(nil)
	s.problems.Store(&empty)
	return s, nil
}

func load[P any](path string, parse func(string, []byte) (P, error)) (stamp, P, error) {
	var zero P
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, zero, err // a *PathError names the file
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return stamp{}, zero, err
	}
	part, err := parse(path, data)
	if err != nil {
		return stamp{}, zero, err
	}
	return stamp{fi.ModTime(), fi.Size()}, part, nil
}

// Current returns the index, first reloading changed files if a check is
// due. Only one caller performs a due check; the others return the index
// they find without waiting.
func (s *Set[P, I]) Current() I {
	if s.opts.Now().UnixNano() >= s.next.Load() && s.mu.TryLock() {
		s.checkLocked()
		s.mu.Unlock()
	}
	return *s.index.Load()
}

// Reload checks the files now, whatever the interval, and reloads those
// that changed. It returns the current problems joined, or nil.
func (s *Set[P, I]) Reload() error {
	s.mu.Lock()
	s.checkLocked()
	s.mu.Unlock()
	return errors.Join(s.Problems()...)
}

// Problems lists the files that failed their last reload, each error naming
// the file. The index still holds their last good contents.
func (s *Set[P, I]) Problems() []error {
	return *s.problems.Load()
}

func (s *Set[P, I]) checkLocked() {
	defer func() { s.next.Store(s.opts.Now().Add(s.opts.Every).UnixNano()) }()
	changed := false
	for i, p := range s.opts.Paths {
		f := &s.files[i]
		fi, err := os.Stat(p)
		if err != nil {
			// A feed downloader may be replacing the file; keep what we
			// have and say so.
			if f.err == nil || f.err.Error() != err.Error() {
				s.opts.Log.Warn("watched file unavailable, keeping last good copy", "file", p, "err", err)
			}
			f.err = err
			f.stamp = stamp{}
			continue
		}
		if (stamp{fi.ModTime(), fi.Size()}) == f.stamp {
			continue
		}
		st, part, err := load(p, s.opts.Parse)
		if err != nil {
			// Remember the failing version so that it is not parsed again
			// every interval; the next change gets a fresh attempt.
			f.stamp = stamp{fi.ModTime(), fi.Size()}
			f.err = err
			s.opts.Log.Warn("watched file failed to reload, keeping last good copy", "file", p, "err", err)
			continue
		}
		*f = file[P]{stamp: st, part: part, ok: true}
		changed = true
		s.opts.Log.Info("watched file reloaded", "file", p)
	}
	if changed {
		s.rebuild()
	}
	var probs []error
	for _, f := range s.files {
		if f.err != nil {
			probs = append(probs, f.err)
		}
	}
	s.problems.Store(&probs)
}

func (s *Set[P, I]) rebuild() {
	parts := make([]P, 0, len(s.files))
	for _, f := range s.files {
		if f.ok {
			parts = append(parts, f.part)
		}
	}
	idx := s.opts.Build(parts)
	s.index.Store(&idx)
}
