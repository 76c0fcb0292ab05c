package digests

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/config"
)

// FromConfig builds the jobs and reminders of the digests and reminders
// blocks. platforms are the chat platforms in use; a channel without a
// "slack:" or "discord:" prefix goes to the first of them.
func FromConfig(cfg *config.Config, platforms []string) ([]Job, Reminders, error) {
	var jobs []Job
	for _, dc := range cfg.Digests {
		sched, err := config.ParseSchedule(dc.Schedule)
		if err != nil {
			return nil, Reminders{}, fmt.Errorf("digest %s: %w", dc.Name, err)
		}
		platform, channel, ok := strings.Cut(dc.Channel, ":")
		if !ok {
			if len(platforms) == 0 {
				return nil, Reminders{}, fmt.Errorf("digest %s: no chat platform is configured to post it to", dc.Name)
			}
			platform, channel = platforms[0], dc.Channel
		}
		jobs = append(jobs, Job{
			Name: dc.Name, Schedule: sched, Loc: location(dc.Schedule), Platform: platform, Channel: channel,
			Filter: Filter{Statuses: dc.Filter.Status, MinSeverity: dc.Filter.MinSeverity}, SkipEmpty: dc.SkipEmpty,
		})
	}
	r := Reminders{
		QuietAfter: cfg.Reminders.QuietAfter.Std(), UnassignedAfter: cfg.Reminders.UnassignedAfter.Std(),
		Repeat: cfg.Reminders.Repeat.Std(), Leads: slices.Concat(cfg.Roles["lead"], cfg.Roles["leads"]),
	}
	return jobs, r, nil
}

// location is the time zone a schedule names (CRON_TZ= or TZ=), else UTC.
func location(spec string) *time.Location {
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if rest, ok := strings.CutPrefix(spec, p); ok {
			if loc, err := time.LoadLocation(strings.Fields(rest + " ")[0]); err == nil {
				return loc
			}
		}
	}
	return time.UTC
}
