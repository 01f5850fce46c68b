package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

func newTestDesk(t *testing.T, clk *clock, hours bot.Hours) *bot.Desk {
	t.Helper()
	e, err := bot.NewEngine(bot.EngineConfig{Flow: testFlow(), Funcs: testFuncs(), Normalize: textnorm.Normalize, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	d, err := bot.NewDesk(bot.DeskConfig{Engine: e, TicketChannel: "slack", TicketAddress: "CHANDOFF", Hours: hours,
		Redact: func(s string) string { return strings.ReplaceAll(s, "SECRETCODE", "****") }, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// deskRun steps events through a desk and keeps what came out.
type deskRun struct {
	t   *testing.T
	d   *bot.Desk
	c   *bot.Conversation
	n   int
	res bot.Result
}

func (r *deskRun) customer(text string) bot.Result {
	r.t.Helper()
	return r.step(bot.Inbound{Kind: bot.InText, Text: text})
}

func (r *deskRun) step(in bot.Inbound) bot.Result {
	r.t.Helper()
	r.n++
	ev := bot.Event{ID: "ev" + time.Duration(r.n).String(), Key: r.c.Key, In: in, Address: "U1"}
	if !strings.HasPrefix(string(in.Kind), "agent") && in.Kind != bot.InTicketWait {
		ev.Address = "U1"
	} else {
		ev.Address = "CHANDOFF:1.0"
	}
	res, err := r.d.Step(context.Background(), r.c, ev)
	if err != nil {
		r.t.Fatalf("step %+v: %v", in, err)
	}
	r.res = res
	return res
}

func (r *deskRun) agent(kind bot.InboundKind, who, text string) bot.Result {
	r.t.Helper()
	id := ""
	if r.c.Ticket != nil {
		id = r.c.Ticket.ID
	}
	return r.step(bot.Inbound{Kind: kind, Agent: who, AgentName: "agent " + who, Text: text, Ticket: id})
}

// outs renders a result's deliveries as "via address: text" lines.
func outs(res bot.Result) string {
	var b strings.Builder
	for _, m := range res.Messages {
		b.WriteString("reply: " + m.Text + m.Title + "\n")
	}
	for _, o := range res.Out {
		for _, m := range o.Messages {
			line := o.Channel + " " + o.Address + ": " + string(m.Kind) + " " + m.From + " " + m.Text
			if m.Ticket != nil {
				line += " ticket=" + m.Ticket.ID + " state=" + string(m.Ticket.State) + " agent=" + m.Ticket.Agent + " note=" + m.Ticket.Note
			}
			for _, c := range m.Choices {
				line += " [" + c.Label + "=" + c.Data + "]"
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func wantIn(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestDeskHandoffLifecycle(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)} // 11:00 in Tokyo, a Friday
	r := &deskRun{t: t, d: newTestDesk(t, clk, bot.Hours{}), c: &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}, Name: "山田"}}

	r.customer("こんにちは")
	res := r.customer("人と話したい")
	wantIn(t, "hand-off", outs(res), "reply: おつなぎします", "slack CHANDOFF: ticket", "state=waiting")
	if r.c.Ticket == nil || r.c.Ticket.State != bot.TicketWaiting || r.c.Status != bot.StatusHandoff {
		t.Fatalf("after hand-off: ticket %+v status %q", r.c.Ticket, r.c.Status)
	}
	id := r.c.Ticket.ID
	var card *bot.TicketCard
	for _, o := range res.Out {
		card = o.Messages[0].Ticket
	}
	if card.Customer != "山田" || len(card.Recent) == 0 || card.Reason != "customer_request" {
		t.Errorf("ticket card = %+v", card)
	}

	// The customer writes while waiting: relayed, code masked, never answered by the flow.
	res = r.customer("まだですか? コードは SECRETCODE です")
	wantIn(t, "relay", outs(res), "slack ticket:"+id+": text 山田 まだですか? コードは **** です")
	if len(res.Messages) != 0 || strings.Contains(outs(res), "SECRETCODE") {
		t.Errorf("relay answered or leaked:\n%s", outs(res))
	}

	// Two agents claim: the first wins.
	wantIn(t, "claim", outs(r.agent(bot.InAgentClaim, "UA", "")), "ticket_update", "state=claimed agent=UA")
	wantIn(t, "second claim", outs(r.agent(bot.InAgentClaim, "UB", "")), bot.MentionAgent("UA")+" が対応中")
	if r.c.Ticket.Agent != "UA" {
		t.Errorf("agent = %q, want UA", r.c.Ticket.Agent)
	}

	// The agent answers: pushed to the customer; a note stays internal. Either way the
	// thread is told what became of the message.
	wantIn(t, "agent reply", outs(r.agent(bot.InAgentText, "UA", "コードを確認しますね")), "line U1: text agent UA コードを確認しますね",
		"slack ticket:"+id+": receipt  sent")
	for _, in := range []bot.Inbound{
		{Kind: bot.InAgentText, Agent: "UA", Text: "*note:* refund likely", Ticket: id},
		{Kind: bot.InAgentText, Agent: "UA", Text: "refund likely", Ticket: id, Note: true},
	} {
		res = r.step(in)
		if o := outs(res); strings.Contains(o, "line") || !strings.Contains(o, "slack ticket:"+id+": receipt  note") ||
			len(res.Transcript) != 1 || res.Transcript[0].Role != bot.RoleNote || res.Transcript[0].Text != in.Text {
			t.Errorf("note %+v: %s %+v", in, o, res.Transcript)
		}
	}

	// Resolve: the customer is thanked and asked for a rating, which closes the ticket.
	wantIn(t, "resolve", outs(r.agent(bot.InAgentResolve, "UA", "")), "state=resolved", "line U1: question", "[★★★★★=r:5]")
	res = r.step(bot.Inbound{Kind: bot.InPostback, Postback: "r:4"})
	if res.Closed == nil || res.Closed.Rating != 4 || res.Closed.Outcome != "resolved" || res.Closed.ID != id || r.c.Ticket != nil {
		t.Fatalf("after rating: closed %+v ticket %+v", res.Closed, r.c.Ticket)
	}
	wantIn(t, "rating", outs(res), "ご評価ありがとうございました", "★4")

	// The bot answers again.
	wantIn(t, "bot again", outs(r.customer("こんにちは")), "どうしましたか?")

	// An agent acting on the closed ticket is told so.
	res = r.step(bot.Inbound{Kind: bot.InAgentText, Agent: "UA", Text: "hello?", Ticket: id})
	wantIn(t, "stale ticket", outs(res), "このチケットは終了しています", "receipt  dropped")
}

func TestDeskWaitCancelUnfollowReturn(t *testing.T) {
	tests := []struct {
		name  string
		after func(r *deskRun) bot.Result
		want  []string
		close string
	}{
		{name: "wait notice then self-help", after: func(r *deskRun) bot.Result {
			wantIn(r.t, "wait", outs(r.step(bot.Inbound{Kind: bot.InTicketWait})), "line U1: question", "[手順をもう一度見る=w:self]")
			if out := outs(r.step(bot.Inbound{Kind: bot.InTicketWait})); out != "" {
				r.t.Errorf("second wait notice:\n%s", out)
			}
			return r.step(bot.Inbound{Kind: bot.InPostback, Postback: "w:self"})
		}, want: []string{"どうしましたか?", "待つのをやめ"}, close: "cancelled"},
		{name: "keep waiting", after: func(r *deskRun) bot.Result {
			return r.step(bot.Inbound{Kind: bot.InPostback, Postback: "w:wait"})
		}, want: []string{"このままお待ちください"}},
		{name: "customer starts over", after: func(r *deskRun) bot.Result {
			return r.customer("最初からお願いします")
		}, want: []string{"どうしましたか?"}, close: "cancelled"},
		{name: "unfollow", after: func(r *deskRun) bot.Result {
			return r.step(bot.Inbound{Kind: bot.InUnfollow})
		}, want: []string{"ブロックしました"}, close: "unfollowed"},
		{name: "agent returns to bot", after: func(r *deskRun) bot.Result {
			r.agent(bot.InAgentClaim, "UA", "")
			return r.agent(bot.InAgentReturn, "UA", "")
		}, want: []string{"自動案内でお手伝いします", "どうしましたか?"}, close: "returned"},
		{name: "agent answers before claiming", after: func(r *deskRun) bot.Result {
			return r.agent(bot.InAgentText, "UB", "お待たせしました")
		}, want: []string{"state=claimed agent=UB", "line U1: text agent UB お待たせしました"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
			r := &deskRun{t: t, d: newTestDesk(t, clk, bot.Hours{}), c: &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}}}
			r.customer("やあ")
			r.customer("担当者")
			res := tt.after(r)
			wantIn(t, "result", outs(res), tt.want...)
			switch {
			case tt.close == "" && r.c.Ticket == nil:
				t.Errorf("ticket closed: %+v", res.Closed)
			case tt.close != "" && (res.Closed == nil || res.Closed.Outcome != tt.close || r.c.Ticket != nil):
				t.Errorf("closed = %+v, ticket %+v; want outcome %s", res.Closed, r.c.Ticket, tt.close)
			}
		})
	}
}

func TestDeskOutOfHours(t *testing.T) {
	hours, err := bot.ParseHours("Mon-Fri 10:00-19:00 Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)} // Saturday noon in Tokyo
	r := &deskRun{t: t, d: newTestDesk(t, clk, hours), c: &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}}}
	r.customer("やあ")
	res := r.customer("担当者")
	wantIn(t, "out of hours", outs(res), "営業時間外", "11月30日(月) 10:00")
}

func TestDeskStaffDiagnosis(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
	r := &deskRun{t: t, d: newTestDesk(t, clk, bot.Hours{}), c: &bot.Conversation{Key: bot.Key{Channel: "slack", User: "C1:1.0"}}}
	r.customer("hi")
	res := r.customer("agent")
	wantIn(t, "staff hand-off", outs(res), "slack CHANDOFF: ticket", "I've posted a ticket")
	if res.Closed == nil || res.Closed.Outcome != "posted" || r.c.Ticket != nil {
		t.Errorf("staff ticket: closed %+v, open %+v", res.Closed, r.c.Ticket)
	}
}

func TestParseHours(t *testing.T) {
	tests := []struct {
		name, spec string
		at         time.Time
		open       bool
		next       string
		wantErr    bool
	}{
		{name: "weekday open", spec: "Mon-Fri 10:00-19:00 Asia/Tokyo", at: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC), open: true},
		{name: "before opening", spec: "Mon-Fri 10:00-19:00 Asia/Tokyo", at: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC), next: "2026-11-27 10:00"},
		{name: "friday evening", spec: "Mon-Fri 10:00-19:00 Asia/Tokyo", at: time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC), next: "2026-11-30 10:00"},
		{name: "list of days", spec: "Sat,Sun 09:00-12:00 UTC", at: time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC), next: "2026-11-28 09:00"},
		{name: "always", spec: "always", at: time.Now(), open: true},
		{name: "bad zone", spec: "Mon-Fri 10:00-19:00 Mars/Base", wantErr: true},
		{name: "bad times", spec: "Mon-Fri 19:00-10:00 UTC", wantErr: true},
		{name: "bad day", spec: "Mon-Fry 10:00-19:00 UTC", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := bot.ParseHours(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseHours(%q) = %+v, want an error", tt.spec, h)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			open, next := h.Open(tt.at)
			if open != tt.open || (!open && next.Format("2006-01-02 15:04") != tt.next) {
				t.Errorf("Open(%v) = %v, %v; want %v, %s", tt.at, open, next, tt.open, tt.next)
			}
		})
	}
}

// TestDeskAgentLang checks that the text the desk writes for agents is in the desk's
// AgentLang, whatever the customer's language, and that an unsupported one is refused.
func TestDeskAgentLang(t *testing.T) {
	tests := []struct {
		name string
		lang bot.Lang
		want string
	}{
		{name: "default", want: "が対応中です"},
		{name: "english", lang: bot.English, want: "already has this ticket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}
			e, err := bot.NewEngine(bot.EngineConfig{Flow: testFlow(), Funcs: testFuncs(), Normalize: textnorm.Normalize, Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			d, err := bot.NewDesk(bot.DeskConfig{Engine: e, TicketChannel: "slack", TicketAddress: "CHANDOFF", AgentLang: tt.lang, Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			r := &deskRun{t: t, d: d, c: &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}, Name: "山田"}}
			r.customer("こんにちは")
			r.customer("人と話したい")
			r.agent(bot.InAgentClaim, "UA", "")
			wantIn(t, "second claim", outs(r.agent(bot.InAgentClaim, "UB", "")), tt.want)
		})
	}
	e, err := bot.NewEngine(bot.EngineConfig{Flow: testFlow(), Funcs: testFuncs(), Normalize: textnorm.Normalize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bot.NewDesk(bot.DeskConfig{Engine: e, AgentLang: "fr"}); err == nil {
		t.Error("NewDesk with AgentLang fr: no error")
	}
}

func TestRenderMentions(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "one", in: "claimed by " + bot.MentionAgent("UA"), want: "claimed by <UA>"},
		{name: "two", in: bot.MentionAgent("UA") + " and " + bot.MentionAgent("UB"), want: "<UA> and <UB>"},
		{name: "none", in: "no agent", want: "no agent"},
		{name: "unclosed", in: "@{UA", want: "@{UA"},
		{name: "empty", in: "@{} x", want: "@{} x"},
		{name: "space", in: "@{a b} " + bot.MentionAgent("UA"), want: "@{a b} <UA>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bot.RenderMentions(tt.in, func(id string) string { return "<" + id + ">" })
			if got != tt.want {
				t.Errorf("RenderMentions(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
