package alerts

import (
	"strconv"
	"strings"

	"github.com/warroom-bot/warroom/bot"
)

// GroupKey joins the values of the labels named in by (alerts.group_by) into
// a key, so that alerts with different fingerprints but, say, the same
// alertname and host fold into one incident. The key reads
// `alertname="SSH brute force",host="web-01"`: names in the order given,
// values quoted so that no value can forge a separator.
//
// Labels that an alert lacks are left out, and the key is empty when it has
// none of them, which means "do not group": an alert with nothing in common
// with others must not be lumped with every other such alert. Because every
// parser fills the well-known labels (alertname, host, user, src_ip, dest_ip,
// rule), one group_by list works across sources. A few names fall back to
// the alert itself when no label of that name exists: alertname to the
// title, host to the first hostname observable, user to the first user
// observable, source to the source and severity to the severity. Host values
// are compared case-insensitively, as DNS does.
func GroupKey(a bot.Alert, by []string) string {
	var b strings.Builder
	for _, name := range by {
		v := groupValue(a, name)
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(v))
	}
	return b.String()
}

func groupValue(a bot.Alert, name string) string {
	v := a.Labels[name]
	if v == "" {
		switch name {
		case "alertname":
			v = a.Title
		case "host":
			v = firstObservable(a, "hostname")
		case "user":
			v = firstObservable(a, "user")
		case "source":
			v = a.Source
		case "severity":
			v = a.Severity
		}
	}
	if name == "host" {
		v = strings.ToLower(v)
	}
	return v
}

func firstObservable(a bot.Alert, typ string) string {
	for _, o := range a.Observables {
		if o.Type == typ {
			return o.Value
		}
	}
	return ""
}
