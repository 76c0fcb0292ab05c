// Package enrichtest has a fake enrichment source for the tests of the
// packages that run sources: it answers as told and counts its calls.
package enrichtest

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// Source is a fake enrich.Source.
type Source struct {
	SourceName string
	Types      []ioc.Type // the indicator types it supports
	Answer     func(ctx context.Context, ind ioc.Indicator) (enrich.Result, error)
	Calls      atomic.Int64 // lookups made
}

// Name implements enrich.Source.
func (s *Source) Name() string { return s.SourceName }

// Supports implements enrich.Source.
func (s *Source) Supports(ind ioc.Indicator) bool { return slices.Contains(s.Types, ind.Type) }

// Lookup implements enrich.Source: it counts the call and answers.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	s.Calls.Add(1)
	return s.Answer(ctx, ind)
}
