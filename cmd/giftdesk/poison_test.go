package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// TestPoisonEventIsolated sends good requests and signed requests whose event cannot be
// stored (a timestamp past year 9999) at once: every request is acknowledged (the
// poison ones are kept as dead letters, so LINE stops redelivering them), and every good
// one is answered.
func TestPoisonEventIsolated(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	s := startServe(t, fake, filepath.Join(t.TempDir(), "giftdesk.db"), nil)
	const good, poison = 40, 10
	far := time.Date(10000, time.March, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var wg sync.WaitGroup
	users := make([]string, good)
	codes := make([]int, good+poison)
	for i := range good + poison {
		user := fmt.Sprintf("U%031x", 0xb00+i)
		ev := s.textEvent(user, "こんにちは")
		if i < good {
			users[i] = user
		} else {
			ev["timestamp"] = far
		}
		wg.Go(func() { codes[i] = s.post(ev) })
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("request %d (poison %v) answered %d, want 200", i, i >= good, code)
		}
	}
	ctx := waitCtx(t)
	for _, u := range users {
		if _, err := fake.WaitDelivered(ctx, u, 1); err != nil {
			t.Fatalf("%s not answered: %v", u, err)
		}
	}
}
