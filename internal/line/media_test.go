package line

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// TestParseMedia: each kind of media message becomes an InMedia with what the webhook
// tells of it; content of another provider has no id to fetch.
func TestParseMedia(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    bot.Media
	}{
		{"image", `{"type":"image","id":"101","quoteToken":"q","contentProvider":{"type":"line"}}`,
			bot.Media{Kind: bot.MediaImage, Channel: Name, ID: "101"}},
		{"external image", `{"type":"image","id":"102","quoteToken":"q","contentProvider":{"type":"external","originalContentUrl":"https://x.example/a.jpg"}}`,
			bot.Media{Kind: bot.MediaImage, Channel: Name}},
		{"video", `{"type":"video","id":"103","duration":1000,"quoteToken":"q","contentProvider":{"type":"line"}}`,
			bot.Media{Kind: bot.MediaVideo, Channel: Name, ID: "103"}},
		{"audio", `{"type":"audio","id":"104","duration":1000,"contentProvider":{"type":"line"}}`,
			bot.Media{Kind: bot.MediaAudio, Channel: Name, ID: "104"}},
		{"file", `{"type":"file","id":"105","fileName":"明細.pdf","fileSize":2048}`,
			bot.Media{Kind: bot.MediaFile, Channel: Name, ID: "105", Name: "明細.pdf", Size: 2048}},
		{"sticker", `{"type":"sticker","id":"106","packageId":"446","stickerId":"1988","stickerResourceType":"STATIC","keywords":["a","b","c","d"],"quoteToken":"q"}`,
			bot.Media{Kind: bot.MediaSticker, Channel: Name, ID: "106", Text: "a, b, c"}},
		{"location", `{"type":"location","id":"107","title":"東京駅","address":"東京都千代田区","latitude":35.68,"longitude":139.76}`,
			bot.Media{Kind: bot.MediaLocation, Channel: Name, ID: "107", Text: "東京駅 東京都千代田区"}},
		{"location without title", `{"type":"location","id":"108","latitude":35.68,"longitude":139.76}`,
			bot.Media{Kind: bot.MediaLocation, Channel: Name, ID: "108", Text: "35.68000, 139.76000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"destination":"Ubot","events":[{"type":"message","mode":"active","timestamp":1,"webhookEventId":"01M",` +
				`"replyToken":"r","source":{"type":"user","userId":"U1"},"message":` + tt.message + `}]}`
			inbox := &recordingInbox{}
			if code := post(t, newTestChannel(t, inbox), []byte(body)); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if len(inbox.events) != 1 || inbox.events[0].In.Kind != bot.InMedia || inbox.events[0].In.Media == nil {
				t.Fatalf("stored %+v, want one media event", inbox.events)
			}
			if got := *inbox.events[0].In.Media; got != tt.want {
				t.Errorf("media = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestOpenMedia reads content from the fake's content endpoint with the SDK's blob
// client: its bytes, type and length (or -1 when not told); a message LINE does not have
// and an id that is not one are permanent errors, a server error temporary.
func TestOpenMedia(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	c, err := New(Config{ChannelSecret: secret, AccessToken: fake.Token(), APIBaseURL: fake.URL(), DataAPIBaseURL: fake.URL(),
		Inbox: &recordingInbox{}})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetContent("201", "image/jpeg", []byte("jpeg bytes"))
	fake.SetChunkedContent("202", "video/mp4", []byte("mp4 bytes"))
	fake.FailNext(linetest.PathContent, http.StatusInternalServerError, 1)
	tests := []struct {
		name      string
		id        string
		body, typ string
		size      int64
		permanent bool
		fails     bool
	}{
		{name: "server error", id: "201", fails: true},
		{name: "photo", id: "201", body: "jpeg bytes", typ: "image/jpeg", size: 10},
		{name: "no length", id: "202", body: "mp4 bytes", typ: "video/mp4", size: -1},
		{name: "gone", id: "299", fails: true, permanent: true},
		{name: "not an id", id: "../../profile/U1", fails: true, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.OpenMedia(t.Context(), bot.Media{Kind: bot.MediaImage, Channel: Name, ID: tt.id})
			if tt.fails {
				if err == nil || bot.IsPermanent(err) != tt.permanent {
					t.Fatalf("OpenMedia: %v, want a permanent (%v) error", err, tt.permanent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer got.Body.Close()
			b, _ := io.ReadAll(got.Body)
			if string(b) != tt.body || got.Type != tt.typ || got.Size != tt.size {
				t.Errorf("content %q %s %d, want %q %s %d", b, got.Type, got.Size, tt.body, tt.typ, tt.size)
			}
		})
	}
}

// TestSendAgentFiles: an agent's JPEG is an image message with signed links to the file
// and its preview, a PDF or a GIF a text with a link, and without links a text naming
// the file; every request passes the fake's OpenAPI validation.
func TestSendAgentFiles(t *testing.T) {
	fake := linetest.New(t, linetest.Config{})
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	links, err := bot.NewMediaLinks("https://giftdesk.example", []byte("0123456789abcdef"), time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	file := func(kind bot.MediaKind, name, typ string, size int64) bot.Message {
		return bot.Message{Kind: bot.MsgMedia, Text: "担当者からファイルが届きました: " + name,
			Media: &bot.Media{Kind: kind, Channel: "slack", ID: "F1", Name: name, Type: typ, Size: size}}
	}
	tests := []struct {
		name  string
		links *bot.MediaLinks
		msg   bot.Message
		typ   string
		want  []string
	}{
		{"jpeg", links, file(bot.MediaImage, "a.jpg", "image/jpeg", 1000), "image",
			[]string{`"originalContentUrl":"https://giftdesk.example/media/F1?exp=`, `"previewImageUrl":"https://giftdesk.example/media/F1~preview?exp=`}},
		{"large png", links, file(bot.MediaImage, "a.png", "image/png", 11<<20), "text", []string{"a.png\\nhttps://giftdesk.example/media/F1?exp="}},
		{"gif", links, file(bot.MediaImage, "a.gif", "image/gif", 1000), "text", []string{"https://giftdesk.example/media/F1?exp="}},
		{"pdf", links, file(bot.MediaFile, "手順.pdf", "application/pdf", 1000), "text", []string{"手順.pdf\\nhttps://giftdesk.example/media/F1?exp="}},
		{"no links", nil, file(bot.MediaFile, "手順.pdf", "application/pdf", 1000), "text", []string{`"text":"担当者からファイルが届きました: 手順.pdf"`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{ChannelSecret: secret, AccessToken: fake.Token(), APIBaseURL: fake.URL(),
				Inbox: &recordingInbox{}, MediaLinks: tt.links})
			if err != nil {
				t.Fatal(err)
			}
			user := "U" + strings.Repeat(string(rune('a'+i)), 32)
			out := bot.Outgoing{Key: bot.Key{Channel: Name, User: user}, Address: user, EventID: "slack:msg:" + tt.name,
				Messages: []bot.Message{{Kind: bot.MsgText, Text: "どうぞ"}, tt.msg}}
			if _, err := c.Send(context.Background(), out); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := fake.Delivered(user)
			if len(got) != 2 || got[1].Type != tt.typ {
				t.Fatalf("delivered %+v, want text and %s", got, tt.typ)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(got[1].Raw), w) {
					t.Errorf("message %s lacks %s", got[1].Raw, w)
				}
			}
		})
	}
}
