package linetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

const user = "U0123456789abcdef0123456789abcdef"

// Retry keys as the adapter would generate them.
const (
	key1 = "123e4567-e89b-12d3-a456-426614174000"
	key2 = "123e4567-e89b-12d3-a456-426614174001"
)

// errorBody is LINE's error response.
type errorBody struct {
	Message string              `json:"message"`
	Details []linetest.Detail   `json:"details"`
	Sent    []map[string]string `json:"sentMessages"`
}

// readError decodes the error body of res (the SDK leaves it readable on non-2xx).
func readError(t *testing.T, res *http.Response) (errorBody, string) {
	t.Helper()
	if res == nil {
		t.Fatal("no response")
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	var b errorBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("decode error body %q: %v", raw, err)
	}
	return b, strings.TrimSpace(string(raw))
}

// postRaw sends body to the fake as the SDK would, for requests the SDK cannot express.
func postRaw(t *testing.T, s *linetest.Server, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token())
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	res, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func text(s string) *messaging_api.TextMessage { return &messaging_api.TextMessage{Text: s} }

func postback(label, data string) messaging_api.QuickReplyItem {
	return messaging_api.QuickReplyItem{
		Type:   "action",
		Action: &messaging_api.PostbackAction{Label: label, Data: data, DisplayText: label},
	}
}

func bubble(contents ...messaging_api.FlexComponentInterface) *messaging_api.FlexMessage {
	return &messaging_api.FlexMessage{
		AltText: "Gift card balance",
		Contents: &messaging_api.FlexBubble{
			Body: &messaging_api.FlexBox{Layout: messaging_api.FlexBoxLAYOUT_VERTICAL, Contents: contents},
		},
	}
}

func TestReplyAccepted(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name     string
		messages []messaging_api.MessageInterface
		wantText []string // Text of each delivered message
	}{
		{
			name: "text with quick reply postback and displayText",
			messages: []messaging_api.MessageInterface{&messaging_api.TextMessage{
				Text:       "Which card?",
				QuickReply: &messaging_api.QuickReply{Items: []messaging_api.QuickReplyItem{postback("Gift card", "card=gift")}},
			}},
			wantText: []string{"Which card?"},
		},
		{
			name: "flex bubble",
			messages: []messaging_api.MessageInterface{bubble(
				&messaging_api.FlexText{Text: "Balance", Weight: messaging_api.FlexTextWEIGHT_BOLD},
				&messaging_api.FlexButton{Action: &messaging_api.UriAction{Label: "Open", Uri: "https://example.com/"}},
			)},
			wantText: []string{""},
		},
		{
			name: "five messages, the most LINE allows",
			messages: []messaging_api.MessageInterface{
				text("1"), text("2"), text("3"), text("4"), text("5"),
			},
			wantText: []string{"1", "2", "3", "4", "5"},
		},
		{
			name:     "text of exactly 5000 UTF-16 code units",
			messages: []messaging_api.MessageInterface{text(strings.Repeat("🎁", 2500))},
			wantText: []string{strings.Repeat("🎁", 2500)},
		},
		{
			name: "thirteen quick reply items with 20-character labels",
			messages: []messaging_api.MessageInterface{&messaging_api.TextMessage{
				Text:       "Pick one",
				QuickReply: &messaging_api.QuickReply{Items: slices.Repeat([]messaging_api.QuickReplyItem{postback(strings.Repeat("ギ", 20), "x")}, 13)},
			}},
			wantText: []string{"Pick one"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{Spec: spec})
			token := s.IssueReplyToken(user)
			resp, err := s.API().ReplyMessage(&messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: tc.messages})
			if err != nil {
				t.Fatalf("ReplyMessage: %v", err)
			}
			if len(resp.SentMessages) != len(tc.messages) {
				t.Errorf("sentMessages = %d, want %d", len(resp.SentMessages), len(tc.messages))
			}
			got := s.Delivered(user)
			var gotText []string
			for _, m := range got {
				gotText = append(gotText, m.Text)
			}
			if !slices.Equal(gotText, tc.wantText) {
				t.Errorf("delivered texts = %q, want %q", gotText, tc.wantText)
			}
			if r := s.Replies(); len(r) != 1 || r[0].UserID != user || r[0].Status != http.StatusOK {
				t.Errorf("Replies() = %+v, want one accepted reply for %s", r, user)
			}
		})
	}
}

func TestReplyDecodesQuickReply(t *testing.T) {
	s := linetest.New(t, linetest.Config{})
	token := s.IssueReplyToken(user)
	_, err := s.API().ReplyMessage(&messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: []messaging_api.MessageInterface{
		&messaging_api.TextMessage{
			Text:       "Which card?",
			QuickReply: &messaging_api.QuickReply{Items: []messaging_api.QuickReplyItem{postback("Gift card", "card=gift")}},
		},
	}})
	if err != nil {
		t.Fatalf("ReplyMessage: %v", err)
	}
	got := s.Delivered(user)
	want := []linetest.Action{{Type: "postback", Label: "Gift card", Data: "card=gift", DisplayText: "Gift card"}}
	if len(got) != 1 || got[0].Type != "text" || !slices.Equal(got[0].QuickReply, want) {
		t.Errorf("Delivered = %+v, want one text message with quick reply %+v", got, want)
	}
}

// TestReplyRejected proves the fake rejects what LINE rejects. The cases marked needsSpec
// pass kin-openapi's plain validation and are caught only by following discriminators
// (see TestDiscriminatorWalkIsNeeded in spec_test.go).
func TestReplyRejected(t *testing.T) {
	spec := sharedSpec(t)
	tests := []struct {
		name string
		// Either messages, sent through the SDK, or raw, the JSON of the messages array
		// sent by hand for what the SDK cannot express.
		messages     []messaging_api.MessageInterface
		raw          string
		needsSpec    bool
		wantProperty string
	}{
		{
			name:         "text message missing text",
			raw:          `[{"type":"text"}]`,
			wantProperty: "messages[0].text",
		},
		{
			name:         "text message with empty text (what the SDK sends for an unset Text)",
			messages:     []messaging_api.MessageInterface{text("")},
			wantProperty: "messages[0].text",
		},
		{
			name:         "unknown message type",
			raw:          `[{"type":"txt","text":"hi"}]`,
			needsSpec:    true,
			wantProperty: "messages[0].type",
		},
		{
			name: "quick reply item without type action (SDK default)",
			messages: []messaging_api.MessageInterface{&messaging_api.TextMessage{
				Text: "Which card?",
				QuickReply: &messaging_api.QuickReply{Items: []messaging_api.QuickReplyItem{
					{Action: &messaging_api.PostbackAction{Label: "Gift card", Data: "card=gift", DisplayText: "Gift card"}},
				}},
			}},
			wantProperty: "messages[0].quickReply.items[0].type",
		},
		{
			name: "quick reply action label over 20 characters",
			messages: []messaging_api.MessageInterface{&messaging_api.TextMessage{
				Text:       "Which card?",
				QuickReply: &messaging_api.QuickReply{Items: []messaging_api.QuickReplyItem{postback(strings.Repeat("a", 21), "x")}},
			}},
			wantProperty: "messages[0].quickReply.items[0].action.label",
		},
		{
			name: "quick reply postback data over 300 characters",
			messages: []messaging_api.MessageInterface{&messaging_api.TextMessage{
				Text:       "Which card?",
				QuickReply: &messaging_api.QuickReply{Items: []messaging_api.QuickReplyItem{postback("Gift", strings.Repeat("d", 301))}},
			}},
			wantProperty: "messages[0].quickReply.items[0].action.data",
		},
		{
			name:         "quick reply action of unknown type",
			raw:          `[{"type":"text","text":"hi","quickReply":{"items":[{"type":"action","action":{"type":"postbak","label":"x","data":"y"}}]}}]`,
			needsSpec:    true,
			wantProperty: "messages[0].quickReply.items[0].action.type",
		},
		{
			name: "fourteen quick reply items",
			messages: []messaging_api.MessageInterface{&messaging_api.TextMessage{
				Text:       "Pick one",
				QuickReply: &messaging_api.QuickReply{Items: slices.Repeat([]messaging_api.QuickReplyItem{postback("x", "x")}, 14)},
			}},
			wantProperty: "messages[0].quickReply.items",
		},
		{
			name:         "text over 5000 UTF-16 code units",
			messages:     []messaging_api.MessageInterface{text(strings.Repeat("🎁", 2500) + "!")},
			wantProperty: "messages[0].text",
		},
		{
			name:         "six messages",
			messages:     []messaging_api.MessageInterface{text("1"), text("2"), text("3"), text("4"), text("5"), text("6")},
			wantProperty: "messages",
		},
		{
			name: "flex altText over 1500 characters",
			messages: []messaging_api.MessageInterface{&messaging_api.FlexMessage{
				AltText:  strings.Repeat("a", 1501),
				Contents: bubble(&messaging_api.FlexText{Text: "x"}).Contents,
			}},
			wantProperty: "messages[0].altText",
		},
		{
			name:         "flex box missing contents",
			raw:          `[{"type":"flex","altText":"a","contents":{"type":"bubble","body":{"type":"box","layout":"vertical"}}}]`,
			needsSpec:    true,
			wantProperty: "messages[0].contents.body.contents",
		},
		{
			name:         "flex hero box missing contents",
			raw:          `[{"type":"flex","altText":"a","contents":{"type":"bubble","hero":{"type":"box","layout":"vertical"}}}]`,
			needsSpec:    true,
			wantProperty: "messages[0].contents.hero.contents",
		},
		{
			name:         "flex button without action (SDK sends null)",
			messages:     []messaging_api.MessageInterface{bubble(&messaging_api.FlexButton{Style: messaging_api.FlexButtonSTYLE_PRIMARY})},
			needsSpec:    true,
			wantProperty: "messages[0].contents.body.contents[0].action",
		},
		{
			name:         "flex button nested in a box with an unknown action type",
			raw:          `[{"type":"flex","altText":"a","contents":{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"box","layout":"horizontal","contents":[{"type":"button","action":{"type":"go"}}]}]}}}]`,
			needsSpec:    true,
			wantProperty: "messages[0].contents.body.contents[0].contents[0].action.type",
		},
		{
			name:         "flex text nested in a box missing text",
			raw:          `[{"type":"flex","altText":"a","contents":{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"box","layout":"horizontal","contents":[{"type":"text"}]}]}}}]`,
			wantProperty: "messages[0].contents.body.contents[0].contents[0].text",
		},
		{
			name:         "flex carousel of an unknown container type",
			raw:          `[{"type":"flex","altText":"a","contents":{"type":"bubbles","contents":[]}}]`,
			needsSpec:    true,
			wantProperty: "messages[0].contents.type",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needsSpec && spec == nil {
				t.Skip("needs the LINE OpenAPI spec, which is not present")
			}
			s := linetest.New(t, linetest.Config{Spec: spec})
			token := s.IssueReplyToken(user)
			var res *http.Response
			if tc.raw != "" {
				res = postRaw(t, s, linetest.PathReply, fmt.Sprintf(`{"replyToken":%q,"messages":%s}`, token, tc.raw))
			} else {
				var err error
				res, _, err = s.API().ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: tc.messages})
				if err == nil {
					t.Fatal("ReplyMessage succeeded, want 400")
				}
			}
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", res.StatusCode)
			}
			body, _ := readError(t, res)
			if !hasProperty(body.Details, tc.wantProperty) {
				t.Errorf("details = %v, want one for %s", body.Details, tc.wantProperty)
			}
			if want := fmt.Sprintf("The request body has %d error(s)", len(body.Details)); body.Message != want {
				t.Errorf("message = %q, want %q", body.Message, want)
			}
			errs := s.TakeErrors()
			if len(errs) != 1 || !hasProperty(errs[0].Details, tc.wantProperty) {
				t.Errorf("TakeErrors() = %v, want one error for %s", errs, tc.wantProperty)
			}
			if got := s.Delivered(user); len(got) != 0 {
				t.Errorf("delivered %d messages, want none", len(got))
			}
			// A rejected request does not use up the reply token.
			if _, err := s.API().ReplyMessage(&messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: []messaging_api.MessageInterface{text("ok")}}); err != nil {
				t.Errorf("valid reply after the rejected one: %v", err)
			}
		})
	}
}

func hasProperty(details []linetest.Detail, property string) bool {
	return slices.ContainsFunc(details, func(d linetest.Detail) bool { return d.Property == property })
}

// sharedSpec loads the spec once for a test's subtests.
func sharedSpec(t *testing.T) *linetest.Spec {
	t.Helper()
	spec, err := linetest.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestSDKQuickReplyItemType pins what the SDK sends for a quick reply item: nothing for
// an unset Type. If this starts failing after an SDK upgrade, the adapter's explicit
// Type: "action" may no longer be needed.
func TestSDKQuickReplyItemType(t *testing.T) {
	tests := []struct {
		name     string
		item     messaging_api.QuickReplyItem
		wantType any // nil: no "type" key at all
	}{
		{
			name: "type left unset is omitted",
			item: messaging_api.QuickReplyItem{Action: &messaging_api.MessageAction{Label: "Yes", Text: "yes"}},
		},
		{
			name:     "type set explicitly is sent",
			item:     messaging_api.QuickReplyItem{Type: "action", Action: &messaging_api.MessageAction{Label: "Yes", Text: "yes"}},
			wantType: "action",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(&tc.item)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got["type"] != tc.wantType {
				t.Errorf("marshalled %s: type = %v, want %v", raw, got["type"], tc.wantType)
			}
			if action, _ := got["action"].(map[string]any); action["type"] != "message" {
				t.Errorf("marshalled %s: the action's own type is missing", raw)
			}
		})
	}
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestReplyToken(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name string
		// token prepares the fake and returns the token to reply with.
		token      func(t *testing.T, s *linetest.Server, c *clock) string
		wantStatus int
	}{
		{
			name:       "fresh token",
			token:      func(_ *testing.T, s *linetest.Server, _ *clock) string { return s.IssueReplyToken(user) },
			wantStatus: http.StatusOK,
		},
		{
			name: "registered token",
			token: func(_ *testing.T, s *linetest.Server, _ *clock) string {
				s.RegisterReplyToken("nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", user)
				return "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "token used twice",
			token: func(t *testing.T, s *linetest.Server, _ *clock) string {
				tok := s.IssueReplyToken(user)
				if _, err := s.API().ReplyMessage(&messaging_api.ReplyMessageRequest{ReplyToken: tok, Messages: []messaging_api.MessageInterface{text("first")}}); err != nil {
					t.Fatalf("first reply: %v", err)
				}
				return tok
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "token just before expiry",
			token: func(_ *testing.T, s *linetest.Server, c *clock) string {
				tok := s.IssueReplyToken(user)
				c.Advance(linetest.DefaultReplyTokenTTL - time.Nanosecond)
				return tok
			},
			wantStatus: http.StatusOK,
		},
		{
			name: "expired token",
			token: func(_ *testing.T, s *linetest.Server, c *clock) string {
				tok := s.IssueReplyToken(user)
				c.Advance(linetest.DefaultReplyTokenTTL)
				return tok
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "unknown token",
			token:      func(*testing.T, *linetest.Server, *clock) string { return "0123456789abcdef0123456789abcdef" },
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			s := linetest.New(t, linetest.Config{Spec: spec, Now: c.Now})
			tok := tc.token(t, s, c)
			before := len(s.Delivered(user))
			res, _, err := s.API().ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{ReplyToken: tok, Messages: []messaging_api.MessageInterface{text("hello")}})
			if res == nil {
				t.Fatalf("ReplyMessage: %v", err)
			}
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d (%v), want %d", res.StatusCode, err, tc.wantStatus)
			}
			delivered := len(s.Delivered(user)) - before
			if tc.wantStatus != http.StatusOK {
				if _, raw := readError(t, res); raw != `{"message":"Invalid reply token"}` {
					t.Errorf("body = %s, want LINE's {\"message\":\"Invalid reply token\"}", raw)
				}
				if delivered != 0 {
					t.Errorf("delivered %d messages for a refused reply", delivered)
				}
				return
			}
			if delivered != 1 {
				t.Errorf("delivered %d messages, want 1", delivered)
			}
		})
	}
}

func TestPushRetryKey(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name          string
		faults        int // leading 500s
		keys          []string
		wantStatus    []int
		wantDelivered int
		wantErrors    int // validation failures
	}{
		{name: "repeated key is refused with 409", keys: []string{key1, key1}, wantStatus: []int{200, 409}, wantDelivered: 1},
		{name: "different keys are both delivered", keys: []string{key1, key2}, wantStatus: []int{200, 200}, wantDelivered: 2},
		{name: "no key is never deduplicated", keys: []string{"", ""}, wantStatus: []int{200, 200}, wantDelivered: 2},
		{name: "retry after a 500 is accepted once", faults: 1, keys: []string{key1, key1, key1}, wantStatus: []int{500, 200, 409}, wantDelivered: 1},
		{name: "malformed key is rejected", keys: []string{"not-a-uuid"}, wantStatus: []int{400}, wantErrors: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{Spec: spec})
			s.FailNext(linetest.PathPush, http.StatusInternalServerError, tc.faults)
			api := s.API()
			var acceptedID string
			var acceptedSent []string
			for i, key := range tc.keys {
				res, resp, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: user, Messages: []messaging_api.MessageInterface{text("Your card is on its way")}}, key)
				if res == nil {
					t.Fatalf("push %d: %v", i, err)
				}
				if res.StatusCode != tc.wantStatus[i] {
					t.Fatalf("push %d: status = %d (%v), want %d", i, res.StatusCode, err, tc.wantStatus[i])
				}
				switch res.StatusCode {
				case http.StatusOK:
					acceptedID = res.Header.Get("X-Line-Request-Id")
					acceptedSent = []string{resp.SentMessages[0].Id}
				case http.StatusConflict:
					if got := res.Header.Get("x-line-accepted-request-id"); got == "" || got != acceptedID {
						t.Errorf("push %d: x-line-accepted-request-id = %q, want the accepted push's request id %q", i, got, acceptedID)
					}
					body, _ := readError(t, res)
					if body.Message != "The retry key is already accepted" {
						t.Errorf("push %d: message = %q", i, body.Message)
					}
					if len(body.Sent) != 1 || body.Sent[0]["id"] != acceptedSent[0] {
						t.Errorf("push %d: sentMessages = %v, want the accepted push's %v", i, body.Sent, acceptedSent)
					}
				}
			}
			if got := len(s.Delivered(user)); got != tc.wantDelivered {
				t.Errorf("delivered %d messages, want %d", got, tc.wantDelivered)
			}
			if got := len(s.TakeErrors()); got != tc.wantErrors {
				t.Errorf("validation errors = %d, want %d", got, tc.wantErrors)
			}
			if got := s.Attempts(linetest.PathPush); got != len(tc.keys) {
				t.Errorf("Attempts = %d, want %d", got, len(tc.keys))
			}
		})
	}
}

// TestLatencyAcceptedButTimedOut shows the case retry keys exist for: the push is
// accepted, the client times out waiting, and its retry gets 409.
func TestLatencyAcceptedButTimedOut(t *testing.T) {
	s := linetest.New(t, linetest.Config{})
	s.SetLatency(time.Minute) // cut short when the client gives up
	api, err := messaging_api.NewMessagingApiAPI(s.Token(), messaging_api.WithEndpoint(s.URL()))
	if err != nil {
		t.Fatal(err)
	}
	// The client gives up once the fake has taken the message, whatever the machine's
	// speed: a fixed client timeout could end before the request even arrived.
	ctx, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	waited := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := s.WaitDelivered(wctx, user, 1)
		giveUp()
		waited <- err
	}()
	req := &messaging_api.PushMessageRequest{To: user, Messages: []messaging_api.MessageInterface{text("hi")}}
	if _, err := api.WithContext(ctx).PushMessage(req, key1); err == nil {
		t.Fatal("push succeeded despite the latency, want the client to give up")
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	api.WithContext(context.Background())
	if got := len(s.Delivered(user)); got != 1 {
		t.Fatalf("delivered %d messages, want 1: the fake accepts before it waits", got)
	}
	s.SetLatency(0)
	res, _, err := api.PushMessageWithHttpInfo(req, key1)
	if res == nil || res.StatusCode != http.StatusConflict {
		t.Fatalf("retry: %v, want 409", err)
	}
	if got := len(s.Delivered(user)); got != 1 {
		t.Errorf("delivered %d messages after the retry, want 1", got)
	}
}

func TestFailNext(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name           string
		inject         func(s *linetest.Server)
		wantStatus     int
		wantRetryAfter string
		wantMessage    string
	}{
		{
			name:           "429 with Retry-After",
			inject:         func(s *linetest.Server) { s.FailNext(linetest.PathPush, http.StatusTooManyRequests, 2) },
			wantStatus:     http.StatusTooManyRequests,
			wantRetryAfter: "1",
			wantMessage:    "The API rate limit has been exceeded. Try again later.",
		},
		{
			name:        "500",
			inject:      func(s *linetest.Server) { s.FailNext(linetest.PathPush, http.StatusInternalServerError, 2) },
			wantStatus:  http.StatusInternalServerError,
			wantMessage: "An error occurred in the API server.",
		},
		{
			name:        "400",
			inject:      func(s *linetest.Server) { s.FailNext(linetest.PathPush, http.StatusBadRequest, 2) },
			wantStatus:  http.StatusBadRequest,
			wantMessage: "Bad Request",
		},
		{
			name: "scripted faults with their own Retry-After and message",
			inject: func(s *linetest.Server) {
				f := linetest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond, Message: "You have reached your monthly limit."}
				s.Enqueue(linetest.PathPush, f, f)
			},
			wantStatus:     http.StatusTooManyRequests,
			wantRetryAfter: "2",
			wantMessage:    "You have reached your monthly limit.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{Spec: spec})
			tc.inject(s)
			api := s.API()
			req := &messaging_api.PushMessageRequest{To: user, Messages: []messaging_api.MessageInterface{text("hi")}}
			for i := range 2 {
				res, _, err := api.PushMessageWithHttpInfo(req, "")
				if res == nil || res.StatusCode != tc.wantStatus {
					t.Fatalf("attempt %d: %v, want status %d", i, err, tc.wantStatus)
				}
				if got := res.Header.Get("Retry-After"); got != tc.wantRetryAfter {
					t.Errorf("attempt %d: Retry-After = %q, want %q", i, got, tc.wantRetryAfter)
				}
				if body, _ := readError(t, res); body.Message != tc.wantMessage {
					t.Errorf("attempt %d: message = %q, want %q", i, body.Message, tc.wantMessage)
				}
			}
			if _, err := api.PushMessage(req, ""); err != nil {
				t.Fatalf("third attempt: %v, want success once the faults are used up", err)
			}
			if got := s.Attempts(linetest.PathPush); got != 3 {
				t.Errorf("Attempts = %d, want 3", got)
			}
			if got := len(s.Delivered(user)); got != 1 {
				t.Errorf("delivered %d messages, want 1", got)
			}
			if got := len(s.Pushes()); got != 1 {
				t.Errorf("Pushes() has %d calls, want 1 (faulted calls are not handled)", got)
			}
		})
	}
}

func TestProfile(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name       string
		userID     string
		fail       bool // inject one 500 for this exact path first
		wantErr    string
		wantName   string
		wantLang   string
		wantPicURL string
	}{
		{name: "known user", userID: user, wantName: "Aiko", wantLang: "ja"},
		{name: "user set with SetProfile", userID: "U2", wantName: "Ben", wantLang: "en", wantPicURL: "https://example.com/ben.png"},
		{name: "unknown user", userID: "U404", wantErr: "404"},
		{name: "fault on one user's path", userID: user, fail: true, wantErr: "500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{Spec: spec, Profiles: map[string]linetest.Profile{user: {DisplayName: "Aiko", Language: "ja"}}})
			s.SetProfile("U2", linetest.Profile{DisplayName: "Ben", Language: "en", PictureURL: "https://example.com/ben.png"})
			if tc.fail {
				s.FailNext("/v2/bot/profile/"+tc.userID, http.StatusInternalServerError, 1)
			}
			p, err := s.API().GetProfile(tc.userID)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("GetProfile error = %v, want one with %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetProfile: %v", err)
			}
			if p.UserId != tc.userID || p.DisplayName != tc.wantName || p.Language != tc.wantLang || p.PictureUrl != tc.wantPicURL {
				t.Errorf("profile = %+v, want %s/%s/%s", p, tc.wantName, tc.wantLang, tc.wantPicURL)
			}
			if got := s.Attempts(linetest.PathProfile); got != 1 {
				t.Errorf("Attempts(PathProfile) = %d, want 1", got)
			}
		})
	}
}

func TestLoading(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name       string
		seconds    int32
		wantStatus int
		wantLoads  []linetest.Loading
	}{
		{name: "default duration", seconds: 0, wantStatus: http.StatusAccepted, wantLoads: []linetest.Loading{{ChatID: user}}},
		{name: "ten seconds", seconds: 10, wantStatus: http.StatusAccepted, wantLoads: []linetest.Loading{{ChatID: user, Seconds: 10}}},
		{name: "not a multiple of five", seconds: 7, wantStatus: http.StatusBadRequest},
		{name: "over sixty", seconds: 65, wantStatus: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{Spec: spec})
			res, _, err := s.API().ShowLoadingAnimationWithHttpInfo(&messaging_api.ShowLoadingAnimationRequest{ChatId: user, LoadingSeconds: tc.seconds})
			if res == nil || res.StatusCode != tc.wantStatus {
				t.Fatalf("ShowLoadingAnimation: %v, want status %d", err, tc.wantStatus)
			}
			if got := s.Loadings(); !slices.Equal(got, tc.wantLoads) {
				t.Errorf("Loadings() = %v, want %v", got, tc.wantLoads)
			}
			wantErrors := 0
			if tc.wantStatus == http.StatusBadRequest {
				wantErrors = 1
			}
			if got := len(s.TakeErrors()); got != wantErrors {
				t.Errorf("validation errors = %d, want %d", got, wantErrors)
			}
		})
	}
}

func TestAuthAndUnknownRoutes(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name        string
		method      string
		path        string
		token       string
		wantStatus  int
		wantMessage string
	}{
		{name: "wrong token", method: http.MethodPost, path: linetest.PathPush, token: "other", wantStatus: 401,
			wantMessage: "Authentication failed. Confirm that the access token in the authorization header is valid."},
		{name: "no token", method: http.MethodGet, path: "/v2/bot/profile/" + user, wantStatus: 401,
			wantMessage: "Authentication failed. Confirm that the access token in the authorization header is valid."},
		{name: "unimplemented endpoint", method: http.MethodPost, path: "/v2/bot/message/multicast", token: linetest.DefaultToken, wantStatus: 404, wantMessage: "Not found"},
		{name: "wrong method", method: http.MethodGet, path: linetest.PathReply, token: linetest.DefaultToken, wantStatus: 404, wantMessage: "Not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{Spec: spec})
			req, err := http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if body, _ := readError(t, res); body.Message != tc.wantMessage {
				t.Errorf("message = %q, want %q", body.Message, tc.wantMessage)
			}
			calls := s.Calls()
			if len(calls) != 1 || calls[0].Status != tc.wantStatus || calls[0].Path != tc.path {
				t.Errorf("Calls() = %+v, want the one call recorded with status %d", calls, tc.wantStatus)
			}
		})
	}
}

func TestCallsRecordRequests(t *testing.T) {
	s := linetest.New(t, linetest.Config{})
	if _, err := s.API().PushMessage(&messaging_api.PushMessageRequest{To: user, Messages: []messaging_api.MessageInterface{text("hi")}}, key1); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if len(calls) != 1 {
		t.Fatalf("Calls() = %d, want 1", len(calls))
	}
	c := calls[0]
	if c.Method != http.MethodPost || c.Path != linetest.PathPush || c.Route != linetest.PathPush || c.Status != http.StatusOK {
		t.Errorf("call = %s %s (%s) %d", c.Method, c.Path, c.Route, c.Status)
	}
	if got := c.Header.Get("X-Line-Retry-Key"); got != key1 {
		t.Errorf("recorded retry key = %q, want %q", got, key1)
	}
	if body, _ := c.JSON.(map[string]any); body["to"] != user {
		t.Errorf("recorded JSON = %v, want to=%s", c.JSON, user)
	}
	if !json.Valid(c.Body) || c.RequestID == "" {
		t.Errorf("recorded body %q, request id %q", c.Body, c.RequestID)
	}
	p := s.Pushes()
	if len(p) != 1 || p[0].To != user || p[0].RetryKey != key1 || len(p[0].Messages) != 1 || p[0].Messages[0].Text != "hi" {
		t.Errorf("Pushes() = %+v", p)
	}
}

func TestWaitFor(t *testing.T) {
	spec := sharedSpec(t) // loaded once for all subtests
	tests := []struct {
		name    string
		pushes  int
		wait    int
		wantErr error
	}{
		{name: "messages pushed from another goroutine", pushes: 3, wait: 3},
		{name: "condition never met", pushes: 1, wait: 2, wantErr: context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := linetest.New(t, linetest.Config{Spec: spec})
			api := s.API()
			errc := make(chan error, 1)
			go func() {
				for i := range tc.pushes {
					if _, err := api.PushMessage(&messaging_api.PushMessageRequest{To: user, Messages: []messaging_api.MessageInterface{text(fmt.Sprint(i))}}, ""); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			timeout := 10 * time.Second
			if tc.wantErr != nil {
				// Wait for the pushes first, so the deadline can only mean "never".
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				timeout = 50 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			msgs, err := s.WaitDelivered(ctx, user, tc.wait)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("WaitDelivered error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				if len(msgs) != tc.wait || msgs[0].Text != "0" || msgs[2].Text != "2" {
					t.Errorf("delivered %+v, want 0, 1, 2 in order", msgs)
				}
			}
		})
	}
}

// recordingTB captures what the fake reports through testing.TB, so a test can check it
// without failing itself.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	logs   []string
	errors []string
}

func (r *recordingTB) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestUntakenErrorsFailTheTest(t *testing.T) {
	rec := &recordingTB{}
	t.Run("inner", func(t *testing.T) {
		rec.TB = t
		s := linetest.New(rec, linetest.Config{})
		res := postRaw(t, s, linetest.PathPush, `{"to":"`+user+`","messages":[{"type":"text","text":""}]}`)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", res.StatusCode)
		}
	})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "messages[0].text: may not be empty") {
		t.Errorf("reported at cleanup: %q, want one error naming messages[0].text", rec.errors)
	}
}

// TestOutsideATest covers the fake as a load generator uses it: no testing.TB, Close
// instead of a cleanup, failures only through Errors, and the load options.
func TestOutsideATest(t *testing.T) {
	quickNoType := &messaging_api.TextMessage{Text: "Pick", QuickReply: &messaging_api.QuickReply{
		Items: []messaging_api.QuickReplyItem{{Action: &messaging_api.PostbackAction{Label: "a", Data: "a"}}},
	}}
	tests := []struct {
		name       string
		cfg        linetest.Config
		msg        messaging_api.MessageInterface
		wantStatus int
		wantErrors int
		wantRecord bool
	}{
		{name: "validating, valid", cfg: linetest.Config{Spec: sharedSpec(t)}, msg: text("hi"), wantStatus: http.StatusOK, wantRecord: true},
		{name: "validating, invalid", cfg: linetest.Config{Spec: sharedSpec(t)}, msg: quickNoType, wantStatus: http.StatusBadRequest, wantErrors: 1, wantRecord: true},
		{name: "SkipValidation accepts what LINE would not", cfg: linetest.Config{SkipValidation: true}, msg: quickNoType, wantStatus: http.StatusOK, wantRecord: true},
		{name: "NoHistory", cfg: linetest.Config{SkipValidation: true, NoHistory: true}, msg: text("hi"), wantStatus: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []linetest.Call
			tc.cfg.OnCall = func(c linetest.Call) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, c)
			}
			s, err := linetest.Start(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			token := s.IssueReplyToken(user)
			resp, _, _ := s.API().ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{
				ReplyToken: token, Messages: []messaging_api.MessageInterface{tc.msg}})
			if resp == nil || resp.StatusCode != tc.wantStatus {
				t.Fatalf("reply answered %v, want %d", resp, tc.wantStatus)
			}
			resp.Body.Close()
			mu.Lock()
			if len(seen) != 1 || seen[0].Route != linetest.PathReply || seen[0].Status != tc.wantStatus {
				t.Errorf("OnCall saw %+v, want one reply call answered %d", seen, tc.wantStatus)
			}
			mu.Unlock()
			if n := len(s.Errors()); n != tc.wantErrors {
				t.Errorf("%d validation errors, want %d", n, tc.wantErrors)
			}
			if got := len(s.Calls()) > 0; got != tc.wantRecord {
				t.Errorf("calls recorded: %v, want %v", got, tc.wantRecord)
			}
			if tc.wantStatus == http.StatusOK && (len(s.Delivered(user)) > 0) != tc.wantRecord {
				t.Errorf("delivered %d messages, want them recorded: %v", len(s.Delivered(user)), tc.wantRecord)
			}
			s.Close()
			s.Close() // idempotent
		})
	}
}

// TestSpecAlwaysLoaded pins that validation cannot go missing: the OpenAPI document is
// compiled in, so a fake made with the zero Config validates against it.
func TestSpecAlwaysLoaded(t *testing.T) {
	s := linetest.New(t, linetest.Config{})
	if !s.SpecLoaded() {
		t.Fatal("SpecLoaded() = false")
	}
	token := s.IssueReplyToken(user)
	res := postRaw(t, s, linetest.PathReply, fmt.Sprintf(`{"replyToken":%q,"messages":[{"type":"txt","text":"hi"}]}`, token))
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown message type was answered %d, want 400", res.StatusCode)
	}
	if errs := s.TakeErrors(); len(errs) != 1 {
		t.Errorf("%d validation errors, want 1", len(errs))
	}
}
