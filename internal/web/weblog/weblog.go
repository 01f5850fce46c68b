// Package weblog is the web chat's message log as the stores keep it: per conversation, the
// entries the page shows (what the customer sent, what the bot and the agents answered),
// numbered by a sequence number that Server-Sent Events resume from. The entries are
// opaque JSON to the stores; package web writes and reads them. It also names the one
// setting the web channel keeps in the database, its cookie-signing key.
package weblog

import (
	"context"
	"time"
)

// Record is one entry of a conversation's log.
type Record struct {
	// Seq numbers the conversation's entries from 1, in the order they were appended;
	// set by the store.
	Seq int64
	// Ref identifies the entry to deduplicate it: an entry whose Ref the conversation's
	// log has already is not appended again (a resent message, a retried delivery).
	Ref string
	// At is when the entry was appended.
	At time.Time
	// Data is the entry, a JSON object, stored as it is.
	Data []byte
}

// Store keeps the web chat's logs and key. Implementations are safe for concurrent use,
// also across processes sharing one database.
type Store interface {
	// AppendWeb appends recs to the log of conversation user (bot.Key.User of the web
	// channel), in order and in one transaction, and returns each one's Seq: the next
	// numbers of the log, or, for a record whose Ref is in the log already (appended
	// before, or earlier in recs), that entry's Seq, leaving it unchanged. Concurrent
	// appends to one log get distinct numbers, and an entry is visible to ReadWeb only
	// after every entry with a smaller Seq is.
	AppendWeb(ctx context.Context, user string, recs []Record) ([]int64, error)
	// ReadWeb returns up to limit entries of user's log with Seq greater than after,
	// in order of Seq; an empty slice when there is none.
	ReadWeb(ctx context.Context, user string, after int64, limit int) ([]Record, error)
	// WebSecret returns the web channel's key, storing fresh first when none is stored;
	// concurrent callers all get the same key.
	WebSecret(ctx context.Context, fresh []byte) ([]byte, error)
	// PurgeWeb deletes the logs whose newest entry is older than before (a whole log at
	// once, so that its numbers never start over while a page may resume from them), and
	// returns how many entries went.
	PurgeWeb(ctx context.Context, before time.Time) (int, error)
}
