package main

import (
	"context"
	"errors"
)

// openPostgres opens the PostgreSQL store.
func openPostgres(ctx context.Context, url string) (storage, error) {
	return nil, errors.New("GIFTDESK_DB: PostgreSQL is not available in this build")
}
