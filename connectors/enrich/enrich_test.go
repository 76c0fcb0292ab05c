package enrich_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/enrich/enrichtest"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// offlineSource is a source over local data.
type offlineSource struct{ *enrichtest.Source }

func (offlineSource) Offline() bool { return true }

func answer(v enrich.Verdict, score int, reason string) func(context.Context, ioc.Indicator) (enrich.Result, error) {
	return func(context.Context, ioc.Indicator) (enrich.Result, error) {
		return enrich.Result{Verdict: v, Score: score, Reason: reason}, nil
	}
}

// memCache is a Cache in a map that honours the TTL against the clock it
// is given (the fake clock of a synctest bubble).
type memCache struct {
	mu   sync.Mutex
	m    map[string]cached
	puts int
}

type cached struct {
	r       enrich.Result
	expires time.Time
}

func newMemCache() *memCache { return &memCache{m: map[string]cached{}} }

func cacheKey(source string, ind ioc.Indicator) string {
	return source + "|" + string(ind.Type) + "|" + ind.Value
}

func (c *memCache) Get(_ context.Context, source string, ind ioc.Indicator) (enrich.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[cacheKey(source, ind)]
	if !ok || !time.Now().Before(e.expires) {
		return enrich.Result{}, false
	}
	return e.r, true
}

func (c *memCache) Put(_ context.Context, source string, ind ioc.Indicator, r enrich.Result, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	c.m[cacheKey(source, ind)] = cached{r, time.Now().Add(ttl)}
}

func indicators(t testing.TB, values ...string) []ioc.Indicator {
	t.Helper()
	var out []ioc.Indicator
	for _, v := range values {
		ind, ok := ioc.Classify(v)
		if !ok {
			t.Fatalf("%q does not classify", v)
		}
		out = append(out, ind)
	}
	return out
}

// answerAt is one answer Run handed over, with when it came.
type answerAt struct {
	ind ioc.Indicator
	r   enrich.Result
	at  time.Duration // since the run started
}

// run calls e.Run and collects the answers in the order they came.
func run(ctx context.Context, e *enrich.Enricher, inds []ioc.Indicator, extra ...enrich.Configured) []answerAt {
	start := time.Now()
	var got []answerAt
	e.Run(ctx, inds, func(ind ioc.Indicator, r enrich.Result) {
		got = append(got, answerAt{ind, r, time.Since(start)})
	}, extra...)
	return got
}

func TestRunAsksEverySourceThatSupportsAnIndicator(t *testing.T) {
	ip := &enrichtest.Source{SourceName: "ipintel", Types: []ioc.Type{ioc.TypeIPv4}, Answer: answer(enrich.Malicious, 90, "C2")}
	dom := &enrichtest.Source{SourceName: "domintel", Types: []ioc.Type{ioc.TypeDomain}, Answer: answer(enrich.Clean, 0, "")}
	extra := &enrichtest.Source{SourceName: "history", Types: []ioc.Type{ioc.TypeIPv4, ioc.TypeDomain, ioc.TypeSHA256}, Answer: answer("", 0, "")}
	e := enrich.New([]enrich.Configured{{Source: ip}, {Source: dom}}, nil)
	inds := indicators(t, "45.155.205.233", "evil-updates.com", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

	if n := e.Pending(inds, enrich.Configured{Source: extra}); n != 5 {
		t.Errorf("Pending = %d, want 5 (ipintel 1, domintel 1, history 3)", n)
	}
	got := run(context.Background(), e, inds, enrich.Configured{Source: extra})
	if len(got) != 5 {
		t.Fatalf("%d answers, want 5: %+v", len(got), got)
	}
	for _, a := range got {
		if a.r.Source == "" || a.r.Verdict == "" {
			t.Errorf("answer %+v lacks its source name or verdict", a.r)
		}
	}
	if ip.Calls.Load() != 1 || dom.Calls.Load() != 1 || extra.Calls.Load() != 3 {
		t.Errorf("calls: ipintel %d, domintel %d, history %d; want 1, 1, 3", ip.Calls.Load(), dom.Calls.Load(), extra.Calls.Load())
	}
	if names := e.Sources(); strings.Join(names, ",") != "ipintel,domintel" {
		t.Errorf("Sources = %v: the extra source of one run joined the configured ones", names)
	}
}

// TestSlowSourceDoesNotDelayOthers: a source that sleeps 10 s leaves the
// other sources' answers where they were, at once; its own comes when it
// wakes, or as "timeout" when its timeout is shorter.
func TestSlowSourceDoesNotDelayOthers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    string // the slow source's answer
		at      time.Duration
	}{
		{"slow source answers late", 30 * time.Second, "late", 10 * time.Second},
		{"slow source times out", 2 * time.Second, "timeout", 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				slow := &enrichtest.Source{SourceName: "slow", Types: []ioc.Type{ioc.TypeIPv4}, Answer: func(ctx context.Context, _ ioc.Indicator) (enrich.Result, error) {
					select {
					case <-time.After(10 * time.Second):
						return enrich.Result{Verdict: enrich.Suspicious, Score: 40, Reason: "late"}, nil
					case <-ctx.Done():
						return enrich.Result{}, fmt.Errorf("get /ip: %w", ctx.Err())
					}
				}}
				fast := &enrichtest.Source{SourceName: "fast", Types: []ioc.Type{ioc.TypeIPv4}, Answer: answer(enrich.Malicious, 80, "known bad")}
				local := &enrichtest.Source{SourceName: "local", Types: []ioc.Type{ioc.TypeIPv4}, Answer: answer(enrich.Unknown, enrich.NoScore, "owner alice")}
				e := enrich.New([]enrich.Configured{{Source: slow, Timeout: tc.timeout}, {Source: fast}, {Source: local}}, nil)
				got := run(context.Background(), e, indicators(t, "45.155.205.233"))
				if len(got) != 3 {
					t.Fatalf("%d answers, want 3", len(got))
				}
				for _, a := range got[:2] {
					if a.r.Source == "slow" || a.at != 0 {
						t.Errorf("%s answered after %s, want the fast sources first and at once", a.r.Source, a.at)
					}
				}
				last := got[2]
				if text := last.r.Reason + last.r.Error; last.r.Source != "slow" || text != tc.want || last.at != tc.at {
					t.Errorf("last answer %s %q after %s, want slow %q after %s", last.r.Source, text, last.at, tc.want, tc.at)
				}
			})
		})
	}
}

// quota is a source that refuses, as VirusTotal does, a call that would be
// the fifth within a minute.
func quota(perMinute int) *enrichtest.Source {
	var mu sync.Mutex
	var calls []time.Time
	return &enrichtest.Source{SourceName: "virustotal", Types: []ioc.Type{ioc.TypeIPv4}, Answer: func(context.Context, ioc.Indicator) (enrich.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		recent := 0
		for _, c := range calls {
			if now.Sub(c) < time.Minute {
				recent++
			}
		}
		if recent >= perMinute {
			return enrich.Result{}, errors.New("rate limited: retry after 1m0s")
		}
		calls = append(calls, now)
		return enrich.Result{Verdict: enrich.Clean, Score: 0}, nil
	}}
}

// TestRateLimitQueues: with VirusTotal's public-key quota of 4 lookups a
// minute configured, ten lookups all get answers (four at once, the rest a
// minute later and so on) where without it six are refused.
func TestRateLimitQueues(t *testing.T) {
	var values []string
	for i := 1; i <= 10; i++ {
		values = append(values, fmt.Sprintf("45.155.205.%d", i))
	}
	for _, tc := range []struct {
		name    string
		limited bool
		refused int
		last    time.Duration
	}{
		{"without a limit six are refused", false, 6, 0},
		{"with 4/min all are answered", true, 0, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var limit enrich.Limiter
				if tc.limited {
					limit = enrich.NewWindow(4, time.Minute)
				}
				e := enrich.New([]enrich.Configured{{Source: quota(4), Limit: limit, Timeout: 20 * time.Second}}, nil)
				got := run(context.Background(), e, indicators(t, values...))
				refused := 0
				var last time.Duration
				for _, a := range got {
					if a.r.Error != "" {
						refused++
					}
					last = max(last, a.at)
				}
				if refused != tc.refused || last != tc.last {
					t.Errorf("%d refused, last answer after %s; want %d, %s", refused, last, tc.refused, tc.last)
				}
			})
		})
	}
}

func TestWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := enrich.NewWindow(3, time.Minute)
		ctx := context.Background()
		start := time.Now()
		var at []time.Duration
		for range 7 {
			if err := w.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			at = append(at, time.Since(start))
			time.Sleep(10 * time.Second) // the caller works between calls
		}
		want := []time.Duration{0, 10 * time.Second, 20 * time.Second, time.Minute, 70 * time.Second, 80 * time.Second, 2 * time.Minute}
		if fmt.Sprint(at) != fmt.Sprint(want) {
			t.Errorf("slots at %v, want %v", at, want)
		}

		// At 2m10s a slot is free (the one of 1m10s ran out); the next is
		// at 2m20s. Past the deadline, it fails at once and takes
		// nothing: the next caller without a deadline gets that slot.
		if err := w.Wait(ctx); err != nil || time.Since(start) != 2*time.Minute+10*time.Second {
			t.Errorf("slot at %s (%v), want 2m10s", time.Since(start), err)
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		before := time.Now()
		if err := w.Wait(dctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(before) != 0 {
			t.Errorf("Wait past the deadline = %v after %s, want DeadlineExceeded at once", err, time.Since(before))
		}
		if err := w.Wait(ctx); err != nil || time.Since(start) != 2*time.Minute+10*time.Second+10*time.Second {
			t.Errorf("next slot at %s (%v), want 2m20s", time.Since(start), err)
		}
	})
}

func TestCache(t *testing.T) {
	ip := indicators(t, "45.155.205.233")
	for _, tc := range []struct {
		name      string
		src       func(*enrichtest.Source) enrich.Source
		ttl       time.Duration
		answer    func(context.Context, ioc.Indicator) (enrich.Result, error)
		wantCalls int64 // after three runs, the last after the TTL ran out
	}{
		{"answer cached for the default TTL", plain, 0, answer(enrich.Malicious, 90, "C2"), 2},
		{"answer cached for its TTL", plain, time.Hour, answer(enrich.Malicious, 90, "C2"), 2},
		{"negative TTL: never cached", plain, -1, answer(enrich.Malicious, 90, "C2"), 3},
		{"errors never cached", plain, 0, func(context.Context, ioc.Indicator) (enrich.Result, error) {
			return enrich.Result{}, errors.New("HTTP 503: Service Unavailable")
		}, 3},
		{"offline source not cached by default", offline, 0, answer(enrich.Malicious, 100, "listed"), 3},
		{"offline source cached when a TTL is set", offline, time.Hour, answer(enrich.Malicious, 100, "listed"), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &enrichtest.Source{SourceName: "intel", Types: []ioc.Type{ioc.TypeIPv4}, Answer: tc.answer}
				cache := newMemCache()
				e := enrich.New([]enrich.Configured{{Source: tc.src(s), TTL: tc.ttl}}, cache)
				first := run(context.Background(), e, ip)
				second := run(context.Background(), e, ip)
				ttl := tc.ttl
				if ttl <= 0 {
					ttl = enrich.DefaultTTL
				}
				time.Sleep(ttl)
				third := run(context.Background(), e, ip)
				if n := s.Calls.Load(); n != tc.wantCalls {
					t.Errorf("%d calls, want %d", n, tc.wantCalls)
				}
				hit := tc.wantCalls == 2
				if first[0].r.Cached || second[0].r.Cached != hit || third[0].r.Cached {
					t.Errorf("Cached = %v, %v, %v; want false, %v, false", first[0].r.Cached, second[0].r.Cached, third[0].r.Cached, hit)
				}
				if second[0].r.Verdict != first[0].r.Verdict || second[0].r.Error != first[0].r.Error {
					t.Errorf("second answer %+v differs from the first %+v", second[0].r, first[0].r)
				}
			})
		})
	}
}

func plain(s *enrichtest.Source) enrich.Source   { return s }
func offline(s *enrichtest.Source) enrich.Source { return offlineSource{s} }

// TestTLPFloor: a source's configured level is the least an answer gets,
// also for answers cached before the level was raised.
func TestTLPFloor(t *testing.T) {
	marked := func(tlp string) func(context.Context, ioc.Indicator) (enrich.Result, error) {
		return func(context.Context, ioc.Indicator) (enrich.Result, error) {
			return enrich.Result{Verdict: enrich.Malicious, Score: 100, TLP: tlp}, nil
		}
	}
	ip := indicators(t, "45.155.205.233")
	for _, tc := range []struct {
		name       string
		configured string
		marking    string
		want       string
	}{
		{"no level anywhere", "", "", ""},
		{"configured level applies", "AMBER", "", "amber"},
		{"stricter marking wins", "green", "tlp:red", "red"},
		{"laxer marking does not", "amber", "TLP:CLEAR", "amber"},
		{"amber+strict counts as amber", "", "amber+strict", "amber"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &enrichtest.Source{SourceName: "misp", Types: []ioc.Type{ioc.TypeIPv4}, Answer: marked(tc.marking)}
			got := run(context.Background(), enrich.New([]enrich.Configured{{Source: s, TLP: tc.configured}}, nil), ip)
			if got[0].r.TLP != tc.want {
				t.Errorf("TLP = %q, want %q", got[0].r.TLP, tc.want)
			}
		})
	}

	t.Run("cached answer takes a raised level", func(t *testing.T) {
		cache := newMemCache()
		s := &enrichtest.Source{SourceName: "misp", Types: []ioc.Type{ioc.TypeIPv4}, Answer: marked("")}
		run(context.Background(), enrich.New([]enrich.Configured{{Source: s, TLP: "green"}}, cache), ip)
		got := run(context.Background(), enrich.New([]enrich.Configured{{Source: s, TLP: "red"}}, cache), ip)
		if !got[0].r.Cached || got[0].r.TLP != "red" {
			t.Errorf("cached answer: Cached %v, TLP %q; want true, red", got[0].r.Cached, got[0].r.TLP)
		}
	})
}

func TestShareable(t *testing.T) {
	for _, tc := range []struct {
		tlp            string
		public, closed bool
	}{
		{"", true, true},
		{"clear", true, true},
		{"TLP:WHITE", true, true},
		{"green", true, true},
		{"amber", false, true},
		{"TLP:AMBER+STRICT", false, true},
		{"red", false, false},
		{" tlp:red ", false, false},
	} {
		if got := enrich.Shareable(tc.tlp, false); got != tc.public {
			t.Errorf("Shareable(%q, public room) = %v, want %v", tc.tlp, got, tc.public)
		}
		if got := enrich.Shareable(tc.tlp, true); got != tc.closed {
			t.Errorf("Shareable(%q, private room) = %v, want %v", tc.tlp, got, tc.closed)
		}
	}
}

func TestErrorsReadOnOneLine(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"deadline", fmt.Errorf("get check: %w", context.DeadlineExceeded), "timeout"},
		{"several lines", errors.New("HTTP 500:\n  upstream\tfailed"), "HTTP 500: upstream failed"},
		{"long", errors.New(long), long[:160] + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &enrichtest.Source{SourceName: "abuseipdb", Types: []ioc.Type{ioc.TypeIPv4}, Answer: func(context.Context, ioc.Indicator) (enrich.Result, error) {
				return enrich.Result{}, tc.err
			}}
			got := run(context.Background(), enrich.New([]enrich.Configured{{Source: s}}, nil), indicators(t, "45.155.205.233"))
			r := got[0].r
			if r.Error != tc.want || r.Verdict != enrich.Unknown || r.Score != enrich.NoScore || r.Source != "abuseipdb" {
				t.Errorf("answer = %+v, want an unknown abuseipdb answer with error %q", r, tc.want)
			}
		})
	}
}
