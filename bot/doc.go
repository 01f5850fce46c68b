// Package bot is giftdesk's channel-neutral core: conversations and their store interface,
// the engine that compiles a flow into looplab/fsm and steps it one customer turn at a
// time, global commands, and the inbound and outbound message types that channels render
// natively.
//
// The package imports only the standard library and looplab/fsm: no channel SDK and no
// database driver. Channels (LINE, Slack, the terminal) and stores (SQLite, PostgreSQL) live
// in internal/ and are wired together in cmd/giftdesk.
//
// A turn is pure: Engine.Step takes a Conversation and an Inbound event and returns the
// Messages to send, mutating the Conversation, which the caller then saves with
// compare-and-swap on its Revision.
package bot
