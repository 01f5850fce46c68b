package main

import (
	"context"

	"github.com/giftdesk/giftdesk/internal/store/postgres"
)

var _ storage = (*postgres.Store)(nil)

// openPostgres opens the PostgreSQL store at url, a postgres:// URL (?search_path=name
// selects the schema), and brings its schema up to date.
func openPostgres(ctx context.Context, url string) (storage, error) {
	s, err := postgres.New(ctx, postgres.Config{URL: url})
	if err != nil {
		return nil, err // not a nil *postgres.Store in a non-nil storage
	}
	return s, nil
}
