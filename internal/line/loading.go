package line

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/bot"
)

// The loading animation (POST /v2/bot/chat/loading/start).
const (
	// loadingSeconds is how long LINE shows the animation unless a message comes first:
	// a multiple of 5 from 5 to 60.
	loadingSeconds = 20
	// loadingTimeout bounds one request: the animation is worth nothing once late.
	loadingTimeout = 3 * time.Second
	// maxLoading bounds the requests under way; more are dropped rather than queued, so
	// a slow LINE under load never piles up goroutines.
	maxLoading = 64
)

// loadingState bounds the animations requested at once.
type loadingState struct {
	inFlight atomic.Int64
}

// ShowLoading starts LINE's loading animation in a one-to-one chat, to show the customer
// that an answer is coming. It never blocks: the request is made in the background with
// a short timeout (dropped when too many are under way), and its failure is only logged
// at debug level, since the animation is a courtesy. It does nothing in a group or room
// (LINE shows it only in one-to-one chats). ShowLoading is safe for concurrent use.
func (c *Channel) ShowLoading(ctx context.Context, k bot.Key, address string) {
	if k.Channel != Name || inGroup(k.User) || address == "" {
		return
	}
	if c.loading.inFlight.Add(1) > maxLoading {
		c.loading.inFlight.Add(-1)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadingTimeout)
	go func() {
		defer c.loading.inFlight.Add(-1)
		defer cancel()
		_, err := c.api(ctx).ShowLoadingAnimation(&messaging_api.ShowLoadingAnimationRequest{
			ChatId: address, LoadingSeconds: loadingSeconds,
		})
		if err != nil {
			c.log.Debug("loading animation", "conversation", k.String(), "err", err)
		}
	}()
}
