package enrichment

import (
	"context"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

const rangesName = "iana"

// ranges is the offline registration data every install has: which
// special-purpose range (IANA's registries) a non-public address is in. It
// is what RDAP would answer for such an address, without a network call,
// and it tells a responder at once that 203.0.113.7 is a sample from a
// document or that 100.64.3.9 is carrier-grade NAT.
type ranges struct{}

// Ranges returns the special-purpose range source; it is always on.
func Ranges() enrich.Configured { return enrich.Configured{Source: ranges{}, TTL: -1} }

func (ranges) Name() string { return rangesName }

func (ranges) Supports(ind ioc.Indicator) bool {
	return (ind.Type == ioc.TypeIPv4 || ind.Type == ioc.TypeIPv6) && ind.Scope != ioc.ScopePublic
}

func (ranges) Lookup(_ context.Context, ind ioc.Indicator) (enrich.Result, error) {
	r := enrich.Result{Verdict: enrich.Unknown, Score: enrich.NoScore}
	prefix, name, ok := ioc.SpecialRange(ind.Value)
	if !ok {
		return r, nil
	}
	r.Reason = name + ", " + prefix.String()
	r.Facts = []enrich.Fact{{Label: "range", Value: prefix.String()}, {Label: "registry", Value: name}}
	return r, nil
}
