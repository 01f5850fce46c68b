package web_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
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
