package enrichment

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
	"github.com/warroom-bot/warroom/store"
)

// Cache keeps source answers in SQLite, so a restart does not spend a
// rate-limited key on indicators it looked up an hour ago.
type Cache struct {
	DB     *store.DB
	Now    func() time.Time
	Logger *slog.Logger
}

// Get returns a fresh cached answer.
func (c Cache) Get(ctx context.Context, source string, ind ioc.Indicator) (enrich.Result, bool) {
	raw, ok, err := c.DB.CachedResult(ctx, source, string(ind.Type), ind.Value, c.now())
	if err != nil || !ok {
		c.warn(err)
		return enrich.Result{}, false
	}
	var r enrich.Result
	if json.Unmarshal(raw, &r) != nil {
		return enrich.Result{}, false
	}
	return r, true
}

// Put stores an answer for ttl. A failure only costs a later second call,
// so it is logged, not returned.
func (c Cache) Put(ctx context.Context, source string, ind ioc.Indicator, r enrich.Result, ttl time.Duration) {
	raw, err := json.Marshal(r)
	if err == nil {
		err = c.DB.Write(ctx, func(tx *store.Tx) error {
			return tx.CacheResult(ctx, source, string(ind.Type), ind.Value, raw, c.now().Add(ttl))
		})
	}
	c.warn(err)
}

func (c Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c Cache) warn(err error) {
	if err != nil && c.Logger != nil {
		c.Logger.Warn("enrichment cache", "err", err)
	}
}
