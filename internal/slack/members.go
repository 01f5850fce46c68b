package slack

import (
	"context"
	"errors"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"
)

// How the members of a tickets channel are known: read with conversations.members,
// kept for membersTTL, and read again (at most every membersRecheck) for a user who is not
// among them, so that someone who just joined can press at once.
const (
	membersTTL     = 10 * time.Minute
	membersRecheck = 30 * time.Second
	maxMemberPages = 50 // of 1,000 members each
)

type memberList struct {
	users map[string]bool
	at    time.Time
}

// member reports whether user is a member of channel. Ticket buttons are honoured only
// for members: in a public channel anyone in the workspace may see a ticket and press.
// When the app lacks the scope to list members (installed from an older manifest), it
// logs the error and lets the press through; other failures are errors.
func (c *Channel) member(ctx context.Context, channel, user string) (bool, error) {
	now := c.cfg.Now()
	c.handoffMu.Lock()
	l, ok := c.members[channel]
	c.handoffMu.Unlock()
	if ok && now.Sub(l.at) < membersTTL && (l.users[user] || now.Sub(l.at) < membersRecheck) {
		return l.users[user], nil
	}
	users := map[string]bool{}
	cursor := ""
	for range maxMemberPages {
		page, next, err := c.api.GetUsersInConversationContext(ctx, &slackapi.GetUsersInConversationParameters{
			ChannelID: channel, Cursor: cursor, Limit: 1000})
		if err != nil {
			var resp slackapi.SlackErrorResponse
			if errors.As(err, &resp) && resp.Err == "missing_scope" {
				c.log.Error("conversations.members: the app lacks channels:read / groups:read; ticket buttons work for anyone until it is reinstalled from the manifest")
				return true, nil
			}
			return false, apiError("conversations.members", err)
		}
		for _, u := range page {
			users[u] = true
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	c.handoffMu.Lock()
	if c.members == nil || len(c.members) >= maxOrphans {
		c.members = map[string]memberList{}
	}
	c.members[channel] = memberList{users: users, at: now}
	c.handoffMu.Unlock()
	return users[user], nil
}

// memberOnly returns ok when user may press the buttons of a ticket in channel, and
// otherwise the result to answer with.
func (c *Channel) memberOnly(ctx context.Context, channel, user string) (result, bool) {
	ok, err := c.member(ctx, channel, user)
	switch {
	case err != nil:
		c.log.Warn("ticket button: members of the channel", "err", err)
		return result{Status: http.StatusInternalServerError, Outcome: "error"}, false
	case !ok:
		c.log.Info("ticket button pressed by a non-member of the channel ignored", "user", user, "channel", channel)
		return ignored("ticket action by a non-member"), false
	}
	return result{}, true
}
