package fakeslack

import (
	"encoding/json"
	"net/url"
	"slices"
	"time"

	"github.com/slack-go/slack"
)

// Channel is a snapshot of a conversation as the fake holds it. Tests assert
// on it directly instead of round-tripping through conversations.info.
type Channel struct {
	// ID is the Slack conversation ID, e.g. "C0000001".
	ID string
	// Name is the channel name without the leading '#'.
	Name string
	// Private reports whether the channel was created with is_private.
	Private bool
	// Archived reports whether conversations.archive has been called.
	Archived bool
	// Topic is the current topic text.
	Topic string
	// Purpose is the current purpose text.
	Purpose string
	// Members are the user IDs in the channel, in the order they joined.
	Members []string
	// Creator is the user ID that created the channel.
	Creator string
	// Created is when the channel was created, truncated to the second the
	// way Slack reports it.
	Created time.Time
}

// HasMember reports whether userID is in the channel.
func (c Channel) HasMember(userID string) bool {
	return slices.Contains(c.Members, userID)
}

// Message is a snapshot of one message in a channel, including thread
// replies.
type Message struct {
	// Channel is the conversation ID the message is in.
	Channel string
	// TS is the message timestamp, which is also its ID.
	TS string
	// ThreadTS is the parent's timestamp for replies (and for parents that
	// have replies); empty otherwise.
	ThreadTS string
	// ReplyBroadcast reports whether a reply was also sent to the channel.
	ReplyBroadcast bool
	// User is the author's user ID.
	User string
	// BotID is set when the bot token posted the message.
	BotID string
	// Text is the message text (the fallback text when blocks are set).
	Text string
	// Blocks is the raw JSON array of blocks, or nil when none were sent.
	Blocks json.RawMessage
	// Attachments is the raw JSON array of legacy attachments, or nil.
	Attachments json.RawMessage
	// Metadata is the raw message metadata object, or nil.
	Metadata json.RawMessage
	// Edits counts successful chat.update calls (and replace_original
	// responses) on this message.
	Edits int
	// ReplyCount is the number of thread replies to this message.
	ReplyCount int
}

// SlackBlocks decodes Blocks with slack-go's block decoder, so tests can
// assert on typed blocks rather than JSON.
func (m Message) SlackBlocks() (slack.Blocks, error) {
	var b slack.Blocks
	if len(m.Blocks) == 0 {
		return b, nil
	}
	err := json.Unmarshal(m.Blocks, &b)
	return b, err
}

// SlackMetadata decodes Metadata into slack-go's metadata type.
func (m Message) SlackMetadata() (slack.SlackMetadata, error) {
	var md slack.SlackMetadata
	if len(m.Metadata) == 0 {
		return md, nil
	}
	err := json.Unmarshal(m.Metadata, &md)
	return md, err
}

// IsReply reports whether the message is a thread reply rather than a
// top-level message.
func (m Message) IsReply() bool {
	return m.ThreadTS != "" && m.ThreadTS != m.TS
}

// Ephemeral is a message sent with chat.postEphemeral. Slack never stores
// these in history, so the fake keeps them separately.
type Ephemeral struct {
	// Channel is the conversation ID the ephemeral was shown in.
	Channel string
	// User is the only user who can see the message.
	User string
	// MessageTS is the timestamp returned to the caller as message_ts.
	MessageTS string
	// ThreadTS is set when the ephemeral was shown in a thread.
	ThreadTS string
	// Text is the message text.
	Text string
	// Blocks is the raw JSON array of blocks, or nil.
	Blocks json.RawMessage
}

// SlackBlocks decodes Blocks with slack-go's block decoder.
func (e Ephemeral) SlackBlocks() (slack.Blocks, error) {
	return Message{Blocks: e.Blocks}.SlackBlocks()
}

// View is a modal opened with views.open.
type View struct {
	// ID is the view ID the fake assigned, e.g. "V0000001".
	ID string
	// TriggerID is the trigger the view was opened with.
	TriggerID string
	// Type is the view type ("modal").
	Type string
	// CallbackID is the view's callback_id.
	CallbackID string
	// PrivateMetadata is the view's private_metadata.
	PrivateMetadata string
	// ExternalID is the view's external_id.
	ExternalID string
	// Raw is the view object exactly as the client sent it.
	Raw json.RawMessage
}

// Modal decodes Raw into slack-go's modal request type.
func (v View) Modal() (slack.ModalViewRequest, error) {
	var m slack.ModalViewRequest
	err := json.Unmarshal(v.Raw, &m)
	return m, err
}

// Call is one request the fake received, recorded whether or not it
// succeeded, so tests can assert on what the adapter actually sent.
type Call struct {
	// Method is the Web API method, e.g. "chat.postMessage", or
	// ResponseURLMethod for posts to a response_url.
	Method string
	// Form holds the request parameters without the token. For JSON bodies
	// the top-level fields are flattened into it: strings as-is, everything
	// else as compact JSON, so Form.Get works the same for both encodings.
	Form url.Values
	// JSON is the decoded JSON body, or nil for form-encoded requests.
	JSON map[string]any
	// Token is the token the request authenticated with, from the
	// Authorization header or the token parameter.
	Token string
	// Time is when the request arrived.
	Time time.Time
	// Fault is the injected fault that answered the call, or nil.
	Fault *Fault
	// Error is the Slack error code of an ok:false answer (including one from
	// a SlackError fault); empty for successes and transport faults.
	Error string
}

// Response is one JSON message posted to a response_url.
type Response struct {
	// URL is the response_url that was posted to.
	URL string
	// ResponseType is "ephemeral", "in_channel" or empty.
	ResponseType string
	// Text is the message text.
	Text string
	// Blocks is the raw JSON array of blocks, or nil.
	Blocks json.RawMessage
	// ReplaceOriginal reports the replace_original flag.
	ReplaceOriginal bool
	// DeleteOriginal reports the delete_original flag.
	DeleteOriginal bool
	// ThreadTS is the thread_ts field, if any.
	ThreadTS string
	// Raw is the whole body as posted.
	Raw json.RawMessage
	// Time is when the post arrived.
	Time time.Time
}

// SlackBlocks decodes Blocks with slack-go's block decoder.
func (r Response) SlackBlocks() (slack.Blocks, error) {
	return Message{Blocks: r.Blocks}.SlackBlocks()
}

// Ack is an acknowledgement a Socket Mode client sent for an envelope.
type Ack struct {
	// EnvelopeID is the envelope being acknowledged.
	EnvelopeID string
	// Payload is the response payload sent with the ack, or nil if the
	// client acknowledged without one.
	Payload json.RawMessage
	// Time is when the ack arrived.
	Time time.Time
}

// pin is one pinned message; who and when are kept for pins.list.
type pin struct {
	TS      string
	By      string
	Created time.Time
}

// State is the fake's whole world. It is only ever handed to callbacks (see
// Server.WaitFor) while the server's lock is held, which is why its methods
// do no locking themselves and why callbacks must not call back into the
// Server. The Server has a locking wrapper for every accessor.
type State struct {
	channels     map[string]*channel
	channelOrder []string
	users        map[string]slack.User
	userGroups   map[string][]string
	ephemerals   []Ephemeral
	views        []View
	usedTriggers map[string]bool
	calls        []Call
	responseURLs map[string]*responseURL
	acks         map[string]Ack
	ackOrder     []string
	tickets      map[string]bool
	pending      []envelope
	sockets      map[*socketConn]bool

	seq uint64 // shared counter for IDs and timestamps
}

// channel is the mutable record behind Channel; the extra fields are kept
// out of the exported snapshot so tests can compare snapshots with cmp
// without AllowUnexported.
type channel struct {
	Channel
	topicBy  string
	topicSet time.Time
	messages []*message
	pins     []pin
}

// message is the mutable record behind Message.
type message struct {
	Message
	editedTS string
}

type responseURL struct {
	channel, ts string
	posts       []Response
}

func newState() *State {
	return &State{
		channels:     map[string]*channel{},
		users:        map[string]slack.User{},
		userGroups:   map[string][]string{},
		usedTriggers: map[string]bool{},
		responseURLs: map[string]*responseURL{},
		acks:         map[string]Ack{},
		tickets:      map[string]bool{},
		sockets:      map[*socketConn]bool{},
	}
}

func (c *channel) snapshot() Channel {
	out := c.Channel
	out.Members = slices.Clone(c.Members)
	return out
}

func (c *channel) message(ts string) (*message, int) {
	for i, m := range c.messages {
		if m.TS == ts {
			return m, i
		}
	}
	return nil, -1
}

func copyMessage(m *message) Message {
	out := m.Message
	out.Blocks = slices.Clone(m.Blocks)
	out.Attachments = slices.Clone(m.Attachments)
	out.Metadata = slices.Clone(m.Metadata)
	return out
}

// Channel returns the channel with the given ID.
func (s *State) Channel(id string) (Channel, bool) {
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return c.snapshot(), true
}

// ChannelByName returns the channel with the given name (with or without a
// leading '#'), archived or not.
func (s *State) ChannelByName(name string) (Channel, bool) {
	c := s.channelByName(name)
	if c == nil {
		return Channel{}, false
	}
	return c.snapshot(), true
}

// Channels returns every channel in creation order.
func (s *State) Channels() []Channel {
	out := make([]Channel, 0, len(s.channelOrder))
	for _, id := range s.channelOrder {
		out = append(out, s.channels[id].snapshot())
	}
	return out
}

// Messages returns the messages in a channel, oldest first, including thread
// replies (use Message.IsReply to tell them apart). Deleted messages are
// gone.
func (s *State) Messages(channelID string) []Message {
	c, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(c.messages))
	for _, m := range c.messages {
		out = append(out, copyMessage(m))
	}
	return out
}

// Message returns one message by channel and timestamp.
func (s *State) Message(channelID, ts string) (Message, bool) {
	c, ok := s.channels[channelID]
	if !ok {
		return Message{}, false
	}
	m, _ := c.message(ts)
	if m == nil {
		return Message{}, false
	}
	return copyMessage(m), true
}

// Pins returns the timestamps of the pinned messages in a channel, in the
// order they were pinned.
func (s *State) Pins(channelID string) []string {
	c, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(c.pins))
	for _, p := range c.pins {
		out = append(out, p.TS)
	}
	return out
}

// Ephemerals returns every ephemeral message, in the order they were sent.
func (s *State) Ephemerals() []Ephemeral {
	out := make([]Ephemeral, 0, len(s.ephemerals))
	for _, e := range s.ephemerals {
		e.Blocks = slices.Clone(e.Blocks)
		out = append(out, e)
	}
	return out
}

// Views returns every view opened with views.open, in order.
func (s *State) Views() []View {
	out := make([]View, 0, len(s.views))
	for _, v := range s.views {
		v.Raw = slices.Clone(v.Raw)
		out = append(out, v)
	}
	return out
}

// Calls returns the recorded calls to method in arrival order; an empty
// method returns every call.
func (s *State) Calls(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, copyCall(c))
		}
	}
	return out
}

// CallCount returns how many calls to method were recorded; an empty method
// counts every call.
func (s *State) CallCount(method string) int {
	if method == "" {
		return len(s.calls)
	}
	n := 0
	for _, c := range s.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// Responses returns what was posted to a response_url, in order.
func (s *State) Responses(url string) []Response {
	r, ok := s.responseURLs[url]
	if !ok {
		return nil
	}
	out := make([]Response, 0, len(r.posts))
	for _, p := range r.posts {
		p.Blocks = slices.Clone(p.Blocks)
		p.Raw = slices.Clone(p.Raw)
		out = append(out, p)
	}
	return out
}

// Ack returns the acknowledgement for an envelope, if the client sent one.
func (s *State) Ack(envelopeID string) (Ack, bool) {
	a, ok := s.acks[envelopeID]
	a.Payload = slices.Clone(a.Payload)
	return a, ok
}

// Acks returns every acknowledgement in arrival order.
func (s *State) Acks() []Ack {
	out := make([]Ack, 0, len(s.ackOrder))
	for _, id := range s.ackOrder {
		a := s.acks[id]
		a.Payload = slices.Clone(a.Payload)
		out = append(out, a)
	}
	return out
}

// SocketConnections returns how many Socket Mode connections are open, have
// been sent their hello and have not been asked to disconnect, i.e. how many
// can take envelopes. Tests wait on it (see Server.WaitSocket) to know the
// client is ready, including after a reconnect.
func (s *State) SocketConnections() int {
	n := 0
	for c := range s.sockets {
		if c.helloSent && !c.draining {
			n++
		}
	}
	return n
}

// PendingEnvelopes returns how many envelopes are queued because no Socket
// Mode connection has taken them yet.
func (s *State) PendingEnvelopes() int {
	return len(s.pending)
}

func copyCall(c Call) Call {
	c.Form = cloneValues(c.Form)
	if c.Fault != nil {
		f := *c.Fault
		c.Fault = &f
	}
	// JSON maps are never mutated after being recorded, so sharing them is
	// safe; copying deeply would cost more than it buys.
	return c
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func (s *State) channelByName(name string) *channel {
	if len(name) > 0 && name[0] == '#' {
		name = name[1:]
	}
	for _, id := range s.channelOrder {
		if c := s.channels[id]; c.Name == name {
			return c
		}
	}
	return nil
}

// nextSeq returns a fresh number for IDs and timestamps. One counter for
// everything keeps IDs unique across kinds and timestamps strictly
// increasing.
func (s *State) nextSeq() uint64 {
	s.seq++
	return s.seq
}
