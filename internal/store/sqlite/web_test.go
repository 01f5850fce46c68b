package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/store/storetest"
	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

func TestWebLog(t *testing.T) {
	storetest.RunWeb(t, func(t *testing.T, now func() time.Time) weblog.Store {
		s, err := New(t.Context(), Config{Path: filepath.Join(t.TempDir(), "web.db"), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
