package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors/abuseipdb"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/feeds"
	"github.com/warroom-bot/warroom/connectors/greynoise"
	"github.com/warroom-bot/warroom/connectors/inventory"
	"github.com/warroom-bot/warroom/connectors/ioc"
	"github.com/warroom-bot/warroom/connectors/misp"
	"github.com/warroom-bot/warroom/connectors/rdap"
	"github.com/warroom-bot/warroom/connectors/virustotal"
	"github.com/warroom-bot/warroom/enrichment"
)

// sourceDefaults are the published limits of the free tiers, applied when
// the config names none, so a fresh key is queued rather than refused.
var sourceDefaults = map[string]string{
	"virustotal": "4/min",
	"abuseipdb":  "1000/day",
}

// sourceBuilders build the enrichment sources; a connector named in the
// config and found here is a source.
var sourceBuilders = map[string]func(cc config.ConnectorConfig, hc *http.Client) (enrich.Source, error){
	"virustotal": func(cc config.ConnectorConfig, hc *http.Client) (enrich.Source, error) {
		return virustotal.New(virustotal.Config{APIKey: cc.APIKey.Reveal(), APIURL: cc.APIURL, HTTP: hc})
	},
	"abuseipdb": func(cc config.ConnectorConfig, hc *http.Client) (enrich.Source, error) {
		return abuseipdb.New(abuseipdb.Config{APIKey: cc.APIKey.Reveal(), APIURL: cc.APIURL, HTTP: hc})
	},
	"greynoise": func(cc config.ConnectorConfig, hc *http.Client) (enrich.Source, error) {
		return greynoise.New(greynoise.Config{APIKey: cc.APIKey.Reveal(), APIURL: cc.APIURL, HTTP: hc})
	},
	"misp": func(cc config.ConnectorConfig, hc *http.Client) (enrich.Source, error) {
		mc := misp.Config{APIKey: cc.APIKey.Reveal(), APIURL: cc.APIURL, HTTP: hc}
		if cc.Options["insecure_skip_verify"] == "true" {
			// MISP instances often run on self-signed certificates; the
			// package then builds its own client.
			mc.InsecureSkipVerify, mc.HTTP = true, nil
		}
		return misp.New(mc)
	},
	"rdap": func(cc config.ConnectorConfig, hc *http.Client) (enrich.Source, error) {
		return rdap.New(rdap.Config{APIURL: cc.APIURL, HTTP: hc})
	},
	"feeds": func(cc config.ConnectorConfig, _ *http.Client) (enrich.Source, error) {
		return feeds.New(feeds.Config{Files: cc.Files, TLP: cc.TLP, Log: slog.Default()})
	},
	"inventory": func(cc config.ConnectorConfig, _ *http.Client) (enrich.Source, error) {
		file := cc.File
		if file == "" && len(cc.Files) > 0 {
			file = cc.Files[0]
		}
		return inventory.New(inventory.Config{File: file, Log: slog.Default()})
	},
}

// enrichSources builds every enabled enrichment source in the config, in
// name order, with its timeout, rate limit, cache lifetime and TLP level.
func enrichSources(cfg *config.Config) ([]enrich.Configured, error) {
	var out []enrich.Configured
	err := buildEnabled(cfg, sourceBuilders, func(name string, cc config.ConnectorConfig, src enrich.Source) error {
		c := enrich.Configured{Source: src, Timeout: cc.Timeout.Std(), TTL: cc.CacheTTL.Std(), TLP: cc.TLP}
		limit := cc.RateLimit
		if limit == "" {
			limit = sourceDefaults[name]
		}
		if limit != "" {
			r, err := config.ParseRate(limit)
			if err != nil {
				return fmt.Errorf("connectors.%s.rate_limit: %w", name, err)
			}
			c.Limit = enrich.NewWindow(r.N, r.Per)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// newEnrichment builds the worker that enriches every new incident;
// buttons offers the playbooks that act on a malicious indicator.
func newEnrichment(cfg *config.Config, svc *bot.Service, buttons func(int64, ioc.Indicator) []bot.Button, log *slog.Logger) (*enrichment.Worker, error) {
	sources, err := enrichSources(cfg)
	if err != nil {
		return nil, err
	}
	allow, err := ioc.ParseAllowlist(cfg.Enrichment.Allowlist)
	if err != nil {
		return nil, fmt.Errorf("enrichment.allowlist: %w", err)
	}
	enr := enrich.New(sources, enrichment.Cache{DB: svc.DB(), Logger: log})
	log.Info("enrichment sources", "sources", strings.Join(append(enr.Sources(), "history", "iana"), ","))
	return enrichment.New(enrichment.Options{
		Service: svc, Enricher: enr, Allow: allow, MaxIndicators: cfg.Enrichment.MaxIndicators, Buttons: buttons, Logger: log,
	}), nil
}

// cmdEnrich runs `warroom enrich IOC... [--json]`: every configured source
// asked about each indicator, from a shell. With a database present it also
// uses the cache and names earlier incidents that saw the indicator.
// Indicators in enrichment.allowlist are printed as such and not looked up.
func cmdEnrich(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: warroom enrich IOC... [--json]"
	fs, cfgPath := flags("enrich", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per indicator")
	pos, err := parse(fs, args)
	if err != nil || len(pos) == 0 {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	allow, err := ioc.ParseAllowlist(cfg.Enrichment.Allowlist)
	if err != nil {
		return fmt.Errorf("enrichment.allowlist: %w", err)
	}
	var inds, lookups []ioc.Indicator
	for _, w := range pos {
		in, ok := ioc.Classify(w)
		if !ok {
			fmt.Fprintf(stderr, "%q is not an indicator warroom recognises\n%s\n", w, use)
			return errUsage
		}
		if slices.Contains(inds, in) {
			continue
		}
		inds = append(inds, in)
		// An allowlisted value (our own domains, ranges, scanners) is
		// never sent to a source, from a shell either.
		if !allow.Allows(in) {
			lookups = append(lookups, in)
		}
	}
	sources, err := enrichSources(cfg)
	if err != nil {
		return err
	}
	var cache enrich.Cache
	extra := []enrich.Configured{enrichment.Ranges()}
	if db, err := openIfPresent(ctx, cfg); err != nil {
		return err
	} else if db != nil {
		defer db.Close()
		cache = enrichment.Cache{DB: db}
		extra = append(extra, enrichment.History(db, 0))
	}
	findings := make([]finding, len(inds))
	index := map[ioc.Indicator]int{}
	for i, in := range inds {
		findings[i] = finding{Finding: enrichment.Finding{Indicator: in}, allowlisted: allow.Allows(in)}
		index[in] = i
	}
	ctx, cancel := context.WithTimeout(ctx, enrichTimeout)
	defer cancel()
	enrich.New(sources, cache).Run(ctx, lookups, func(in ioc.Indicator, r enrich.Result) {
		f := &findings[index[in]]
		f.Results = append(f.Results, r)
	}, extra...)
	if *asJSON {
		return writeFindingsJSON(stdout, findings)
	}
	return writeFindingsText(stdout, findings)
}

// finding is what `warroom enrich` prints about one indicator.
type finding struct {
	enrichment.Finding
	// allowlisted says enrichment.allowlist holds the indicator, so no
	// source was asked.
	allowlisted bool
}

// enrichTimeout bounds `warroom enrich` as a whole: long enough for a
// rate-limited key to answer a few indicators, short enough for a shell.
const enrichTimeout = 2 * time.Minute

type sourceJSON struct {
	Source  string        `json:"source"`
	Verdict string        `json:"verdict"`
	Score   *int          `json:"score"`
	Reason  string        `json:"reason,omitempty"`
	Link    string        `json:"link,omitempty"`
	Facts   []enrich.Fact `json:"facts,omitempty"`
	TLP     string        `json:"tlp,omitempty"`
	Error   string        `json:"error,omitempty"`
	Cached  bool          `json:"cached,omitempty"`
}

type findingJSON struct {
	Type        string       `json:"type"`
	Value       string       `json:"value"`
	Scope       string       `json:"scope,omitempty"`
	Verdict     string       `json:"verdict"`
	Allowlisted bool         `json:"allowlisted,omitempty"`
	Sources     []sourceJSON `json:"sources"`
}

// writeFindingsJSON prints one JSON object per indicator, one per line.
// A source without a score prints "score": null rather than a made-up 0.
func writeFindingsJSON(w io.Writer, findings []finding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, f := range findings {
		out := findingJSON{Type: string(f.Indicator.Type), Value: f.Indicator.Value, Scope: string(f.Indicator.Scope),
			Verdict: string(f.Verdict()), Allowlisted: f.allowlisted, Sources: []sourceJSON{}}
		for _, r := range f.Results {
			s := sourceJSON{Source: r.Source, Verdict: string(r.Verdict), Reason: r.Reason, Link: r.Link, Facts: r.Facts,
				TLP: r.TLP, Error: r.Error, Cached: r.Cached}
			if r.Score != enrich.NoScore {
				s.Score = &r.Score
			}
			out.Sources = append(out.Sources, s)
		}
		sort.Slice(out.Sources, func(i, j int) bool { return out.Sources[i].Source < out.Sources[j].Source })
		if err := enc.Encode(out); err != nil {
			return err
		}
	}
	return nil
}

func writeFindingsText(w io.Writer, findings []finding) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, f := range findings {
		fmt.Fprintf(tw, "%s %s\t%s\t\n", f.Indicator.Type, f.Indicator.Value, strings.ToUpper(string(f.Verdict())))
		switch {
		case f.allowlisted:
			fmt.Fprintln(tw, "  allowlisted (enrichment.allowlist): not looked up\t\t")
		case len(f.Results) == 0:
			fmt.Fprintln(tw, "  no source looks up this kind of indicator\t\t")
		}
		for _, r := range f.Results {
			detail := r.Reason
			if r.Error != "" {
				detail = "error: " + r.Error
			}
			score := ""
			if r.Score != enrich.NoScore {
				score = fmt.Sprintf(" (%d)", r.Score)
			}
			fmt.Fprintf(tw, "  %s\t%s%s\t%s\n", r.Source, r.Verdict, score, detail)
		}
	}
	return tw.Flush()
}
