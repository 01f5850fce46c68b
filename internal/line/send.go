package line

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/bot"
)

// Send delivers one turn's messages. It answers with the event's reply token while that is
// fresh and the turn fits one reply (5 messages); when the token is stale or LINE rejects
// it, or after a failed attempt, it pushes instead, with an X-Line-Retry-Key derived from
// the event so that a retried push is never shown twice (409: already accepted, counts as
// delivered).
//
// A reply has no such key. When an earlier attempt ended without a word (its process died,
// Attempts > Failures), that reply may have been delivered: the token is tried again, and
// LINE's "Invalid reply token" for a token still fresh means it was used — delivered — so
// nothing is pushed. After the reply window such an attempt may have replied, and a push
// would answer twice: the outcome is then bot.OutcomeUncertain and nothing is sent (see
// mayHaveDelivered). Failures are *bot.DeliveryError: 429, 5xx and network errors are
// temporary; 401 and 403 (a rotated token) are fixable; other 4xx are permanent.
func (c *Channel) Send(ctx context.Context, out bot.Outgoing) (string, error) {
	var (
		msgs []messaging_api.MessageInterface
		err  error
	)
	if hasMedia(out.Messages) {
		msgs = c.renderWithMedia(out.Messages) // signed links: not cached
	} else {
		msgs, err = c.encoded.render(out.Messages)
	}
	if err != nil {
		return "", &bot.DeliveryError{Permanent: true, Err: fmt.Errorf("encode messages: %w", err)}
	}
	if len(msgs) == 0 {
		return "none", nil
	}
	api := c.api(ctx)
	now := c.cfg.Now()
	fresh := now.Sub(out.EventAt) < c.cfg.ReplyWindow
	uncertain := out.Attempts > out.Failures
	if uncertain && !fresh {
		// An attempt ended without a word and the reply token can no longer tell whether
		// it was used. A push now would be a second answer if the lost attempt was a
		// reply (a reply has no retry key), or a push whose retry key LINE has forgotten.
		if why := c.mayHaveDelivered(out, now); why != "" {
			c.log.Error("delivery may have gone out: not sent again", "conversation", out.Key.String(),
				"outgoing", out.ID, "why", why)
			return bot.OutcomeUncertain, nil
		}
	}
	if out.ReplyToken != "" && (out.Attempts == 0 || uncertain) && fresh && len(msgs) <= maxMessagesPerReq {
		// Recorded before the call: a reply has no retry key, so if this process dies
		// before the outcome is, the next attempt must know a reply may have gone out.
		if out.MarkReply != nil {
			if err := out.MarkReply(ctx); err != nil {
				return "", &bot.DeliveryError{Err: fmt.Errorf("record the reply attempt: %w", err)}
			}
		}
		res, _, err := api.ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{
			ReplyToken: out.ReplyToken, Messages: msgs,
		})
		if err == nil {
			return "reply", nil
		}
		if status(res) != http.StatusBadRequest {
			return "", deliveryError("reply", res, err)
		}
		if uncertain {
			// The attempt we lost track of used the token: the customer has the answer.
			c.log.Info("reply token already used by an earlier attempt", "conversation", out.Key.String(), "outgoing", out.ID)
			return "reply", nil
		}
		// 400: the token expired or was used ("Invalid reply token"). Push instead.
		c.log.Info("reply token rejected, pushing", "conversation", out.Key.String(), "outgoing", out.ID)
	}
	if out.Address == "" {
		return "", &bot.DeliveryError{Permanent: true, Err: errors.New("no address to push to")}
	}
	for i := 0; i < len(msgs); i += maxMessagesPerReq {
		chunk := msgs[i:min(i+maxMessagesPerReq, len(msgs))]
		res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{
			To: out.Address, Messages: chunk,
		}, retryKey(out.EventID, out.Seq, i/maxMessagesPerReq))
		if err != nil && status(res) != http.StatusConflict {
			return "", deliveryError("push", res, err)
		}
	}
	return "push", nil
}

// retryKeyLife is how long LINE remembers an X-Line-Retry-Key: a push retried within it
// is not shown twice.
const retryKeyLife = 24 * time.Hour

// mayHaveDelivered says why an earlier attempt of out that ended without a word may have
// delivered it in a way a push now would repeat ("" when a push is safe): a reply, which
// the attempt recorded before the call (bot.Outgoing.Replied); or a push older than
// LINE's memory of retry keys. It is called once the reply window has passed.
func (c *Channel) mayHaveDelivered(out bot.Outgoing, now time.Time) string {
	if out.Replied {
		return "an earlier attempt began a reply"
	}
	if now.Sub(out.CreatedAt) >= retryKeyLife {
		return "the retry key of an earlier push has expired"
	}
	return ""
}

func status(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// deliveryError classifies a failed call. The SDK's error text quotes LINE's response,
// which holds no secret of ours, but only the status is kept to be safe.
func deliveryError(call string, res *http.Response, err error) error {
	code := status(res)
	if code == 0 {
		return &bot.DeliveryError{Err: fmt.Errorf("%s: %w", call, err)}
	}
	// 401 and 403: the access token was rotated or revoked, or the channel lost a
	// permission. An operator can fix that; the message waits for it.
	fixable := code == http.StatusUnauthorized || code == http.StatusForbidden
	de := &bot.DeliveryError{
		Permanent: bot.PermanentStatus(code) && !fixable,
		Fixable:   fixable,
		Err:       fmt.Errorf("%s: LINE answered %d", call, code),
	}
	if s, perr := strconv.Atoi(res.Header.Get("Retry-After")); perr == nil && s > 0 {
		de.RetryAfter = time.Duration(s) * time.Second
	}
	return de
}

// retryKey derives the X-Line-Retry-Key (a UUID) of the n-th push of the seq-th delivery
// caused by event: the same on every retry, different for every delivery. For an agent's
// answer relayed from Slack the event is the Slack event, so a Slack retry (deduplicated
// by the inbox anyway) could never send it twice either.
func retryKey(eventID string, seq, n int) string {
	sum := sha256.Sum256([]byte("giftdesk push " + eventID + " " + strconv.Itoa(seq) + " " + strconv.Itoa(n)))
	sum[6] = sum[6]&0x0f | 0x50 // version 5 (name-based, SHA)
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// Profile returns the customer's display name and language (LINE tells the language only
// for a one-to-one chat). For a member of a group or room it asks for the member profile.
// The ids come from a webhook body and go into the request path, escaped (the SDK pastes
// them in as they are), so a crafted id cannot aim the request at another API path.
func (c *Channel) Profile(ctx context.Context, ev bot.Event) (bot.Profile, error) {
	api := c.api(ctx)
	var (
		prof bot.Profile
		res  *http.Response
		err  error
	)
	if anonymous(ev.Key.User) {
		return bot.Profile{}, nil // a group's own conversation: no one to look up
	}
	kind, rest, _ := strings.Cut(ev.Key.User, ":")
	switch kind {
	case "group", "room":
		where, user, _ := strings.Cut(rest, ":")
		if kind == "group" {
			var p *messaging_api.GroupUserProfileResponse
			if res, p, err = api.GetGroupMemberProfileWithHttpInfo(url.PathEscape(where), url.PathEscape(user)); p != nil {
				prof.Name = p.DisplayName
			}
		} else {
			var p *messaging_api.RoomUserProfileResponse
			if res, p, err = api.GetRoomMemberProfileWithHttpInfo(url.PathEscape(where), url.PathEscape(user)); p != nil {
				prof.Name = p.DisplayName
			}
		}
	default:
		var p *messaging_api.UserProfileResponse
		if res, p, err = api.GetProfileWithHttpInfo(url.PathEscape(ev.Key.User)); p != nil {
			prof.Name = p.DisplayName
			prof.Lang, _ = bot.ParseLang(p.Language)
		}
	}
	if err != nil {
		return bot.Profile{}, deliveryError("profile", res, err)
	}
	return prof, nil
}
