// Package bot is giftdesk's channel-neutral core: conversations and their store
// interfaces, the engine that compiles a flow into looplab/fsm and steps it one customer
// turn at a time, the desk that hands conversations to people (tickets, relays, limits),
// global commands, and the inbound and outbound message types that channels render
// natively.
//
// The package imports only the standard library and looplab/fsm: no channel SDK and no
// database driver. Channels (LINE, Slack, the terminal) and stores (SQLite, PostgreSQL) live
// in internal/ and are wired together in cmd/giftdesk; the runtime that carries events
// from the inbox through the Desk to the channels' Senders is internal/pipeline.
//
// Nothing here is specific to one channel. The desk names agents by id (MentionAgent),
// which the channel showing the text renders (RenderMentions); its text for agents is in
// DeskConfig.AgentLang; what a channel needs to answer an event besides a reply token
// travels opaquely in Event.Handle; Conversation.ProfileChecked records that the channel
// was asked for the customer's profile. Media (a photo, a file) travels as a Media
// reference, never bytes: the channel that delivers it reads the content from the channel
// that holds it (MediaOpener), and a customer's channel links to an agent's file with
// MediaLinks (see media.go).
//
// A turn is pure: Engine.Step takes a Conversation and an Inbound event and returns the
// Messages to send, mutating the Conversation, which the caller then saves with
// compare-and-swap on its Revision. A turn's context is never cancelled while it fires a
// state-machine event (fireEvent), so a turn cut short by shutdown leaves no machine
// half-moved.
package bot
