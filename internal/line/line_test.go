package line

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

const secret = "unit-test-secret"

// recordingInbox keeps the events a webhook stored.
type recordingInbox struct {
	events []bot.Event
	dead   []bot.DeadLetter
}

func (r *recordingInbox) AddEvents(_ context.Context, evs []bot.Event) ([]bool, error) {
	r.events = append(r.events, evs...)
	fresh := make([]bool, len(evs))
	for i := range fresh {
		fresh[i] = true
	}
	return fresh, nil
}

func (r *recordingInbox) AddDeadLetter(_ context.Context, d bot.DeadLetter) error {
	r.dead = append(r.dead, d)
	return nil
}

func newTestChannel(t testing.TB, inbox bot.Inbox) *Channel {
	t.Helper()
	c, err := New(Config{ChannelSecret: secret, AccessToken: "token", Inbox: inbox, Redact: func(s string) string { return "[redacted]" }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func post(t testing.TB, c *Channel, body []byte) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/line/webhook", bytes.NewReader(body))
	req.Header.Set("X-Line-Signature", linetest.Sign(secret, body))
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	return rec.Code
}

func groupMessage(text string, mention string) []byte {
	m := map[string]any{"type": "text", "id": "1", "text": text, "quoteToken": "q"}
	if mention != "" {
		i := strings.Index(text, mention)
		idx := len(utf16.Encode([]rune(text[:i])))
		m["mention"] = map[string]any{"mentionees": []any{map[string]any{
			"type": "user", "index": idx, "length": len(utf16.Encode([]rune(mention))), "userId": "Ubot", "isSelf": true,
		}}}
	}
	b, _ := json.Marshal(map[string]any{"events": []any{map[string]any{
		"type": "message", "mode": "active", "timestamp": 1, "webhookEventId": "01G" + text,
		"source": map[string]any{"type": "group", "groupId": "Cgroup", "userId": "Umember"}, "replyToken": "r",
		"message": m,
	}}})
	return b
}

func TestGroupAnswersOnlyWhenMentioned(t *testing.T) {
	tests := []struct {
		name, text, mention string
		want                []string // texts stored
	}{
		{name: "chatter", text: "今日のランチどうする?", want: nil},
		{name: "mentioned", text: "@giftdesk ギフト券が使えない", mention: "@giftdesk", want: []string{"ギフト券が使えない"}},
		{name: "mentioned after emoji", text: "😀 @giftdesk 期限切れ", mention: "@giftdesk", want: []string{"😀  期限切れ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inbox := &recordingInbox{}
			if code := post(t, newTestChannel(t, inbox), groupMessage(tt.text, tt.mention)); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			var got []string
			for _, e := range inbox.events {
				got = append(got, e.In.Text)
				if e.Address != "Cgroup" || e.Key.User != "group:Cgroup:Umember" {
					t.Errorf("event address %q key %q", e.Address, e.Key.User)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMalformedEventKeptAsDeadLetter(t *testing.T) {
	inbox := &recordingInbox{}
	body := []byte(`{"events":[{"type":"message","mode":"active","webhookEventId":"01A","timestamp":1,"source":{"type":"user","userId":"U1"},"message":{"type":"text","text":"AQ7X-K29PLM-ZR4TW","id":"1","quoteToken":"q"}},{"type":"message","webhookEventId":"01B","message":"not an object","source":{"type":"user","userId":"U1"}}]}`)
	if code := post(t, newTestChannel(t, inbox), body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(inbox.events) != 1 || len(inbox.dead) != 1 {
		t.Fatalf("%d events, %d dead letters; want the good event stored and the bad one kept", len(inbox.events), len(inbox.dead))
	}
	if strings.Contains(string(inbox.dead[0].Body), "K29PLM") || strings.Contains(inbox.dead[0].Reason, "not an object") {
		t.Errorf("dead letter holds content: %q %q", inbox.dead[0].Reason, inbox.dead[0].Body)
	}
}

func TestRenderRespectsLimits(t *testing.T) {
	var choices []bot.Choice
	for i := range 15 {
		choices = append(choices, bot.Choice{Label: fmt.Sprintf("とても長い選択肢のラベルです番号%d", i), Data: strings.Repeat("d", 400)})
	}
	long := strings.Repeat("🎁", 3000) // 6,000 UTF-16 units
	msgs := render([]bot.Message{
		{Kind: bot.MsgText, Text: long},
		{Kind: bot.MsgSteps, Title: strings.Repeat("題", 500), Steps: []string{"一", "二"}},
		{Kind: bot.MsgQuestion, Text: "どれですか?", Choices: choices},
	})
	var joined string
	for _, m := range msgs[:2] {
		text := m.(*messaging_api.TextMessage).Text
		if n := len(utf16.Encode([]rune(text))); n > maxTextUnits || !utf8.ValidString(text) {
			t.Errorf("text is %d UTF-16 units (valid UTF-8: %v), want ≤ %d", n, utf8.ValidString(text), maxTextUnits)
		}
		joined += text
	}
	if joined != long {
		t.Errorf("the long text was not kept whole in two messages")
	}
	flex := msgs[2].(*messaging_api.FlexMessage)
	if utf8.RuneCountInString(flex.AltText) > maxAltTextRunes {
		t.Errorf("altText has %d characters", utf8.RuneCountInString(flex.AltText))
	}
	q := msgs[3].(*messaging_api.TextMessage).QuickReply
	if len(q.Items) != maxQuickReplies {
		t.Fatalf("%d quick replies, want %d", len(q.Items), maxQuickReplies)
	}
	for _, it := range q.Items {
		a := it.Action.(*messaging_api.PostbackAction)
		if it.Type != "action" || utf8.RuneCountInString(a.Label) > maxLabelRunes || len(a.Data) > maxPostbackBytes {
			t.Errorf("item %+v / action %q (%d bytes of data)", it.Type, a.Label, len(a.Data))
		}
	}
}

// TestRenderSplitsLongText: a text over LINE's 5,000 UTF-16 units (an agent's long reply)
// becomes several messages that together are the whole text, split at a line break or a
// space near the limit when there is one, never inside a character.
func TestRenderSplitsLongText(t *testing.T) {
	para := strings.Repeat("あ", 999) + "\n"
	tests := []struct {
		name  string
		text  string
		parts int
		ends  string // what each part but the last ends with; empty for anything
	}{
		{name: "at the limit", text: strings.Repeat("a", 5000), parts: 1},
		{name: "one over", text: strings.Repeat("a", 5001), parts: 2},
		{name: "paragraphs", text: strings.Repeat(para, 12), parts: 3, ends: "\n"},
		{name: "words", text: strings.Repeat("word ", 2400), parts: 3, ends: " "},
		{name: "surrogate pairs", text: strings.Repeat("🎁", 5001), parts: 3},
		{name: "lines and spaces", text: strings.Repeat("ab cd\n", 2000), parts: 3, ends: "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := render([]bot.Message{{Kind: bot.MsgText, Text: tt.text}})
			if len(msgs) != tt.parts {
				t.Errorf("%d messages, want %d", len(msgs), tt.parts)
			}
			var joined string
			for i, m := range msgs {
				text := m.(*messaging_api.TextMessage).Text
				if n := len(utf16.Encode([]rune(text))); n > maxTextUnits || !utf8.ValidString(text) {
					t.Errorf("part %d is %d UTF-16 units (valid UTF-8: %v)", i, n, utf8.ValidString(text))
				}
				if i < len(msgs)-1 && !strings.HasSuffix(text, tt.ends) {
					t.Errorf("part %d ends with %q, want %q", i, text[max(len(text)-3, 0):], tt.ends)
				}
				joined += text
			}
			if joined != tt.text {
				t.Errorf("the parts are not the whole text (%d of %d bytes)", len(joined), len(tt.text))
			}
		})
	}
}

func TestRetryKeyIsStableAndDistinct(t *testing.T) {
	a, b := retryKey("line:01A", 0, 0), retryKey("line:01A", 0, 0)
	if a != b {
		t.Errorf("retry key changed between calls: %s %s", a, b)
	}
	seen := map[string]bool{a: true}
	for _, k := range []string{retryKey("line:01A", 1, 0), retryKey("line:01A", 0, 1), retryKey("line:01B", 0, 0)} {
		if seen[k] {
			t.Errorf("retry key %s repeats", k)
		}
		seen[k] = true
	}
	if len(a) != 36 || a[14] != '5' {
		t.Errorf("retry key %s is not a version-5 UUID", a)
	}
}

// BenchmarkWebhook measures the acknowledgement path: read, verify the signature, parse,
// convert (the inbox write is not included).
func BenchmarkWebhook(b *testing.B) {
	c := newTestChannel(b, nopInbox{})
	body, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{map[string]any{
		"type": "message", "mode": "active", "timestamp": 1, "webhookEventId": "01HBENCH",
		"source": map[string]any{"type": "user", "userId": "U" + strings.Repeat("a", 32)}, "replyToken": strings.Repeat("f", 32),
		"deliveryContext": map[string]any{"isRedelivery": false},
		"message":         map[string]any{"type": "text", "id": "1", "text": "ギフト券が使えません", "quoteToken": "q"},
	}}})
	sig := linetest.Sign(secret, body)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/line/webhook", bytes.NewReader(body))
		req.Header.Set("X-Line-Signature", sig)
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkRender measures turning a turn's messages into LINE messages and JSON.
func BenchmarkRender(b *testing.B) {
	msgs := []bot.Message{
		{Kind: bot.MsgSteps, Title: "ギフト券の登録方法(スマホ)", Steps: []string{"サインインします", "メニューを開きます", "番号を入力します"}},
		{Kind: bot.MsgQuestion, Text: "解決しましたか?", Choices: []bot.Choice{{Label: "はい", Data: "o:a:solved"}, {Label: "いいえ", Data: "o:a:not_solved"}}},
	}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&messaging_api.ReplyMessageRequest{ReplyToken: "t", Messages: render(msgs)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As Send does: the batch encoded once, its bytes after.
	b.Run("encoded", func(b *testing.B) {
		encoded := newEncodedCache()
		b.ReportAllocs()
		for b.Loop() {
			enc, err := encoded.render(msgs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(&messaging_api.ReplyMessageRequest{ReplyToken: "t", Messages: enc}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type nopInbox struct{}

func (nopInbox) AddEvents(_ context.Context, evs []bot.Event) ([]bool, error) {
	return make([]bool, len(evs)), nil
}
func (nopInbox) AddDeadLetter(context.Context, bot.DeadLetter) error { return nil }

// TestParseEventKinds checks how each kind of event is taken: what is stored, skipped, or
// kept as a dead letter, whether the body decodes in one pass or only event by event.
func TestParseEventKinds(t *testing.T) {
	const user = `"source":{"type":"user","userId":"U1"}`
	ev := func(id, rest string) string {
		return `{"webhookEventId":"` + id + `","timestamp":1700000000000,"mode":"active","replyToken":"r",` + user + `,` + rest + `}`
	}
	tests := []struct {
		name  string
		event string
		want  string // kind:text of the stored event, "" when none
		dead  int
	}{
		{"text", ev("01A", `"type":"message","message":{"type":"text","id":"1","text":"ギフト券"}`), "text:ギフト券", 0},
		{"sticker", ev("01B", `"type":"message","message":{"type":"sticker","id":"1","packageId":"1","stickerId":"2"}`), "media:", 0},
		{"postback", ev("01C", `"type":"postback","postback":{"data":"n=1&o=2"}`), "postback:n=1&o=2", 0},
		{"follow", ev("01D", `"type":"follow","follow":{"isUnblocked":false}`), "follow:", 0},
		{"unfollow", ev("01E", `"type":"unfollow"`), "unfollow:", 0},
		{"standby", `{"type":"message","mode":"standby","webhookEventId":"01F","timestamp":1,` + user + `,"message":{"type":"text","id":"1","text":"x"}}`, "", 0},
		{"unknown type", ev("01G", `"type":"membersJoined","joined":{"members":[]}`), "", 0},
		{"message without message", ev("01H", `"type":"message"`), "", 1},
		{"postback without postback", ev("01I", `"type":"postback"`), "", 1},
		{"wrong field type", ev("01J", `"type":"message","message":{"type":"text","text":42}`), "", 1},
		{"no event id", `{"type":"message","timestamp":1,` + user + `,"message":{"type":"text","text":"x"}}`, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Next to a good event, so the bad one also takes the event-by-event path.
			good := ev("01Z", `"type":"message","message":{"type":"text","id":"9","text":"ok"}`)
			inbox := &recordingInbox{}
			if code := post(t, newTestChannel(t, inbox), []byte(`{"destination":"Ubot","events":[`+tt.event+`,`+good+`]}`)); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			var got []string
			for _, e := range inbox.events {
				if e.ID != "line:01Z" {
					got = append(got, string(e.In.Kind)+":"+e.In.Text+e.In.Postback)
				}
			}
			want := []string(nil)
			if tt.want != "" {
				want = []string{tt.want}
			}
			if strings.Join(got, "|") != strings.Join(want, "|") || len(inbox.events) != len(want)+1 {
				t.Errorf("stored %q (%d events), want %q and the good event", got, len(inbox.events), want)
			}
			if len(inbox.dead) != tt.dead {
				t.Errorf("%d dead letters, want %d", len(inbox.dead), tt.dead)
			}
		})
	}
}

// TestRenderEncoded checks that a batch sent from the encoded cache is byte for byte what
// the SDK would have sent, the first time and from the cache.
func TestRenderEncoded(t *testing.T) {
	batches := [][]bot.Message{
		{{Kind: bot.MsgText, Text: "こんにちは"}, {Kind: bot.MsgQuestion, Text: "どのカード？",
			Choices: []bot.Choice{{Label: "Amazon", Data: "amazon"}, {Label: "Apple", Data: "apple"}}}},
		{{Kind: bot.MsgSteps, Title: "登録の手順", Text: "PCの場合", Steps: []string{"一", "二"}, Note: "注意",
			Choices: []bot.Choice{{Label: "解決した", Data: "yes"}}}},
		{{Kind: bot.MsgText, Text: "code ****-ABCD \"quoted\" <tag> & \u2028"}},
	}
	encoded := newEncodedCache()
	for i, msgs := range batches {
		want, err := json.Marshal(&messaging_api.ReplyMessageRequest{ReplyToken: "r", Messages: render(msgs)})
		if err != nil {
			t.Fatal(err)
		}
		for pass := range 2 { // encoded, then from the cache
			enc, err := encoded.render(msgs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(&messaging_api.ReplyMessageRequest{ReplyToken: "r", Messages: enc})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("batch %d, pass %d:\n got %s\nwant %s", i, pass, got, want)
			}
		}
	}
}
