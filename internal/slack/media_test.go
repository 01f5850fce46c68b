package slack_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/slack"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// contents is a customer's channel whose media content is held in memory: the content
// by id, with its size told or not; an id it does not have is gone (a permanent error),
// and fail makes the next opens fail temporarily.
type contents struct {
	mu     sync.Mutex
	body   map[string][]byte
	hide   map[string]bool // size not told
	fail   int
	opened int
}

func (c *contents) OpenMedia(_ context.Context, m bot.Media) (*bot.MediaContent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opened++
	if c.fail > 0 {
		c.fail--
		return nil, &bot.DeliveryError{Err: errors.New("content: LINE answered 500")}
	}
	b, ok := c.body[m.ID]
	if !ok {
		return nil, &bot.DeliveryError{Permanent: true, Err: errors.New("content: LINE answered 404")}
	}
	size := int64(len(b))
	if c.hide[m.ID] {
		size = -1
	}
	return &bot.MediaContent{Body: io.NopCloser(bytes.NewReader(b)), Size: size, Type: "image/jpeg"}, nil
}

// TestRelayMediaToThread delivers customers' photos to a ticket's thread through
// Slack's external upload: a retry after a failed completion, after a crash that left the
// file shared, or after a failed later post of the same row shares the file once; content gone, over the limit (told or found by
// reading) or unavailable is a line in the thread.
func TestRelayMediaToThread(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	fake := slacktest.NewServer()
	t.Cleanup(fake.Close)
	fake.Join(handoffChannel)
	root := fake.Post(handoffChannel, slacktest.BotUserID, "ticket", "")
	if err := store.LinkThread(ctx, "T1", customer, handoffChannel+":"+root.TS); err != nil {
		t.Fatal(err)
	}
	photo := bytes.Repeat([]byte("jpeg"), 1000)
	src := &contents{body: map[string][]byte{"1": photo, "2": photo, "3": photo, "4": make([]byte, 5000)},
		hide: map[string]bool{"3": true, "4": true}}
	ch, err := slack.New(slack.Config{BotToken: slacktest.BotToken, APIURL: fake.URL(), Inbox: store,
		Conversations: store, Threads: store, Media: src, MediaLimits: bot.MediaLimits{MaxBytes: 4096}})
	if err != nil {
		t.Fatal(err)
	}
	media := func(id string) bot.Message {
		return bot.Message{Kind: bot.MsgMedia, From: "山田花子", Text: "画像", Media: &bot.Media{Kind: bot.MediaImage, Channel: "line", ID: id}}
	}
	row := func(event string, msgs ...bot.Message) bot.Outgoing {
		return bot.Outgoing{Key: customer, EventID: event, Channel: slack.Name, Address: bot.TicketAddress("T1"), Messages: msgs}
	}
	send := func(out bot.Outgoing, wantErr bool) {
		t.Helper()
		_, err := ch.Send(ctx, out)
		if (err != nil) != wantErr {
			t.Fatalf("Send %s: %v, want error %v", out.EventID, err, wantErr)
		}
		if wantErr && bot.IsPermanent(err) {
			t.Fatalf("Send %s: %v is permanent", out.EventID, err)
		}
	}
	shared := func() []slacktest.File {
		var out []slacktest.File
		for _, f := range fake.Files() {
			if f.Shared {
				out = append(out, f)
			}
		}
		return out
	}

	// Completion fails once: the retry uploads again and shares once.
	fake.FailNext("files.completeUploadExternal", slacktest.Fault{Error: "internal_error"})
	out := row("line:e1", media("1"))
	send(out, true)
	out.Attempts, out.Failures = 1, 1
	send(out, false)
	if got := shared(); len(got) != 1 || !bytes.Equal(got[0].Content, photo) || got[0].ThreadTS != root.TS {
		t.Fatalf("shared %+v, want the photo once in the thread", got)
	}

	// The process died after sharing it, before recording the delivery: another one
	// (no memory of it) finds the file in the thread and does not share it again.
	other, err := slack.New(slack.Config{BotToken: slacktest.BotToken, APIURL: fake.URL(), Inbox: store,
		Conversations: store, Threads: store, Media: src, MediaLimits: bot.MediaLimits{MaxBytes: 4096}})
	if err != nil {
		t.Fatal(err)
	}
	out.Attempts, out.Failures = 2, 1
	if _, err := other.Send(ctx, out); err != nil {
		t.Fatalf("Send after a crash: %v", err)
	}
	if got := shared(); len(got) != 1 {
		t.Fatalf("%d files shared after the crash, want still 1", len(got))
	}

	// A later post of the row fails: the retry does not share the photo again.
	fake.FailNext("chat.postMessage", slacktest.Fault{Error: "internal_error"})
	out = row("line:e2", media("2"), bot.Message{Kind: bot.MsgText, Text: "note after the photo"})
	send(out, true)
	send(out, false)
	if got := shared(); len(got) != 2 {
		t.Fatalf("%d files shared, want 2", len(got))
	}

	// The customer's channel fails for a while: temporary, then delivered.
	src.fail = 1
	out = row("line:e3", media("3")) // no size told, within the limit
	send(out, true)
	send(out, false)
	if got := shared(); len(got) != 3 || len(got[2].Content) != len(photo) {
		t.Fatalf("shared %d files, the last of %d bytes; want 3, %d", len(got), len(got[len(got)-1].Content), len(photo))
	}

	// Over the limit when read, gone, and a photo with no id: lines in the thread.
	send(row("line:e4", media("4")), false)
	send(row("line:e5", media("5")), false)
	send(row("line:e6", media("")), false)
	if got := shared(); len(got) != 3 {
		t.Errorf("%d files shared, want still 3", len(got))
	}
	var lines []string
	for _, m := range fake.Replies(handoffChannel, root.TS) {
		lines = append(lines, m.Plain())
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"サイズ上限 4 KB を超える", "取得できませんでした", "転送できません"} {
		if !strings.Contains(all, want) {
			t.Errorf("thread lacks %q:\n%s", want, all)
		}
	}
}
