package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// storage is everything serve needs from a store; the SQLite and PostgreSQL stores both
// provide it.
type storage interface {
	bot.ConversationStore
	bot.Inbox
	bot.Queue
	bot.Outbox
	bot.Purger
	bot.Tickets
	bot.Threads
	Ping(ctx context.Context) error
	PendingEvents(ctx context.Context) (int, time.Time, error)
	io.Closer
}

var _ storage = (*sqlite.Store)(nil)

// openStore opens the store GIFTDESK_DB names: a postgres:// URL or a SQLite file path.
func openStore(ctx context.Context, db string) (storage, error) {
	if isPostgres(db) {
		return openPostgres(ctx, db)
	}
	s, err := sqlite.New(ctx, sqlite.Config{Path: db})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}
