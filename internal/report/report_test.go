package report_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/report"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// clock is the tests' clock: it moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// start is when the seeded conversations begin: ten days before the report.
var start = time.Date(2026, time.November, 17, 1, 0, 0, 0, time.UTC)

// seeder runs conversations as giftdesk serve does: events into the store's inbox, a
// worker stepping them through the hand-off desk and the gift-card engine, each turn's
// state, transcript and closed ticket committed to the store.
type seeder struct {
	t      *testing.T
	clk    *clock
	store  *sqlite.Store
	worker *pipeline.Worker
	n      int
}

func newPipeline(t *testing.T) *seeder {
	t.Helper()
	clk := &clock{t: start}
	store, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "giftdesk.db"), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := bot.NewEngine(bot.EngineConfig{Flow: f, Funcs: flows.Funcs(), Normalize: textnorm.Normalize, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := bot.NewDesk(bot.DeskConfig{Engine: engine, TicketChannel: "slack", TicketAddress: "CHANDOFF",
		Redact: flows.RedactCodes, Transcripts: store})
	if err != nil {
		t.Fatal(err)
	}
	worker, err := pipeline.NewWorker(pipeline.WorkerConfig{Queue: store, Store: store, Stepper: desk, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return &seeder{t: t, clk: clk, store: store, worker: worker}
}

// send stores an event of conversation k a minute after the last one and steps it.
func (p *seeder) send(k bot.Key, in bot.Inbound) {
	p.t.Helper()
	p.n++
	p.clk.t = p.clk.t.Add(time.Minute)
	ev := bot.Event{ID: fmt.Sprintf("line:ev%03d", p.n), Key: k, In: in, At: p.clk.t, Address: k.User}
	if _, err := p.store.AddEvents(p.t.Context(), []bot.Event{ev}); err != nil {
		p.t.Fatal(err)
	}
	for {
		did, err := p.worker.RunOnce(p.t.Context())
		if err != nil {
			p.t.Fatalf("event %s %+v: %v", ev.ID, in, err)
		}
		if !did {
			return
		}
	}
}

func (p *seeder) follow(k bot.Key) { p.send(k, bot.Inbound{Kind: bot.InFollow, Lang: bot.English}) }

func (p *seeder) say(k bot.Key, text string) { p.send(k, bot.Inbound{Kind: bot.InText, Text: text}) }

// agent acts on the open ticket of k's conversation.
func (p *seeder) agent(k bot.Key, kind bot.InboundKind, text string) {
	p.t.Helper()
	c, err := p.store.Conversation(p.t.Context(), k)
	if err != nil {
		p.t.Fatal(err)
	}
	if c.Ticket == nil {
		p.t.Fatalf("%s has no open ticket", k)
	}
	p.send(k, bot.Inbound{Kind: kind, Agent: "UAGENT", AgentName: "Sato", Text: text, Ticket: c.Ticket.ID})
}

// handoffRated runs a conversation that asks for a person, who answers and resolves it,
// and the customer's rating.
func (p *seeder) handoffRated(k bot.Key, rating int) {
	p.follow(k)
	p.say(k, "talk to a person")
	p.agent(k, bot.InAgentClaim, "")
	p.agent(k, bot.InAgentText, "Hello, let me check your order.")
	p.agent(k, bot.InAgentResolve, "")
	p.send(k, bot.Inbound{Kind: bot.InPostback, Postback: fmt.Sprintf("r:%d", rating)})
}

// seed runs the conversations the tests report on and returns the time of the report.
//
//   - old: handed off and rated 1, ten days ago: outside a 7-day report;
//   - solved: a greeting, one misunderstood utterance (full-width), then advice that solves it;
//   - rated: asks for a person, who resolves it; rated 4;
//   - lost: a greeting, two utterances not understood, one of them markup; stops at the start;
//   - waiting: a greeting, one utterance not understood, then asks for a person; nobody has
//     answered yet;
//   - staff: a staff member in Slack asks for a person: the ticket is posted and closed;
//   - of the answers, none delivered, but one failed, one uncertain and one parked.
func seed(t *testing.T) (*seeder, time.Time) {
	p := newPipeline(t)
	p.handoffRated(bot.Key{Channel: "line", User: "U-old"}, 1)

	p.clk.t = start.Add(9 * 24 * time.Hour)
	solved := bot.Key{Channel: "line", User: "U-solved"}
	p.follow(solved)
	p.say(solved, "hi") // names no problem: the start question again, not a miss
	p.say(solved, "Ｂｌｏｒｐ!")
	p.say(solved, "I can't select the gift card when paying")
	p.say(solved, "yes")

	p.handoffRated(bot.Key{Channel: "line", User: "U-rated"}, 4)

	lost := bot.Key{Channel: "line", User: "U-lost"}
	p.follow(lost)
	p.say(lost, "hello")
	p.say(lost, "blorp")
	p.say(lost, "<script>alert(1)</script>")

	waiting := bot.Key{Channel: "line", User: "U-waiting"}
	p.follow(waiting)
	p.say(waiting, "hey")
	p.say(waiting, "blorp")
	p.say(waiting, "talk to a person")

	staff := bot.Key{Channel: "slack", User: "C1/1.0"}
	p.follow(staff)
	p.say(staff, "talk to a person")

	// Deliveries: of the first claimed, one failed, one uncertain, one parked.
	outs, err := p.store.ClaimOutgoing(p.t.Context(), "d", 3, time.Minute)
	if err != nil || len(outs) != 3 {
		t.Fatalf("ClaimOutgoing = %d rows, %v", len(outs), err)
	}
	for i, finish := range []func(id int64) error{
		func(id int64) error { return p.store.FinishOutgoing(p.t.Context(), id, "d", "failed") },
		func(id int64) error { return p.store.FinishOutgoing(p.t.Context(), id, "d", bot.OutcomeUncertain) },
		func(id int64) error { return p.store.ParkOutgoing(p.t.Context(), id, "d", p.clk.t.Add(time.Hour)) },
	} {
		if err := finish(outs[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	return p, p.clk.t.Add(time.Hour)
}

func build(t *testing.T, src report.Source, now time.Time) *report.Report {
	t.Helper()
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(t.Context(), src, report.Config{Flow: f, Since: now.Add(-7 * 24 * time.Hour),
		Now: func() time.Time { return now }, Lang: bot.English})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportBuild(t *testing.T) {
	p, now := seed(t)
	r := build(t, p.store, now)

	type figures struct {
		Conversations, Contained, HandedOff, Tickets, Rated, RatingSum, Misses, Distinct int
	}
	got := figures{r.Conversations, r.Contained, r.HandedOff, r.Tickets, r.Rated, r.RatingSum, r.Misses, r.Distinct}
	want := figures{Conversations: 5, Contained: 1, HandedOff: 3, Tickets: 3, Rated: 1, RatingSum: 4, Misses: 4, Distinct: 2}
	if got != want {
		t.Errorf("figures = %+v\nwant      %+v", got, want)
	}
	if r.Containment() != 0.2 || r.HandoffRate() != 0.6 || r.AverageRating() != 4 {
		t.Errorf("containment %v, hand-off rate %v, average rating %v; want 0.2, 0.6, 4",
			r.Containment(), r.HandoffRate(), r.AverageRating())
	}
	checkCounts(t, "channels", r.Channels, report.Count{Name: "line", N: 4}, report.Count{Name: "slack", N: 1})
	checkCounts(t, "outcomes", r.Outcomes, report.Count{Name: "open (waiting)", N: 1}, report.Count{Name: "posted", N: 1},
		report.Count{Name: "resolved", N: 1})
	checkCounts(t, "not understood", r.Unclear,
		report.Count{Name: "blorp", N: 3}, report.Count{Name: "<script>alert(1)</script>", N: 1}) // the commonest form

	// The funnel: every flow node in the flow's order, traffic where there was some.
	f := r.Flow
	if len(r.Nodes) != len(f.Nodes) {
		t.Fatalf("%d funnel nodes, want the flow's %d", len(r.Nodes), len(f.Nodes))
	}
	traffic := map[string][2]int{}
	for i, n := range r.Nodes {
		if n.ID != f.Nodes[i].ID || n.Kind != f.Nodes[i].Kind {
			t.Errorf("funnel node %d = %s (%s), want %s (%s)", i, n.ID, n.Kind, f.Nodes[i].ID, f.Nodes[i].Kind)
		}
		if n.Reached > 0 || n.Stopped > 0 {
			traffic[n.ID] = [2]int{n.Reached, n.Stopped}
		}
	}
	wantTraffic := map[string][2]int{
		"start":                  {5, 1},
		"advice_checkout_select": {1, 0},
		"solved":                 {1, 1},
		"handoff":                {3, 3},
	}
	if fmt.Sprint(traffic) != fmt.Sprint(wantTraffic) {
		t.Errorf("funnel traffic (reached, stopped) = %v\nwant %v", traffic, wantTraffic)
	}
}

// TestReportBuildEmpty checks a period without conversations.
func TestReportBuildEmpty(t *testing.T) {
	p := newPipeline(t)
	r := build(t, p.store, start)
	if r.Conversations != 0 || r.Containment() != 0 || r.HandoffRate() != 0 || r.AverageRating() != 0 || len(r.Unclear) != 0 {
		t.Errorf("empty report = %+v", r)
	}
	var text, page bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "conversations         0") {
		t.Errorf("text report of nothing:\n%s", text.String())
	}
	checkWellFormed(t, page.Bytes())
}

// fakeSource replays lines and tickets, or fails.
type fakeSource struct {
	lines   []keyed[bot.Line]
	tickets []keyed[bot.Ticket]
	err     error
}

type keyed[T any] struct {
	k bot.Key
	v T
}

func (s *fakeSource) LinesSince(_ context.Context, since time.Time, fn func(bot.Key, bot.Line) error) error {
	if s.err != nil {
		return s.err
	}
	for _, l := range s.lines {
		if !l.v.At.Before(since) {
			if err := fn(l.k, l.v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *fakeSource) TicketsSince(_ context.Context, _ time.Time, fn func(bot.Key, bot.Ticket) error) error {
	for _, t := range s.tickets {
		if err := fn(t.k, t.v); err != nil {
			return err
		}
	}
	return nil
}

// TestReportBuildLines checks how lines the pipeline rarely writes count: nodes the flow no
// longer has, ticket lines, misses that normalise to nothing, lines without a node, and
// hand-offs seen only as a hand-off node or only as a ticket.
func TestReportBuildLines(t *testing.T) {
	now := start.Add(24 * time.Hour)
	at := now.Add(-time.Hour)
	a, b, c := bot.Key{Channel: "line", User: "A"}, bot.Key{Channel: "line", User: "B"}, bot.Key{Channel: "line", User: "C"}
	d, e := bot.Key{Channel: "line", User: "D"}, bot.Key{Channel: "line", User: "E"}
	src := &fakeSource{lines: []keyed[bot.Line]{
		{a, bot.Line{At: now.Add(-30 * 24 * time.Hour), Role: bot.RoleBot, Node: "ask_code"}}, // before the period
		{a, bot.Line{At: at, Role: bot.RoleBot, Node: "start"}},
		{a, bot.Line{At: at, Role: bot.RoleBot, Node: "old_node"}},
		{a, bot.Line{At: at, Role: bot.RoleBot, Node: "solved"}},
		{a, bot.Line{At: at, Role: bot.RoleBot, Text: "no node"}},
		{b, bot.Line{At: at, Role: bot.RoleBot, Node: "solved"}},
		{b, bot.Line{At: at, Role: bot.RoleSystem, Text: "ticket T1 opened: customer_request"}},
		{c, bot.Line{At: at, Role: bot.RoleCustomer, Text: "???", Miss: true}},
		{c, bot.Line{At: at, Role: bot.RoleCustomer, Text: "!!!", Miss: true}},
		{c, bot.Line{At: at, Role: bot.RoleCustomer, Text: "!!!", Miss: true}},
		{c, bot.Line{At: at, Role: bot.RoleCustomer, Text: "understood"}},
		{c, bot.Line{At: at, Role: bot.RoleSystem, Text: "ticket T2 closed: cancelled"}},
		// A hand-off node without a ticket (no ticket channel), then solved after all.
		{d, bot.Line{At: at, Role: bot.RoleBot, Node: "handoff"}},
		{d, bot.Line{At: at, Role: bot.RoleBot, Node: "solved"}},
		// Solved, but with a ticket open (its opening line is older than the period).
		{e, bot.Line{At: at, Role: bot.RoleBot, Node: "solved"}},
	}, tickets: []keyed[bot.Ticket]{
		{bot.Key{Channel: "line", User: "gone"}, bot.Ticket{ID: "T9", State: bot.TicketClosed, Rating: 2}},
		{e, bot.Ticket{ID: "T10", State: bot.TicketClaimed}},
	}}
	r := build(t, src, now)
	if r.Conversations != 5 || r.Contained != 1 || r.HandedOff != 3 || r.Misses != 3 || r.Distinct != 2 {
		t.Errorf("report = %+v", r)
	}
	checkCounts(t, "not understood", r.Unclear, report.Count{Name: "!!!", N: 2}, report.Count{Name: "???", N: 1})
	checkCounts(t, "outcomes", r.Outcomes, report.Count{Name: "open (claimed)", N: 1}, report.Count{Name: "unknown", N: 1})
	last := r.Nodes[len(r.Nodes)-1]
	if last != (report.Node{ID: "old_node", Reached: 1}) {
		t.Errorf("last funnel node = %+v, want old_node, reached once, kind unknown", last)
	}
	for _, n := range r.Nodes {
		if n.ID == "ask_code" && n.Reached != 0 {
			t.Errorf("a line before the period counted: %+v", n)
		}
		if n.ID == "solved" && (n.Reached != 4 || n.Stopped != 4) {
			t.Errorf("solved = %+v, want reached and stopped by A, B, D and E", n)
		}
	}
}

func TestReportBuildErrors(t *testing.T) {
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		t.Fatal(err)
	}
	failure := errors.New("database on fire")
	tests := []struct {
		name string
		src  report.Source
		cfg  report.Config
		want error
	}{
		{name: "no flow", src: &fakeSource{}, cfg: report.Config{Since: start}},
		{name: "no since", src: &fakeSource{}, cfg: report.Config{Flow: f}},
		{name: "source fails", src: &fakeSource{err: failure}, cfg: report.Config{Flow: f, Since: start}, want: failure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := report.Build(t.Context(), tt.src, tt.cfg)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Build = %v, %v; want an error matching %v", r, err, tt.want)
			}
		})
	}
}

func TestReportText(t *testing.T) {
	p, now := seed(t)
	var b bytes.Buffer
	if err := build(t, p.store, now).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden", b.Bytes())
}

// TestReportTextOneLine checks that customer text cannot forge lines of the text report.
func TestReportTextOneLine(t *testing.T) {
	now := start.Add(time.Hour)
	k := bot.Key{Channel: "line", User: "A"}
	src := &fakeSource{lines: []keyed[bot.Line]{
		{k, bot.Line{At: now, Role: bot.RoleCustomer, Text: "hi\ncontained 999 100%\x1b[2J", Miss: true}},
	}}
	var b bytes.Buffer
	if err := build(t, src, now).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\ncontained 999") || strings.Contains(b.String(), "\x1b") {
		t.Errorf("customer text broke the report's lines:\n%s", b.String())
	}
}

func TestReportMermaid(t *testing.T) {
	p, now := seed(t)
	r := build(t, p.store, now)
	diagram := r.Mermaid()
	golden(t, "funnel.mmd", []byte(diagram))
	// Every recorded node carries its numbers; the diagram's shape is bot.Mermaid's.
	for _, n := range r.Nodes {
		label := fmt.Sprintf("— %d reached, %d stopped\" as %s\n", n.Reached, n.Stopped, n.ID)
		if n.Recorded() != strings.Contains(diagram, label) {
			t.Errorf("node %s (%s): label with traffic present = %v", n.ID, n.Kind, !n.Recorded())
		}
	}
	for line := range strings.Lines(bot.Mermaid(r.Flow, bot.English)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "state ") && !strings.Contains(diagram, line) {
			t.Errorf("diagram lacks bot.Mermaid's line %q", line)
		}
	}
}

func TestReportHTML(t *testing.T) {
	p, now := seed(t)
	r := build(t, p.store, now)
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.Bytes()
	el := checkWellFormed(t, page)

	// The customer's markup is text, not an element.
	if bytes.Contains(page, []byte("<script>alert")) {
		t.Errorf("page holds the customer's <script> unescaped")
	}
	if !slices.Contains(el.text["td"], "<script>alert(1)</script>") {
		t.Errorf("the customer's <script> utterance is not a table cell's text: %q", el.text["td"])
	}
	if n := el.count["script"]; n != 1 {
		t.Errorf("%d script elements, want 1 (Mermaid's)", n)
	}
	// The numbers are in the page's text, without the script.
	for _, want := range []string{"blorp", "open (waiting)", "4.0", "20%", "60%", "advice_checkout_select"} {
		if !slices.Contains(el.text["td"], want) && !slices.Contains(el.text["code"], want) {
			t.Errorf("no table cell reads %q", want)
		}
	}
	// The diagram is the annotated Mermaid source, as text of the pre.mermaid element.
	if pre := el.text["pre"]; len(pre) != 1 || pre[0] != r.Mermaid() {
		t.Errorf("pre.mermaid text differs from the diagram:\n%q", pre)
	}
	if el.count["div"] != 4 { // a bar per node reached
		t.Errorf("%d bars, want 4", el.count["div"])
	}
}

// elements is what checkWellFormed saw: how many elements of each name, and the text of
// each element by name.
type elements struct {
	count map[string]int
	text  map[string][]string
}

// checkWellFormed parses page as XML — the page is written to be well-formed — and
// returns its elements. It fails the test on a syntax error or an unbalanced tag.
func checkWellFormed(t *testing.T, page []byte) elements {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	el := elements{count: map[string]int{}, text: map[string][]string{}}
	type open struct {
		name string
		text strings.Builder
	}
	var stack []*open
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed: %v\n%s", err, page)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			el.count[tok.Name.Local]++
			stack = append(stack, &open{name: tok.Name.Local})
		case xml.CharData:
			for _, o := range stack {
				o.text.Write(tok)
			}
		case xml.EndElement:
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			el.text[o.name] = append(el.text[o.name], o.text.String())
		}
	}
	if len(stack) != 0 || el.count["html"] != 1 || el.count["body"] != 1 {
		t.Errorf("page structure: %d unclosed elements, %d html, %d body", len(stack), el.count["html"], el.count["body"])
	}
	return el
}

func checkCounts(t *testing.T, what string, got []report.Count, want ...report.Count) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}
