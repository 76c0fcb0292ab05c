// Package fakeslack is a small, stateful, in-process fake of the Slack Web API
// and of Socket Mode, built for end-to-end tests of warroom's Slack adapter.
//
// It exists because slack-go's own slacktest server is too thin for incident
// response flows: it has no chat.update, conversations.archive or pins.add, it
// keeps no state, and it ignores handlers registered after construction. This
// fake instead keeps channels, messages, pins, ephemerals, views and Socket
// Mode acknowledgements in memory, answers with the documented Slack response
// shapes (including Slack's error codes), and lets a test inject transport and
// API faults per method.
//
// A typical test wires the real slack-go client to the fake:
//
//	srv := fakeslack.NewT(t)
//	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
//	ch, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-42"})
//	...
//	err = srv.WaitFor(ctx, func(s *fakeslack.State) bool { return len(s.Messages(ch.ID)) == 1 })
//
// Everything listens on 127.0.0.1 only. The server is safe for concurrent use;
// accessors return copies, so tests may keep and compare them freely.
//
// The fake is deliberately strict where Slack is strict (channel naming rules,
// bot membership for posting, single-use trigger IDs) so that tests catch the
// same mistakes production would, and deliberately lenient where strictness
// would only add ceremony (any U/W-prefixed ID is accepted as a user when
// inviting; trigger IDs need not have been issued by the fake).
package fakeslack
