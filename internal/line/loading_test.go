package line

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/pipeline"
)

var _ pipeline.Loader = (*Channel)(nil)

// TestShowLoading: the animation is started in one-to-one chats (the request checked
// against the OpenAPI document), never in groups or rooms, and a LINE failure neither
// blocks nor panics.
func TestShowLoading(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	c, err := New(Config{ChannelSecret: secret, AccessToken: fake.Token(), APIBaseURL: fake.URL(), Inbox: &recordingInbox{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	user := bot.Key{Channel: Name, User: "U1"}

	c.ShowLoading(ctx, bot.Key{Channel: Name, User: "group:Cg:U1"}, "Cg")
	c.ShowLoading(ctx, bot.Key{Channel: Name, User: "group:Cg"}, "Cg")
	c.ShowLoading(ctx, bot.Key{Channel: Name, User: "room:Rr"}, "Rr")
	c.ShowLoading(ctx, user, "U1")
	if err := fake.WaitFor(ctx, func() bool { return fake.Attempts(linetest.PathLoading) >= 1 }); err != nil {
		t.Fatal(err)
	}
	fake.FailNext(linetest.PathLoading, http.StatusInternalServerError, 1)
	c.ShowLoading(ctx, user, "U1") // fails at LINE: only logged
	if err := fake.WaitFor(ctx, func() bool { return fake.Attempts(linetest.PathLoading) >= 2 }); err != nil {
		t.Fatal(err)
	}
	c.ShowLoading(ctx, user, "U1")
	if err := fake.WaitFor(ctx, func() bool { return fake.Attempts(linetest.PathLoading) >= 3 }); err != nil {
		t.Fatal(err)
	}
	loadings := fake.Loadings()
	if len(loadings) != 2 {
		t.Fatalf("%d animations accepted, want 2: %+v", len(loadings), loadings)
	}
	for _, l := range loadings {
		if l.ChatID != "U1" || l.Seconds != loadingSeconds {
			t.Errorf("animation %+v, want chat U1 for %ds", l, loadingSeconds)
		}
	}
	for _, call := range fake.Calls() {
		if call.Route == linetest.PathLoading && strings.TrimSpace(string(call.Body)) != `{"chatId":"U1","loadingSeconds":20}` {
			t.Errorf("body %s", call.Body)
		}
	}
}
