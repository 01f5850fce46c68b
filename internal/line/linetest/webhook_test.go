package linetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

// TestWebhookBuilders checks the built bodies three ways: Sign against the SDK's signature
// check, the SDK's parser (which picks the event type), and LINE's webhook OpenAPI
// document in testdata, with its discriminators followed.
func TestWebhookBuilders(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("testdata/webhook.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	callback := doc.Components.Schemas["CallbackRequest"]
	if callback == nil || callback.Value == nil {
		t.Fatal("webhook.yml has no CallbackRequest schema")
	}
	const secret, user = "webhook-secret", "U0123456789abcdef0123456789abcdef"
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		ev   Event
		want any
	}{
		{name: "text", ev: TextEvent(user, "こんにちは", "r1", at), want: webhook.MessageEvent{}},
		{name: "postback", ev: PostbackEvent(user, "o:start:register", "r2", at), want: webhook.PostbackEvent{}},
		{name: "follow", ev: FollowEvent(user, "r3", at), want: webhook.FollowEvent{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := Body("U00000000000000000000000000000b0f", tc.ev)
			sig := Sign(secret, body)
			if !webhook.ValidateSignature(secret, sig, body) {
				t.Fatal("the SDK rejects the signature")
			}
			if webhook.ValidateSignature("other-secret", sig, body) {
				t.Fatal("the SDK accepts the signature under another secret")
			}
			var cb webhook.CallbackRequest
			if err := json.Unmarshal(body, &cb); err != nil {
				t.Fatalf("the SDK cannot parse the body: %v", err)
			}
			if len(cb.Events) != 1 {
				t.Fatalf("parsed %d events, want 1", len(cb.Events))
			}
			if got, want := typeName(cb.Events[0]), typeName(tc.want); got != want {
				t.Errorf("parsed a %s, want a %s", got, want)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			w := &schemaWalker{components: doc.Components.Schemas, seen: map[string]bool{}}
			w.visit(callback.Value, v, nil)
			w.walk(callback.Value, v, nil)
			if len(w.details) > 0 {
				t.Errorf("body %s breaks webhook.yml: %v", body, w.details)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case webhook.MessageEvent, *webhook.MessageEvent:
		return "message event"
	case webhook.PostbackEvent, *webhook.PostbackEvent:
		return "postback event"
	case webhook.FollowEvent, *webhook.FollowEvent:
		return "follow event"
	}
	return "something else"
}
