package slack

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

func testCard() *bot.TicketCard {
	since := time.Date(2026, 11, 27, 2, 5, 0, 0, time.UTC) // 11:05 in Tokyo
	return &bot.TicketCard{
		ID: "T0a1b2c3d4e5f", State: bot.TicketWaiting, Customer: "山田太郎", Channel: "line", Lang: bot.Japanese,
		Reason: "refund_guarantee", Since: since, Diagnosis: "当サイトで購入したギフト券 (refund_guarantee)",
		Path: []string{"どうしましたか? → コードが無効と表示される", "どこで入手しましたか? → 当サイトで購入"},
		Recent: []bot.Line{
			{At: since, Role: bot.RoleCustomer, Name: "山田太郎", Text: "コードが使えません ****-******-****"},
			{At: since, Role: bot.RoleBot, Text: "担当者におつなぎします。"},
			{At: since, Role: bot.RoleSystem, Text: "ticket T0a1b2c3d4e5f opened: refund_guarantee"},
		},
		OutOfHours: "2026-11-30 10:00 JST",
	}
}

// asFetched returns p's blocks as conversations.history returns them: with block ids,
// decoded by slack-go.
func asFetched(t *testing.T, p post) []slackapi.Block {
	t.Helper()
	raw, err := json.Marshal(p.blocks)
	if err != nil {
		t.Fatal(err)
	}
	var generic []map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	for i, b := range generic {
		if b["block_id"] == nil {
			b["block_id"] = "blk" + strconv.Itoa(i)
		}
	}
	raw, _ = json.Marshal(generic)
	var blocks slackapi.Blocks
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	return blocks.BlockSet
}

// plainOf renders p as the fake Slack shows it to a test.
func plainOf(t *testing.T, p post) string {
	t.Helper()
	raw, err := json.Marshal(p.blocks)
	if err != nil {
		t.Fatal(err)
	}
	return slacktest.Message{Text: p.text, Blocks: raw}.Plain()
}

func checkPost(t *testing.T, what string, p post) {
	t.Helper()
	raw, err := json.Marshal(p.blocks)
	if err != nil {
		t.Fatal(err)
	}
	for _, prob := range slacktest.CheckBlocks(raw) {
		t.Errorf("%s: %s", what, prob)
	}
	for _, prob := range slacktest.CheckText(p.text) {
		t.Errorf("%s text: %s", what, prob)
	}
}

// TestTicketGolden compares a ticket's root, as posted and after each update, with
// testdata/render/ticket.golden; go test -update rewrites it.
func TestTicketGolden(t *testing.T) {
	var b bytes.Buffer
	write := func(title string, p post) {
		checkPost(t, title, p)
		out, err := json.MarshalIndent(map[string]any{"text": p.text, "blocks": p.blocks}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("## " + title + "\n")
		b.Write(out)
		b.WriteByte('\n')
	}
	card := testCard()
	root := renderTicket(card)
	write("root", root)
	old := asFetched(t, root)
	// What the desk sends in an update: the state, not the path or the transcript.
	upd := &bot.TicketCard{ID: card.ID, State: bot.TicketClaimed, Customer: card.Customer, Channel: card.Channel,
		Lang: card.Lang, Reason: card.Reason, Since: card.Since, Agent: "U0ALICE"}
	claimed := updatedTicket(old, upd)
	write("claimed", claimed)
	upd.State, upd.Rating, upd.Note = bot.TicketClosed, 4, "★4"
	write("closed", updatedTicket(asFetched(t, claimed), upd))
	write("relay", relay("山田太郎", "まだですか?"))
	write("notice", noticePost("📝", "自動案内に戻しました。 — <@U0ALICE>"))

	path := filepath.Join("testdata", "render", "ticket.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("tickets differ from %s (go test -update rewrites it):\n%s", path, b.String())
	}
}

// TestTicketStates checks what a ticket's root shows, and which buttons it keeps, in
// each state.
func TestTicketStates(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *bot.TicketCard)
		buttons []string
		want    []string
		notWant []string
	}{
		{name: "waiting", buttons: []string{"t:claim:T0a1b2c3d4e5f", "t:resolve:T0a1b2c3d4e5f", "t:return:T0a1b2c3d4e5f", "t:note:T0a1b2c3d4e5f"},
			want: []string{"対応待ち", "山田太郎", "LINE", "日本語", "2026-11-27 11:05 JST", "refund_guarantee",
				"当サイトで購入したギフト券", "• どうしましたか? → コードが無効と表示される", "👤 *山田太郎*: コードが使えません",
				"🤖 担当者におつなぎします。", "営業時間外", "2026-11-30 10:00 JST", "T0a1b2c3d4e5f"}},
		{name: "claimed", edit: func(c *bot.TicketCard) { c.State, c.Agent = bot.TicketClaimed, "U0ALICE" },
			buttons: []string{"t:resolve:T0a1b2c3d4e5f", "t:return:T0a1b2c3d4e5f", "t:note:T0a1b2c3d4e5f"}, want: []string{"対応中", "<@U0ALICE>"}},
		{name: "resolved", edit: func(c *bot.TicketCard) { c.State, c.Agent = bot.TicketResolved, "U0ALICE" },
			want: []string{"解決済み", "<@U0ALICE>"}},
		{name: "closed with a note", edit: func(c *bot.TicketCard) {
			c.State, c.Note = bot.TicketClosed, "お客様がアカウントをブロックしました。"
		},
			want: []string{"終了", "ブロックしました"}},
		{name: "rated", edit: func(c *bot.TicketCard) { c.State, c.Rating = bot.TicketClosed, 3 }, want: []string{"★★★☆☆"}},
		{name: "staff", edit: func(c *bot.TicketCard) { c.Staff, c.Channel = true, "slack" },
			want: []string{"スタッフの診断", "中継はありません", "Slack"}, notWant: []string{"対応待ち"}},
		{name: "agent not an id", edit: func(c *bot.TicketCard) { c.State, c.Agent = bot.TicketClaimed, "!channel" },
			buttons: []string{"t:resolve:T0a1b2c3d4e5f", "t:return:T0a1b2c3d4e5f", "t:note:T0a1b2c3d4e5f"}, notWant: []string{"<!channel>", "!channel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := testCard()
			if tt.edit != nil {
				tt.edit(card)
			}
			p := renderTicket(card)
			checkPost(t, "root", p)
			raw, _ := json.Marshal(p.blocks)
			m := slacktest.Message{Text: p.text, Blocks: raw}
			var values []string
			for _, b := range m.Buttons() {
				values = append(values, b.Value)
			}
			if !slices.Equal(values, tt.buttons) {
				t.Errorf("buttons %v, want %v", values, tt.buttons)
			}
			got := m.Plain()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("root lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("root has %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestTicketUpdateKeepsBody checks that an update keeps the path and the transcript, which
// the update's card does not carry, and renders from the card alone when the root could
// not be read.
func TestTicketUpdateKeepsBody(t *testing.T) {
	card := testCard()
	upd := &bot.TicketCard{ID: card.ID, State: bot.TicketClaimed, Customer: card.Customer, Channel: card.Channel,
		Lang: card.Lang, Reason: card.Reason, Since: card.Since, Agent: "U0BOB"}
	got := plainOf(t, updatedTicket(asFetched(t, renderTicket(card)), upd))
	for _, w := range []string{"対応中", "<@U0BOB>", "コードが無効と表示される", "担当者におつなぎします", "営業時間外", "[✅ 解決 (Resolve)]"} {
		if !strings.Contains(got, w) {
			t.Errorf("update lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "対応待ち") || strings.Contains(got, "(Claim)") {
		t.Errorf("update kept the old state or the Claim button:\n%s", got)
	}
	alone := plainOf(t, updatedTicket(nil, upd))
	if !strings.Contains(alone, "<@U0BOB>") || !strings.Contains(alone, "山田太郎") {
		t.Errorf("update without the root:\n%s", alone)
	}
}

// TestTicketHostile renders tickets and thread messages full of markup and beyond Slack's
// limits: Slack must accept them and nothing may mention anyone.
func TestTicketHostile(t *testing.T) {
	hostile := "<!channel> <!here> @channel <@U0ALICE> &amp; <https://evil.example|click> *bold* `code` > quote"
	long := strings.Repeat("長い<&>", 2000)
	var path []string
	var recent []bot.Line
	for i := range 200 {
		path = append(path, hostile+" → "+long)
		recent = append(recent, bot.Line{Role: bot.Role([]string{"customer", "bot", "agent", "note", "system", "x"}[i%6]),
			Name: hostile, Text: hostile + long})
	}
	card := &bot.TicketCard{ID: "T1", State: bot.TicketWaiting, Customer: hostile + long, Channel: hostile, Lang: "xx",
		Reason: hostile, Diagnosis: long, Path: path, Recent: recent, OutOfHours: hostile, Note: hostile + long,
		Since: time.Now()}
	posts := map[string]post{
		"root":          renderTicket(card),
		"relay":         relay(hostile, hostile+long),
		"long relay":    relay("a", strings.Repeat(strings.Repeat("x", 2990)+"\n", 60)),
		"notice":        noticePost("📝", hostile+long),
		"update":        updatedTicket(asFetched(t, renderTicket(card)), card),
		"update alone":  updatedTicket(nil, card),
		"relay nothing": relay("a", " "),
	}
	for name, p := range posts {
		if name == "relay nothing" {
			if len(p.blocks) != 0 {
				t.Errorf("%s: %d blocks, want none", name, len(p.blocks))
			}
			continue
		}
		checkPost(t, name, p)
		raw, _ := json.Marshal(p.blocks)
		s := string(raw) + p.text
		for _, bad := range []string{"<!", "<https", "<@U0ALICE>"} {
			if strings.Contains(s, bad) && !(bad == "<@U0ALICE>" && name == "notice") {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

func TestNotice(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"agent mention", "このチケットは <@U0ALICE> が対応中です。", "このチケットは <@U0ALICE> が対応中です。"},
		{"agent reference", "このチケットは " + bot.MentionAgent("U0ALICE") + " が対応中です。", "このチケットは <@U0ALICE> が対応中です。"},
		{"reference to no Slack user", bot.MentionAgent("alice<x>"), "@alice&lt;x&gt;"},
		{"enterprise user", "<@W012AB>", "<@W012AB>"},
		{"broadcast", "<!channel> hi", "&lt;!channel&gt; hi"},
		{"labelled mention", "<@U0ALICE|alice>", "&lt;@U0ALICE|alice&gt;"},
		{"lower case", "<@u0alice>", "&lt;@u0alice&gt;"},
		{"link", "<https://x.example>", "&lt;https://x.example&gt;"},
		{"ampersand", "a & b", "a &amp; b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notice(tt.in); got != tt.want {
				t.Errorf("notice(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseTicketValue(t *testing.T) {
	tests := []struct {
		in, action, id string
		ok             bool
	}{
		{"t:claim:T1", "claim", "T1", true},
		{"t:resolve:T1:x", "resolve", "T1:x", true},
		{"t:claim:", "", "", false},
		{"t::T1", "", "", false},
		{"o:start:x", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			action, id, ok := parseTicketValue(tt.in)
			if ok != tt.ok || (ok && (action != tt.action || id != tt.id)) {
				t.Errorf("parseTicketValue(%q) = %q, %q, %v; want %q, %q, %v", tt.in, action, id, ok, tt.action, tt.id, tt.ok)
			}
		})
	}
}
