package bot

import "context"

// Request is a slash command as any platform delivers it.
type Request struct {
	Platform string // "slack"
	User     string // the platform's user id, "U123"
	Channel  string // the platform's channel id where it was typed
	Command  string // the command word without slash: "incident", "contain"
	Text     string // everything after the command word
	// ReplyTo is an opaque handle the platform's Responder can answer later
	// (a Slack response_url, a Discord interaction token).
	ReplyTo string
}

// Actor returns the requesting user's actor id.
func (r Request) Actor() string { return ActorID(r.Platform, r.User) }

// Click is a button press as any platform delivers it.
type Click struct {
	Platform string
	User     string
	Channel  string
	ActionID string // Button.ID
	Value    string // Button.Value
	Message  MessageRef
	ReplyTo  string
}

// Actor returns the clicking user's actor id.
func (c Click) Actor() string { return ActorID(c.Platform, c.User) }

// Reply is the answer to a Request or Click shown to the user who sent it.
type Reply struct {
	Message Message
	// Public posts the reply in the channel for everyone instead of privately.
	Public bool
}

// Empty reports whether there is nothing to say.
func (r Reply) Empty() bool {
	m := r.Message
	return m.Title == "" && m.Text == "" && len(m.Fields) == 0 && len(m.Links) == 0
}

// Handler answers requests and clicks; commands.Router is the real one.
// Adapters call it after they have verified the request.
type Handler interface {
	Command(ctx context.Context, req Request) Reply
	Click(ctx context.Context, click Click) Reply
}

// System is the actor id of warroom itself.
const System = "system"

// ActorID joins a platform and a user id into the actor id used in the case
// log and incident rows: "slack:U123". It keeps users of different platforms apart.
func ActorID(platform, user string) string { return platform + ":" + user }

// SplitActor splits an actor id into platform and user id. System and
// malformed ids give an empty platform.
func SplitActor(actor string) (platform, user string) {
	for i := 0; i < len(actor); i++ {
		if actor[i] == ':' {
			return actor[:i], actor[i+1:]
		}
	}
	return "", actor
}
