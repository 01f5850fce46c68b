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
	var buf bytes.Buffer
	r := redact.New(flows.RedactCodes, token).WithIDs("conversation")
	slog.New(r.Handler(slog.NewTextHandler(&buf, nil))).Info("x",
		"conversation", "line:U4af4980629aaaaaaaaaaaaaaaaaaaaaa1", "text", "AQ7X-K29PLM-ZR4TW", "other", "line:U4af4980629aaaaaaaaaaaaaaaaaaaaaa1",
		"conversation2", token)
	out := buf.String()
	if !strings.Contains(out, "conversation=line:U4af4980629aaaaaaaaaaaaaaaaaaaaaa1") {
		t.Errorf("identifier masked:\n%s", out)
	}
	if strings.Contains(out, "K29PLM") || strings.Contains(out, token) || strings.Contains(out, "other=line:U4af") {
		t.Errorf("code, secret or non-id attribute leaked:\n%s", out)
	}
}
