package bot

import (
	"testing"
	"time"
)

func TestReplayCache(t *testing.T) {
	c := ReplayCache{Keep: 6 * time.Minute}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	if !c.Fresh("sig-1", now) {
		t.Fatal("a first signature was refused")
	}
	if c.Fresh("sig-1", now.Add(time.Minute)) {
		t.Error("a replayed signature was accepted")
	}
	// Past the size bound, expired signatures are swept; a fresh one stays.
	for i := range maxReplays + 1 {
		c.Fresh(string(rune(i))+"-old", now)
	}
	later := now.Add(10 * time.Minute)
	c.Fresh("sig-2", later)
	if n := len(c.seen); n > 2 {
		t.Errorf("%d signatures kept after the sweep, want the recent ones only", n)
	}
	if c.Fresh("sig-2", later) {
		t.Error("a recent signature was forgotten by the sweep")
	}
}
