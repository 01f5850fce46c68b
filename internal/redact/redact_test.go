package redact_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/redact"
)

func TestHandler(t *testing.T) {
	const code = "AQ7X-K29PLM-ZR4TW"
	const token = "secret-access-token-1234567890"
	var buf bytes.Buffer
	r := redact.New(flows.RedactCodes, token, "short")
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil))).With("token", token)
	log.Info("customer typed "+code, "text", "コードは"+code+"です", "err", errors.New("push with "+token+" failed"),
		slog.Group("g", "inner", code), "any", []string{code}, "n", 3)
	log.WithGroup("grp").Warn("x", "line", "two\nlines")
	out := buf.String()
	for _, secret := range []string{code, "K29PLM", token, strings.ReplaceAll(code, "-", "")} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"[REDACTED]", "****-", `"n":3`, `two\nlines`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestHandlerIDs(t *testing.T) {
	const token = "secret-access-token-1234567890"
	const id = "line:U4af4980629aaaaaaaaaaaaaaaaaaaaaa1:AQ7X-K29PLM-ZR4TW" // an id that holds a code's shape
	var buf bytes.Buffer
	r := redact.New(flows.RedactCodes, token).WithIDs("conversation")
	slog.New(r.Handler(slog.NewTextHandler(&buf, nil))).Info("x",
		"conversation", id, "text", "AQ7X-K29PLM-ZR4TW", "other", id, "conversation2", token)
	out := buf.String()
	if !strings.Contains(out, "conversation="+id) {
		t.Errorf("identifier masked:\n%s", out)
	}
	if strings.Contains(out, "text=AQ7X") || strings.Contains(out, token) || strings.Contains(out, "other="+id) {
		t.Errorf("code, secret or non-id attribute leaked:\n%s", out)
	}
}

// TestHandlerLeavesIDs: identifiers, JSON keys and durations in any attribute are not
// taken for codes.
func TestHandlerLeavesIDs(t *testing.T) {
	var buf bytes.Buffer
	r := redact.New(flows.RedactCodes)
	slog.New(r.Handler(slog.NewJSONHandler(&buf, nil))).Info("webhook",
		"body", `{"destination":"U0123456789abcdef0123456789abcdef","events":[{"webhookEventId":"01HXYZ5K3QW8ZJ9Y7T4N2M6P8R"}]}`,
		"ticket", "01HXYZ5K3QW8ZJ9Y7T4N2M6CHAS", "in", "1.2345678953s", "request", "550e8400-e29b-41d4-a716-446655440000")
	for _, want := range []string{"webhookEventId", "U0123456789abcdef0123456789abcdef", "01HXYZ5K3QW8ZJ9Y7T4N2M6P8R",
		"01HXYZ5K3QW8ZJ9Y7T4N2M6CHAS", "1.2345678953s", "550e8400-e29b-41d4-a716-446655440000"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lost %q:\n%s", want, buf.String())
		}
	}
}
