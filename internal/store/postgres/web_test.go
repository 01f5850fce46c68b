package postgres

import (
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/store/storetest"
	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

func TestWebLog(t *testing.T) {
	serverURL(t)
	t.Parallel()
	storetest.RunWeb(t, func(t *testing.T, now func() time.Time) weblog.Store {
		return open(t, now)
	})
}
