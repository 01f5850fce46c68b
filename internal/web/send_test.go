package web_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	"github.com/giftdesk/giftdesk/internal/web"
	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// TestSend is the web sender's part of the senders' contract (internal/sendertest, whose
// faults are an HTTP platform's: the web sender calls none, its platform is the store):
// every kind a customer gets is delivered with its visible text; a retry delivers nothing
// twice; what is not for a customer is skipped; a cancelled context and a failing store are
// temporary errors without the message's content.
func TestSend(t *testing.T) {
	const code = "ABCD-EFGH12-JKLM3"
	h := start(t, nil)
	c := h.client()
	c.call("GET", "/api/session", nil)
	conv := c.conversation()
	ctx := t.Context()
	tests := []struct {
		name string
		msg  bot.Message
		want []string
	}{
		{name: "text", msg: bot.Message{Kind: bot.MsgText, Text: "こんにちは。ご用件をどうぞ"}, want: []string{"こんにちは。ご用件をどうぞ"}},
		{name: "question", msg: bot.Message{Kind: bot.MsgQuestion, Text: "どのような状況ですか？",
			Choices: []bot.Choice{{Label: "登録できない", Data: "o:start:register"}, {Label: "残高が合わない", Data: "o:start:balance"}}},
			want: []string{"どのような状況ですか？", "登録できない", "o:start:balance"}},
		{name: "advice", msg: bot.Message{Kind: bot.MsgSteps, Title: "ギフト券の登録方法", Steps: []string{"アカウントにサインインします", "番号を入力します"}},
			want: []string{"ギフト券の登録方法", "アカウントにサインインします", "番号を入力します"}},
		{name: "handoff", msg: bot.Message{Kind: bot.MsgHandoff, Text: "担当者におつなぎします", Reason: "asked"}, want: []string{`"kind":"handoff"`, "担当者におつなぎします"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := outgoing(conv, "web:"+conv+":m", i, tt.msg)
			for range 2 {
				if outcome, err := h.ch.Send(ctx, out); err != nil || outcome != "push" {
					t.Fatalf("Send = %q, %v", outcome, err)
				}
			}
			recs, err := h.store.ReadWeb(ctx, conv, int64(i), 10)
			if err != nil || len(recs) != 1 {
				t.Fatalf("%d entries after a delivery sent twice (%v), want 1", len(recs), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(recs[0].Data), w) {
					t.Errorf("entry %s lacks %q", recs[0].Data, w)
				}
			}
		})
	}
	t.Run("agent file", func(t *testing.T) {
		links, err := bot.NewMediaLinks("https://desk.example", []byte("0123456789abcdef0123"), time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		msg := bot.Message{Kind: bot.MsgMedia, Text: "担当者からファイルが届きました：receipt.png",
			Media: &bot.Media{Kind: bot.MediaImage, Channel: "slack", ID: "F0FILE1", Name: "receipt.png"}}
		for i, tt := range []struct {
			name  string
			links *bot.MediaLinks
			want  []string
			not   string
		}{
			{"with links", links, []string{`"from":"agent"`, "receipt.png", "https://desk.example" + bot.MediaPath + "F0FILE1?exp="}, ""},
			{"without links", nil, []string{`"from":"agent"`, "receipt.png"}, bot.MediaPath},
		} {
			ch, err := web.New(web.Config{Inbox: h.store, Log: h.store, Secret: []byte(secret), MediaLinks: tt.links})
			if err != nil {
				t.Fatal(err)
			}
			before, err := h.store.ReadWeb(ctx, conv, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if outcome, err := ch.Send(ctx, outgoing(conv, "web:"+conv+":file", i, msg)); err != nil || outcome != "push" {
				t.Fatalf("%s: Send = %q, %v", tt.name, outcome, err)
			}
			after, err := h.store.ReadWeb(ctx, conv, 0, 1000)
			if err != nil || len(after) != len(before)+1 {
				t.Fatalf("%s: %d entries after the file, want %d (%v)", tt.name, len(after), len(before)+1, err)
			}
			got := string(after[len(after)-1].Data)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: entry %s lacks %q", tt.name, got, w)
				}
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("%s: entry %s has a link", tt.name, got)
			}
		}
	})
	t.Run("not for customers", func(t *testing.T) {
		out := outgoing(conv, "x", 0, bot.Message{Kind: bot.MsgTicket, Ticket: &bot.TicketCard{ID: "T1"}}, bot.Message{Kind: bot.MsgReceipt, Text: bot.ReceiptSent})
		if outcome, err := h.ch.Send(ctx, out); err != nil || outcome != "none" {
			t.Errorf("Send = %q, %v; want none", outcome, err)
		}
	})
	t.Run("no address", func(t *testing.T) {
		_, err := h.ch.Send(ctx, bot.Outgoing{Key: bot.Key{Channel: "line", User: "U1"}, Messages: []bot.Message{{Kind: bot.MsgText, Text: "x"}}})
		if !bot.IsPermanent(err) {
			t.Errorf("Send without a conversation = %v, want a permanent error", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := h.ch.Send(cctx, outgoing(conv, "web:"+conv+":c", 0, bot.Message{Kind: bot.MsgText, Text: "コード " + code}))
		temporary(t, err, code)
	})
	t.Run("store failing", func(t *testing.T) {
		ch, err := web.New(web.Config{Inbox: h.store, Log: failingLog{h.store}, Secret: []byte(secret)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.Send(ctx, outgoing(conv, "web:"+conv+":f", 0, bot.Message{Kind: bot.MsgText, Text: "コード " + code}))
		temporary(t, err, code)
	})
}

// failingLog is a store whose appends fail, as a database that is down.
type failingLog struct{ *sqlite.Store }

func (failingLog) AppendWeb(context.Context, string, []weblog.Record) ([]int64, error) {
	return nil, errors.New("database is locked")
}

func temporary(t *testing.T, err error, secret string) {
	t.Helper()
	var de *bot.DeliveryError
	if !errors.As(err, &de) || de.Permanent || de.Fixable {
		t.Errorf("Send = %v, want a temporary *bot.DeliveryError", err)
	}
	if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "EFGH12")) {
		t.Errorf("the error %q holds the message's content", err)
	}
}

// TestSendMasksAgentCodes: a gift-card code in an agent's message, or in the name of an
// agent's file, is kept in the log masked by Config.Redact (the function every transcript
// uses), and the page is shown the masked form; the file's link is left whole, and the
// bot's own messages are kept as they are.
func TestSendMasksAgentCodes(t *testing.T) {
	const code = "AQ7X-K29PLM-ZR4TW"
	masked := flows.RedactCodes(code)
	if masked == code {
		t.Fatalf("RedactCodes(%q) masks nothing", code)
	}
	links, err := bot.NewMediaLinks("https://desk.example", []byte("0123456789abcdef0123"), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, func(c *web.Config) { c.Redact, c.MediaLinks = flows.RedactCodes, links })
	c := h.client()
	c.call("GET", "/api/session", nil)
	conv := c.conversation()
	ctx := t.Context()
	out := outgoing(conv, "slack:msg:C1:1.2", 0,
		bot.Message{Kind: bot.MsgText, Text: "コード " + code + " を確認しました", From: "山田"},
		bot.Message{Kind: bot.MsgMedia, Text: "担当者からファイルが届きました: " + code + ".png",
			Media: &bot.Media{Kind: bot.MediaImage, Channel: "slack", ID: "F0FILE1", Name: code + ".png"}},
		bot.Message{Kind: bot.MsgText, Text: "ご確認ありがとうございました"})
	if _, err := h.ch.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	want := []struct{ from, text string }{
		{"agent", "コード " + masked + " を確認しました"},
		{"agent", "担当者からファイルが届きました: " + masked + ".png\nhttps://desk.example" + bot.MediaPath + "F0FILE1?exp="},
		{"bot", "ご確認ありがとうございました"},
	}
	recs, err := h.store.ReadWeb(ctx, conv, 0, 10)
	if err != nil || len(recs) != len(want) {
		t.Fatalf("%d entries in the log (%v), want %d", len(recs), err, len(want))
	}
	for i, r := range recs {
		if strings.Contains(string(r.Data), "K29PLM") {
			t.Errorf("the log keeps the code: %s", r.Data)
		}
		if !strings.Contains(string(r.Data), strings.ReplaceAll(want[i].text, "\n", `\n`)) {
			t.Errorf("entry %d is %s, want %q", i, r.Data, want[i].text)
		}
	}
	for i, m := range c.stream("/api/events", "").messages(len(want)) {
		text, _ := m["text"].(string)
		if m["from"] != want[i].from || !strings.HasPrefix(text, want[i].text) || strings.Contains(text, "K29PLM") {
			t.Errorf("the page got %v, want from %s %q", m, want[i].from, want[i].text)
		}
	}
}
