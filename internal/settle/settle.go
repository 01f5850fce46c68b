// Package settle waits for giftdesk's asynchronous work to be done, for tests and tools
// that must not guess how long it takes: Until polls a condition nothing signals, and
// Drained waits for a drained pipeline (no pending inbox event, no unfinished outbox row),
// after which nothing more will be sent until another event arrives.
package settle

import (
	"context"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// maxInterval bounds the wait between two looks at a condition.
const maxInterval = 20 * time.Millisecond

// Until calls cond until it reports true, at first every millisecond and then less often,
// up to every 20ms. It returns cond's error, or ctx's when ctx ends first.
func Until(ctx context.Context, cond func() (bool, error)) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for interval := time.Millisecond; ; interval = min(2*interval, maxInterval) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		t.Reset(interval)
	}
}

// Store is what Drained reads; the SQLite and PostgreSQL stores implement it.
type Store interface {
	// PendingEvents returns how many stored events wait to be processed.
	PendingEvents(ctx context.Context) (n int, oldest time.Time, err error)
	// CountOutgoing counts the outbox rows; Waiting is those not finished.
	CountOutgoing(ctx context.Context, since time.Time) (bot.OutboxCounts, error)
}

// Drained waits until st has no pending event and no unfinished outbox row. Every event
// stored before the call has then been answered, and every answer delivered or given up
// on. It returns an error saying what was left when ctx ends first.
func Drained(ctx context.Context, st Store) error {
	var events, outgoing int
	err := Until(ctx, func() (bool, error) {
		var err error
		if events, _, err = st.PendingEvents(ctx); err != nil {
			return false, err
		}
		c, err := st.CountOutgoing(ctx, time.Now())
		if err != nil {
			return false, err
		}
		outgoing = c.Waiting
		return events == 0 && outgoing == 0, nil
	})
	if err != nil {
		return fmt.Errorf("wait for a drained pipeline (%d events pending, %d outgoing unfinished): %w", events, outgoing, err)
	}
	return nil
}
