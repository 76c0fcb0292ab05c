package wait

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want time.Duration // slept and reported; ignored when err is set
		err  string
	}{
		{"seconds", "30s", 30 * time.Second, ""},
		{"padded", " 1m30s ", 90 * time.Second, ""},
		{"a day", "1d", 24 * time.Hour, ""},
		{"zero", "0s", 0, ""},
		{"Duration value", 5 * time.Minute, 5 * time.Minute, ""},
		{"missing", nil, 0, "with.duration: required input missing"},
		{"not a duration", "soon", 0, `with.duration: invalid duration "soon"`},
		{"no unit", "30", 0, "invalid duration"},
		{"wrong type", 30, 0, "expected a duration"},
		{"negative", "-1s", 0, "must be between 0 and 24h"},
		{"too long", "1d1s", 0, "must be between 0 and 24h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var slept []time.Duration
			a := New(func(ctx context.Context, d time.Duration) error {
				slept = append(slept, d)
				return nil
			})
			with := map[string]any{}
			if tt.in != nil {
				with["duration"] = tt.in
			}
			out, err := a.Run(context.Background(), connectors.Call{With: with})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want one containing %q", err, tt.err)
				}
				if len(slept) != 0 {
					t.Errorf("slept %v after an input error", slept)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(slept) != 1 || slept[0] != tt.want {
				t.Errorf("slept %v, want [%s]", slept, tt.want)
			}
			if out["waited_ms"] != int(tt.want.Milliseconds()) {
				t.Errorf("waited_ms = %#v, want %d", out["waited_ms"], tt.want.Milliseconds())
			}
		})
	}
}

func TestInjectedSleepError(t *testing.T) {
	a := New(func(ctx context.Context, d time.Duration) error { return context.Canceled })
	out, err := a.Run(context.Background(), connectors.Call{With: map[string]any{"duration": "1h"}})
	if !errors.Is(err, context.Canceled) || out != nil {
		t.Errorf("out %v, err %v", out, err)
	}
}

// TestDefaultSleep runs the wall-clock Sleep in a synctest bubble, whose
// fake clock jumps forward when every goroutine is blocked.
func TestDefaultSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		out, err := New(nil).Run(context.Background(), connectors.Call{With: map[string]any{"duration": "2h"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 2*time.Hour {
			t.Errorf("slept %s, want 2h", got)
		}
		if out["waited_ms"] != int((2 * time.Hour).Milliseconds()) {
			t.Errorf("waited_ms = %v", out["waited_ms"])
		}
	})
}

func TestDefaultSleepHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		_, err := New(nil).Run(ctx, connectors.Call{With: map[string]any{"duration": "1h"}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if got := time.Since(start); got != 10*time.Minute {
			t.Errorf("returned after %s, want 10m", got)
		}
	})
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:             "24h",
		90 * time.Minute:           "1h30m",
		30 * time.Second:           "30s",
		time.Hour + 10*time.Second: "1h0m10s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
