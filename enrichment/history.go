package enrichment

import (
	"context"
	"fmt"
	"strings"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
	"github.com/warroom-bot/warroom/store"
)

const historyName = "history"

// history is the source that needs no configuration: earlier incidents in
// the store that saw the same indicator, with their outcome. It is built per
// job so that an incident does not find itself.
type history struct {
	db      *store.DB
	exclude int64
}

// History returns the history source over db for an incident (0: none to
// exclude). It is never cached: a second incident seeing the indicator is
// news.
func History(db *store.DB, incidentID int64) enrich.Configured {
	return enrich.Configured{Source: history{db: db, exclude: incidentID}, TTL: -1}
}

func (history) Name() string { return historyName }

// Supports accepts every indicator: a private address or an internal host
// seen before is as telling as a public one, and nothing leaves the store.
func (history) Supports(ioc.Indicator) bool { return true }

// maxHistory bounds the incidents named in one answer.
const maxHistory = 5

func (h history) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	ins, err := h.db.IncidentsWithIndicator(ctx, string(ind.Type), ind.Value, h.exclude, maxHistory+1)
	if err != nil {
		return enrich.Result{}, err
	}
	r := enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore}
	if len(ins) == 0 {
		r.Reason = "not seen in earlier incidents"
		return r, nil
	}
	var seen []string
	for i, in := range ins {
		if i == maxHistory {
			seen = append(seen, "and more")
			break
		}
		seen = append(seen, in.Ref()+" ("+outcome(in)+")")
		r.Facts = append(r.Facts, enrich.Fact{Label: in.Ref(), Value: in.Title})
	}
	r.Reason = "seen in " + strings.Join(seen, ", ")
	return r, nil
}

// outcome is how an earlier incident ended, in a few words.
func outcome(in store.Incident) string {
	if in.Status != "closed" || in.Summary == "" {
		return in.Status
	}
	s := in.Summary
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return fmt.Sprintf("closed: %s", s)
}
