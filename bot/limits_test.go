package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// countOut counts the deliveries of res to channel via whose messages are of kind.
func countOut(res bot.Result, via string, kind bot.MessageKind) int {
	n := 0
	for _, o := range res.Out {
		for _, m := range o.Messages {
			if o.Channel == via && m.Kind == kind {
				n++
			}
		}
	}
	return n
}

// TestDeskTicketsPerHour plays a customer who asks for a person and starts over, again
// and again: three tickets are opened in an hour, then the customer is told the request
// was received and the agents see it in the last ticket's thread; an hour later a ticket
// may be opened again.
func TestDeskTicketsPerHour(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	r := &deskRun{t: t, d: newTestDesk(t, clk, bot.Hours{}), c: &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}, Name: "山田"}}
	r.customer("こんにちは")
	roots, last := 0, ""
	for i := range 6 {
		clk.t = clk.t.Add(time.Second)
		res := r.customer("人と話したい")
		roots += countOut(res, "slack", bot.MsgTicket)
		if i < 3 {
			if r.c.Ticket == nil {
				t.Fatalf("request %d: no ticket", i+1)
			}
			last = r.c.Ticket.ID
		} else {
			wantIn(t, "refused hand-off", outs(res), "reply: 担当者へのご依頼が短い間に続いたため",
				"slack ticket:"+last+": text  お客様がもう一度担当者を呼びました")
			if strings.Contains(outs(res), "おつなぎします") || r.c.Ticket != nil {
				t.Errorf("request %d: handed off beyond the limit:\n%s", i+1, outs(res))
			}
		}
		r.customer("最初から")
	}
	if roots != 3 {
		t.Errorf("%d tickets opened in a minute, want 3", roots)
	}
	clk.t = clk.t.Add(time.Hour)
	r.customer("こんにちは") // after the idle timeout, the flow starts over
	if res := r.customer("人と話したい"); countOut(res, "slack", bot.MsgTicket) != 1 {
		t.Errorf("an hour later, no ticket:\n%s", outs(res))
	}
}

// TestDeskRelaysPerMinute plays a customer writing fast while handed off: six messages a
// minute go to the thread one by one, the rest are held and posted together when the
// desk's timer goes off, in order, or with the next message once the minute is over.
func TestDeskRelaysPerMinute(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	r := &deskRun{t: t, d: newTestDesk(t, clk, bot.Hours{}), c: &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}, Name: "山田"}}
	r.customer("こんにちは")
	r.customer("人と話したい")
	id := r.c.Ticket.ID

	posts, timers := 0, 0
	var timerAt time.Time
	for i := range 20 {
		clk.t = clk.t.Add(100 * time.Millisecond)
		res := r.customer("メッセージ" + string(rune('A'+i)))
		posts += countOut(res, "slack", bot.MsgText)
		for _, o := range res.Out {
			if o.Channel == bot.TimerChannel {
				timers++
				timerAt = o.NotBefore
				if o.Address != bot.TicketAddress(id) {
					t.Errorf("timer for %q, want %q", o.Address, bot.TicketAddress(id))
				}
			}
		}
	}
	if posts != 6 || timers != 1 {
		t.Fatalf("in a burst of 20: %d posts and %d timers, want 6 and 1", posts, timers)
	}
	clk.t = timerAt
	res := r.step(bot.Inbound{Kind: bot.InDeskTimer, Ticket: id})
	if n := countOut(res, "slack", bot.MsgText); n != 1 {
		t.Fatalf("timer: %d posts, want 1 with the 14 held messages:\n%s", n, outs(res))
	}
	held := outs(res)
	wantIn(t, "merged post", held, "slack ticket:"+id+": text 山田 (短時間に届いた14件のメッセージをまとめて表示しています)")
	for i := 6; i < 20; i++ {
		wantIn(t, "merged post", held, "メッセージ"+string(rune('A'+i)))
	}
	if strings.Index(held, "メッセージG") > strings.Index(held, "メッセージT") {
		t.Errorf("held messages out of order:\n%s", held)
	}
	// The timer again (delivered twice): nothing more.
	if res := r.step(bot.Inbound{Kind: bot.InDeskTimer, Ticket: id}); len(res.Out) != 0 {
		t.Errorf("second timer posted:\n%s", outs(res))
	}

	// Held messages are posted with the next message once the minute is over, before the
	// timer goes off, and in order.
	clk.t = clk.t.Add(2 * time.Minute)
	for i := range 8 {
		clk.t = clk.t.Add(time.Millisecond)
		r.customer("次" + string(rune('a'+i)))
	}
	clk.t = clk.t.Add(time.Minute)
	res = r.customer("最後")
	got := outs(res)
	if n := countOut(res, "slack", bot.MsgText); n != 1 || !strings.Contains(got, "次g\n次h\n最後") {
		t.Errorf("after the minute: %d posts, want 1 ending with the held and the new message:\n%s", n, got)
	}
}
