package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/internal/webhook"
	slackapi "github.com/slack-go/slack"
)

// signatureWindow is how far a request's timestamp may be from our clock, either way.
const signatureWindow = 5 * time.Minute

// result is the outcome of one request, from HTTP or Socket Mode. Besides the shared
// outcomes (webhook.Result), Slack's are "ignored", "foreign" (another workspace or app),
// "url_verification", "ssl_check", "not_started" (a slash command whose thread could not be started),
// "error", and for refused HTTP requests "bad_timestamp" and "no_signing_secret".
type result = webhook.Result

// Events handles POST /slack/events (the Events API).
func (c *Channel) Events() http.Handler {
	return c.handler("events", func(ctx context.Context, body []byte) result { return c.events(ctx, body) })
}

// Interactions handles POST /slack/interactivity (button presses).
func (c *Channel) Interactions() http.Handler {
	return c.handler("interactivity", func(ctx context.Context, body []byte) result {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return c.edge.DeadLetter(ctx, "interactivity: no payload form field", body)
		}
		return c.interaction(ctx, []byte(form.Get("payload")))
	})
}

// Commands handles POST /slack/commands (the slash command).
func (c *Channel) Commands() http.Handler {
	return c.handler("command", func(ctx context.Context, body []byte) result {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return c.edge.DeadLetter(ctx, "command: malformed form", body)
		}
		if form.Get("ssl_check") == "1" {
			// Slack checking the certificate of the command's URL: nothing to do but
			// answer 200.
			return result{Status: http.StatusOK, Outcome: "ssl_check"}
		}
		return c.command(ctx, slackapi.SlashCommand{
			TeamID: form.Get("team_id"), APIAppID: form.Get("api_app_id"), ChannelID: form.Get("channel_id"), UserID: form.Get("user_id"),
			Command: form.Get("command"), Text: form.Get("text"), TriggerID: form.Get("trigger_id"),
		}, body)
	})
}

// handler serves one kind of request through the shared edge (internal/webhook): a
// request whose signature headers are missing, malformed or outside the 5-minute window is
// refused (401) before its body is read; the body is read within the memory budget
// (Config.Bodies: 413 over the largest body, 503 with Retry-After when the budget is
// spent, which Slack retries); Slack's signature is verified over exactly those bytes (401
// when wrong: nothing is stored or sent); and the answer is what process returns.
func (c *Channel) handler(kind string, process func(context.Context, []byte) result) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := c.cfg.Now()
		res := c.edge.Serve(w, r, process)
		c.observe(kind, res, r.Header.Get("X-Slack-Retry-Num"), start)
	})
}

// observe logs a handled request and reports it to Config.Observe.
func (c *Channel) observe(kind string, res result, retry string, start time.Time) {
	d := c.cfg.Now().Sub(start)
	c.log.Info("request", "kind", kind, "outcome", res.Outcome, "detail", res.Detail, "status", res.Status,
		"events", res.Fresh, "duplicates", res.Dup, "retry", retry, "duration_ms", float64(d.Microseconds())/1000)
	if c.cfg.Observe != nil {
		c.cfg.Observe(res.Outcome, res.Fresh, res.Dup, d)
	}
}

// Reasons a request is refused, for the log.
var (
	errNoSecret  = errors.New("no_signing_secret")
	errBadSig    = errors.New("bad_signature")
	errStaleTime = errors.New("bad_timestamp")
)

// signature checks Slack's request signature with the channel's clock (slack-go's
// SecretsVerifier does the same against time.Now).
type signature struct {
	secret string
	now    func() time.Time
}

// Headers checks what can be checked before the body is read: a signing secret is
// configured, X-Slack-Request-Timestamp is within 5 minutes of now, and X-Slack-Signature
// is "v0=" and the hex of an HMAC-SHA256.
func (s signature) Headers(h http.Header) error {
	_, err := s.headers(h)
	return err
}

func (s signature) headers(h http.Header) ([]byte, error) {
	if s.secret == "" {
		return nil, errNoSecret
	}
	sec, err := strconv.ParseInt(h.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil {
		return nil, errStaleTime
	}
	if d := s.now().Sub(time.Unix(sec, 0)); d > signatureWindow || d < -signatureWindow {
		return nil, errStaleTime
	}
	got, ok := strings.CutPrefix(h.Get("X-Slack-Signature"), "v0=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil || len(sig) != sha256.Size {
		return nil, errBadSig
	}
	return sig, nil
}

// Verify checks X-Slack-Signature against the HMAC-SHA256, keyed with the signing secret,
// of "v0:<timestamp>:<body>".
func (s signature) Verify(h http.Header, body []byte) error {
	sig, err := s.headers(h)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(s.secret))
	mac.Write([]byte("v0:" + h.Get("X-Slack-Request-Timestamp") + ":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return errBadSig
	}
	return nil
}

// ignored acknowledges a request giftdesk does not act on.
func ignored(what string) result {
	return result{Status: http.StatusOK, Outcome: "ignored", Detail: what}
}
