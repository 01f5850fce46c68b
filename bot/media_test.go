package bot_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

func TestMediaLimits(t *testing.T) {
	l := bot.MediaLimits{MaxBytes: 1000}
	tests := []struct {
		name string
		m    bot.Media
		want string
	}{
		{"photo, size unknown", bot.Media{Kind: bot.MediaImage}, ""},
		{"file within", bot.Media{Kind: bot.MediaFile, Name: "a.pdf", Size: 1000}, ""},
		{"file over", bot.Media{Kind: bot.MediaFile, Name: "a.pdf", Size: 1001}, bot.MediaTooLarge},
		{"executable", bot.Media{Kind: bot.MediaFile, Name: "Setup.EXE", Size: 10}, bot.MediaBlocked},
		{"executable, trailing dot", bot.Media{Kind: bot.MediaFile, Name: "setup.exe.", Size: 10}, bot.MediaBlocked},
		{"executable, trailing spaces and dots", bot.Media{Kind: bot.MediaFile, Name: "setup.exe . .", Size: 10}, bot.MediaBlocked},
		{"sticker", bot.Media{Kind: bot.MediaSticker}, bot.MediaBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Check(tt.m); got != tt.want {
				t.Errorf("Check(%+v) = %q, want %q", tt.m, got, tt.want)
			}
		})
	}
	only := bot.MediaLimits{Kinds: []bot.MediaKind{bot.MediaImage}}
	if got := only.Check(bot.Media{Kind: bot.MediaVideo}); got != bot.MediaBlocked {
		t.Errorf("a video with images only: %q, want blocked", got)
	}
	if got := bot.FormatBytes(10 << 20); got != "10 MB" {
		t.Errorf("FormatBytes(10 MiB) = %q", got)
	}
}

func TestMediaLinks(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clk := func() time.Time { return now }
	links, err := bot.NewMediaLinks("https://giftdesk.example/", []byte("0123456789abcdef"), time.Hour, clk)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(links.URL("F1~preview"))
	if err != nil || u.Host != "giftdesk.example" || u.Path != "/media/F1~preview" {
		t.Fatalf("link %v (%v)", u, err)
	}
	q := u.Query()
	other, _ := bot.NewMediaLinks("https://giftdesk.example", []byte("another key, long enough"), time.Hour, clk)
	tests := []struct {
		name      string
		links     *bot.MediaLinks
		id, exp   string
		sig       string
		later     time.Duration
		wantError error
	}{
		{name: "good", links: links, id: "F1~preview", exp: q.Get("exp"), sig: q.Get("sig")},
		{name: "another id", links: links, id: "F2~preview", exp: q.Get("exp"), sig: q.Get("sig"), wantError: bot.ErrLinkSignature},
		{name: "longer expiry", links: links, id: "F1~preview", exp: "9999999999", sig: q.Get("sig"), wantError: bot.ErrLinkSignature},
		{name: "bad signature", links: links, id: "F1~preview", exp: q.Get("exp"), sig: strings.Repeat("0", 64), wantError: bot.ErrLinkSignature},
		{name: "another key", links: other, id: "F1~preview", exp: q.Get("exp"), sig: q.Get("sig"), wantError: bot.ErrLinkSignature},
		{name: "expired", links: links, id: "F1~preview", exp: q.Get("exp"), sig: q.Get("sig"), later: time.Hour, wantError: bot.ErrLinkExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(tt.later)
			if err := tt.links.Check(tt.id, tt.exp, tt.sig); !errors.Is(err, tt.wantError) {
				t.Errorf("Check = %v, want %v", err, tt.wantError)
			}
		})
	}
	if _, err := bot.NewMediaLinks("giftdesk.example", []byte("0123456789abcdef"), 0, nil); err == nil {
		t.Error("a base without a scheme was accepted")
	}
	if _, err := bot.NewMediaLinks("https://giftdesk.example", []byte("short"), 0, nil); err == nil {
		t.Error("a short key was accepted")
	}
}

// TestDeskMedia: while handed off, a photo goes to the thread as media after the
// messages held before it, a file over the limit is a line there, a sticker a relayed
// line; the customer is told. An agent's file reaches the customer when links are on,
// and is refused with a note in the thread when they are not.
func TestDeskMedia(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	for _, agentMedia := range []bool{true, false} {
		e := newTestEngine(t, clk)
		d, err := bot.NewDesk(bot.DeskConfig{Engine: e, TicketChannel: "slack", TicketAddress: "CHANDOFF", Now: clk.now,
			Media: bot.MediaLimits{MaxBytes: 1 << 20}, AgentMedia: agentMedia, RelaysPerMinute: 1,
			Redact: func(s string) string { return s }})
		if err != nil {
			t.Fatal(err)
		}
		r := &deskRun{t: t, d: d, c: &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}, Name: "山田"}}
		r.customer("こんにちは")
		r.customer("人と話したい")
		id := r.c.Ticket.ID
		r.customer("一通目")
		r.customer("二通目") // held: one relay a minute
		res := r.step(bot.Inbound{Kind: bot.InMedia, Media: &bot.Media{Kind: bot.MediaImage, Channel: "line", ID: "9"}})
		got := outs(res)
		held, media := strings.Index(got, "二通目"), strings.Index(got, "media 山田 画像")
		if held < 0 || media < held {
			t.Errorf("photo: want the held message, then the photo, in the thread:\n%s", got)
		}
		wantIn(t, "photo", got, "reply: 画像を担当者に送りました。")
		var ref *bot.Media
		for _, o := range res.Out {
			for _, m := range o.Messages {
				if m.Kind == bot.MsgMedia {
					ref = m.Media
				}
			}
		}
		if ref == nil || ref.ID != "9" || ref.Channel != "line" {
			t.Errorf("relayed media %+v, want LINE message 9", ref)
		}
		res = r.step(bot.Inbound{Kind: bot.InMedia, Media: &bot.Media{Kind: bot.MediaFile, Channel: "line", ID: "10", Name: "a.pdf", Size: 2 << 20}})
		wantIn(t, "large file", outs(res), "slack ticket:"+id+": text  お客様からファイルが届きましたが", "reply: 申し訳ありません、ファイルが大きすぎる")
		res = r.step(bot.Inbound{Kind: bot.InMedia, Media: &bot.Media{Kind: bot.MediaSticker, Channel: "line", ID: "11", Text: "ok"}})
		if len(res.Messages) != 0 {
			t.Errorf("a sticker was answered:\n%s", outs(res))
		}
		if line := r.res.Transcript; len(line) == 0 || line[0].Text != "(sticker)" {
			t.Errorf("sticker transcript %+v", line)
		}

		res = r.step(bot.Inbound{Kind: bot.InAgentText, Agent: "UA", AgentName: "A", Ticket: id,
			Media: &bot.Media{Kind: bot.MediaImage, Channel: "slack", ID: "F1", Name: "x.png", Type: "image/png", Size: 10}})
		got = outs(res)
		if agentMedia {
			wantIn(t, "agent's file", got, "line U1: media  担当者からファイルが届きました: x.png", "receipt  sent")
		} else {
			wantIn(t, "agent's file without links", got, "GIFTDESK_PUBLIC_URL", "receipt  dropped")
			if strings.Contains(got, "line U1") {
				t.Errorf("the file reached the customer without links:\n%s", got)
			}
		}

		// Words with three files: all reach the customer, in order, in one delivery; the
		// transcript names each (a code in a name masked by Redact, here the identity).
		more := []bot.Media{
			{Kind: bot.MediaFile, Channel: "slack", ID: "F3", Name: "b.pdf", Type: "application/pdf", Size: 10},
			{Kind: bot.MediaImage, Channel: "slack", ID: "F4", Name: "c.png", Type: "image/png", Size: 10},
		}
		res = r.step(bot.Inbound{Kind: bot.InAgentText, Agent: "UA", AgentName: "A", Ticket: id, Text: "資料です",
			Media: &bot.Media{Kind: bot.MediaImage, Channel: "slack", ID: "F2", Name: "a.png", Type: "image/png", Size: 10}, MoreMedia: &more})
		got = outs(res)
		if !agentMedia {
			wantIn(t, "agent's files without links", got, "line U1: text A 資料です", "GIFTDESK_PUBLIC_URL", "receipt  sent")
			if strings.Contains(got, "media") {
				t.Errorf("a file reached the customer without links:\n%s", got)
			}
			continue
		}
		var ids []string
		for _, o := range res.Out {
			for _, m := range o.Messages {
				if m.Kind == bot.MsgMedia {
					ids = append(ids, m.Media.ID)
				}
			}
		}
		if strings.Join(ids, " ") != "F2 F3 F4" {
			t.Errorf("agent's files reached the customer as %v, want F2 F3 F4:\n%s", ids, got)
		}
		wantIn(t, "agent's files", got, "line U1: text A 資料です", "担当者からファイルが届きました: a.png", "担当者からファイルが届きました: b.pdf",
			"担当者からファイルが届きました: c.png", "receipt  sent")
		if tr := r.res.Transcript; len(tr) != 1 || tr[0].Text != "資料です (image: a.png) (file: b.pdf) (image: c.png)" {
			t.Errorf("transcript %+v", tr)
		}
	}
}
