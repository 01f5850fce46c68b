package slack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// Posts made once. chat.postMessage has no idempotency key: an attempt that posted and
// then lost Slack's answer (a timeout, a dropped connection), or whose process died before
// the outbox recorded the delivery, would post again when the row is retried — a second
// ticket root, a relay shown twice. So every post a delivery makes carries, as message
// metadata, the outbox row's identity (bot.Outgoing.EventID and Seq) and the post's place
// in the row; and a retry of a row first reads where it posts, with include_all_metadata —
// the thread with conversations.replies, the channel (a ticket's root) with
// conversations.history from shortly before the row was made — and skips the posts it
// finds there. That needs no scope beyond the history scopes the channel has.
//
// Any earlier attempt makes a retry look (Attempts > 0), not only one that ended without
// a word (Attempts > Failures): a call that timed out counts as a failure, yet Slack may
// have posted; and a row of several posts may have failed after its first. A first
// attempt reads nothing. What remains: a retry that overlaps a still-running attempt (its
// lease ran out mid-call) may post before the other's post shows in the thread.

// postMetadataType is the event_type of the metadata of the channel's posts.
const postMetadataType = "giftdesk_post"

// lookBack is how long before a row was made a retry looks for its posts in a channel's
// history: room for giftdesk's clock and Slack's to disagree.
const lookBack = 10 * time.Minute

// delivery posts the messages of one attempt at an outbox row. It is not safe for
// concurrent use; an attempt is one goroutine.
type delivery struct {
	c   *Channel
	out bot.Outgoing
	// found holds, per place (channel and thread), the posts an earlier attempt made
	// there: post id → ts. A place is read once per attempt.
	found map[string]map[string]string
}

func (c *Channel) delivery(out bot.Outgoing) *delivery {
	return &delivery{c: c, out: out}
}

// keyed reports whether the row has an identity to put on its posts.
func (d *delivery) keyed() bool { return d.out.EventID != "" }

// metadata is the metadata of the row's post id.
func (d *delivery) metadata(id string) slackapi.SlackMetadata {
	return slackapi.SlackMetadata{EventType: postMetadataType, EventPayload: map[string]any{
		"event": d.out.EventID, "seq": strconv.Itoa(d.out.Seq), "post": id,
	}}
}

// post posts p in channel, in the thread at thread or at the channel's top when thread is
// "", as the post id of the row (unique within the row), unless an earlier attempt at
// the row posted it; it returns the message's ts either way.
func (d *delivery) post(ctx context.Context, channel, thread, id string, p post) (string, error) {
	if d.keyed() && d.out.Attempts > 0 {
		found, err := d.posted(ctx, channel, thread)
		if err != nil {
			return "", err
		}
		if ts, ok := found[id]; ok {
			d.c.log.Info("post made by an earlier attempt: not posted again", "conversation", d.out.Key.String(),
				"outgoing", d.out.ID, "post", id)
			return ts, nil
		}
	}
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(p.text, false),
		slackapi.MsgOptionBlocks(p.blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
	}
	if thread != "" {
		opts = append(opts, slackapi.MsgOptionTS(thread))
	}
	if d.keyed() {
		opts = append(opts, slackapi.MsgOptionMetadata(d.metadata(id)))
	}
	_, ts, err := d.c.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", apiError("chat.postMessage", err)
	}
	return ts, nil
}

// posted returns the posts of the row found in channel's thread at thread (or at the
// channel's top), reading them on the first call for that place.
func (d *delivery) posted(ctx context.Context, channel, thread string) (map[string]string, error) {
	place := address(channel, thread)
	if f, ok := d.found[place]; ok {
		return f, nil
	}
	found := map[string]string{}
	add := func(m slackapi.Message) bool {
		if id, ok := d.ours(m.Metadata); ok {
			found[id] = m.Timestamp
		}
		return false
	}
	if thread != "" {
		if err := d.c.eachReply(ctx, channel, thread, true, add); err != nil {
			return nil, err
		}
	} else {
		params := &slackapi.GetConversationHistoryParameters{ChannelID: channel, Limit: 200, IncludeAllMetadata: true}
		if !d.out.CreatedAt.IsZero() {
			params.Oldest = slackTS(d.out.CreatedAt.Add(-lookBack))
		}
		for range maxReplyPages {
			res, err := d.c.api.GetConversationHistoryContext(ctx, params)
			if err != nil {
				return nil, apiError("conversations.history", err)
			}
			for _, m := range res.Messages {
				add(m)
			}
			if !res.HasMore || res.ResponseMetaData.NextCursor == "" {
				break
			}
			params.Cursor = res.ResponseMetaData.NextCursor
		}
	}
	if d.found == nil {
		d.found = map[string]map[string]string{}
	}
	d.found[place] = found
	return found, nil
}

// ours returns the post id that metadata md names when it is one of this row's posts.
func (d *delivery) ours(md slackapi.SlackMetadata) (string, bool) {
	if md.EventType != postMetadataType {
		return "", false
	}
	str := func(k string) string {
		switch v := md.EventPayload[k].(type) {
		case string:
			return v
		case float64: // a number, should Slack turn one into it
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	if str("event") != d.out.EventID || str("seq") != strconv.Itoa(d.out.Seq) || str("post") == "" {
		return "", false
	}
	return str("post"), true
}

// slackTS writes t as a Slack timestamp.
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}
