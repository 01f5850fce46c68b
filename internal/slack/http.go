package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
)

// signatureWindow is how far a request's timestamp may be from our clock, either way.
const signatureWindow = 5 * time.Minute

// result is the outcome of one request, from HTTP or Socket Mode.
type result struct {
	// status is the HTTP status: 200 acknowledges the request (in Socket Mode: ack the
	// envelope); anything else makes Slack send it again.
	status int
	// body is sent as JSON with a 200: the url_verification challenge, or an ephemeral
	// answer to a slash command. Optional.
	body any
	// outcome is one of a fixed set, for metrics: "accepted", "ignored", "foreign"
	// (another workspace or app), "url_verification", "not_started" (a slash command
	// whose thread could not be started), "malformed", "store_error", "error", and for
	// refused HTTP requests "bad_signature", "bad_timestamp", "no_signing_secret",
	// "too_large", "busy", "unreadable", "method".
	outcome    string
	detail     string // what was ignored, for the log
	fresh, dup int
}

// Events handles POST /slack/events (the Events API).
func (c *Channel) Events() http.Handler {
	return c.handler("events", func(ctx context.Context, body []byte) result { return c.events(ctx, body) })
}

// Interactions handles POST /slack/interactivity (button presses).
func (c *Channel) Interactions() http.Handler {
	return c.handler("interactivity", func(ctx context.Context, body []byte) result {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return c.deadLetter(ctx, "interactivity: no payload form field", body)
		}
		return c.interaction(ctx, []byte(form.Get("payload")))
	})
}

// Commands handles POST /slack/commands (the slash command).
func (c *Channel) Commands() http.Handler {
	return c.handler("command", func(ctx context.Context, body []byte) result {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return c.deadLetter(ctx, "command: malformed form", body)
		}
		return c.command(ctx, slackapi.SlashCommand{
			TeamID: form.Get("team_id"), APIAppID: form.Get("api_app_id"), ChannelID: form.Get("channel_id"), UserID: form.Get("user_id"),
			Command: form.Get("command"), Text: form.Get("text"), TriggerID: form.Get("trigger_id"),
		}, body)
	})
}

// handler refuses a request whose signature headers are missing, malformed or outside the
// 5-minute window (401) before reading its body, reads the body within the memory budget
// (Config.Bodies: 413 over the largest body, 503 with Retry-After when the budget is spent,
// which Slack retries), verifies Slack's signature over exactly those bytes (401 when
// wrong: nothing is stored or sent), and answers with what process returns. This is the one place where
// outcomes become HTTP statuses.
func (c *Channel) handler(kind string, process func(context.Context, []byte) result) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := c.cfg.Now()
		res := c.serve(w, r, process)
		c.observe(kind, res, r.Header.Get("X-Slack-Retry-Num"), start)
	})
}

// observe logs a handled request and reports it to Config.Observe.
func (c *Channel) observe(kind string, res result, retry string, start time.Time) {
	d := c.cfg.Now().Sub(start)
	c.log.Info("request", "kind", kind, "outcome", res.outcome, "detail", res.detail, "status", res.status,
		"events", res.fresh, "duplicates", res.dup, "retry", retry, "duration_ms", float64(d.Microseconds())/1000)
	if c.cfg.Observe != nil {
		c.cfg.Observe(res.outcome, res.fresh, res.dup, d)
	}
}

func (c *Channel) serve(w http.ResponseWriter, r *http.Request, process func(context.Context, []byte) result) result {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return result{status: http.StatusMethodNotAllowed, outcome: "method"}
	}
	sig, err := c.signatureHeaders(r.Header)
	if err != nil {
		w.Header().Set("Connection", "close")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return result{status: http.StatusUnauthorized, outcome: err.Error()}
	}
	read, err := c.cfg.Bodies.Read(r)
	if err != nil {
		return result{status: budget.Status(err), outcome: c.cfg.Bodies.Refuse(w, err)}
	}
	// Everything process keeps of the body is decoded or copied, so the buffer goes back
	// to the pool when the request is answered.
	defer read.Release()
	body := read.Bytes
	if err := c.verify(r.Header.Get("X-Slack-Request-Timestamp"), sig, body); err != nil {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return result{status: http.StatusUnauthorized, outcome: err.Error()}
	}
	res := process(r.Context(), body)
	switch {
	case res.status != http.StatusOK:
		http.Error(w, "temporarily unavailable", res.status)
	case res.body != nil:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res.body)
	default:
		w.WriteHeader(http.StatusOK)
	}
	return res
}

// Reasons a request is refused, for the log.
var (
	errNoSecret  = errors.New("no_signing_secret")
	errBadSig    = errors.New("bad_signature")
	errStaleTime = errors.New("bad_timestamp")
)

// signatureHeaders checks what can be checked before the body is read: a signing secret
// is configured, X-Slack-Request-Timestamp is within 5 minutes of now, and
// X-Slack-Signature is "v0=" and the hex of an HMAC-SHA256, which it returns decoded.
// (slack-go's SecretsVerifier does the same against time.Now; this one uses the channel's
// clock.)
func (c *Channel) signatureHeaders(h http.Header) ([]byte, error) {
	if c.cfg.SigningSecret == "" {
		return nil, errNoSecret
	}
	sec, err := strconv.ParseInt(h.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil {
		return nil, errStaleTime
	}
	if d := c.cfg.Now().Sub(time.Unix(sec, 0)); d > signatureWindow || d < -signatureWindow {
		return nil, errStaleTime
	}
	got, ok := strings.CutPrefix(h.Get("X-Slack-Signature"), "v0=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil || len(sig) != sha256.Size {
		return nil, errBadSig
	}
	return sig, nil
}

// verify checks sig, the decoded X-Slack-Signature, against the HMAC-SHA256, keyed with
// the signing secret, of "v0:<ts>:<body>".
func (c *Channel) verify(ts string, sig, body []byte) error {
	mac := hmac.New(sha256.New, []byte(c.cfg.SigningSecret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return errBadSig
	}
	return nil
}

// store adds evs to the inbox: 200 once they are on disk, 500 otherwise (Slack sends the
// request again).
func (c *Channel) store(ctx context.Context, evs []bot.Event) result {
	added, err := c.cfg.Inbox.AddEvents(ctx, evs)
	if err != nil {
		c.log.Error("store events", "err", err)
		return result{status: http.StatusInternalServerError, outcome: "store_error"}
	}
	res := result{status: http.StatusOK, outcome: "accepted"}
	for _, a := range added {
		if a {
			res.fresh++
		} else {
			res.dup++
		}
	}
	if res.fresh > 0 && c.cfg.Received != nil {
		c.cfg.Received()
	}
	return res
}

// deadLetter keeps an authentic request that could not be understood, redacted, and
// acknowledges it so that Slack does not send it again.
func (c *Channel) deadLetter(ctx context.Context, reason string, body []byte) result {
	d := bot.DeadLetter{Channel: Name, Reason: reason, Body: []byte(c.cfg.Redact(string(body))), At: c.cfg.Now()}
	if err := c.cfg.Inbox.AddDeadLetter(ctx, d); err != nil {
		c.log.Error("store dead letter", "err", err)
		return result{status: http.StatusInternalServerError, outcome: "store_error"}
	}
	c.log.Warn("dead letter", "reason", reason)
	return result{status: http.StatusOK, outcome: "malformed"}
}

// ignored acknowledges a request giftdesk does not act on.
func ignored(what string) result {
	return result{status: http.StatusOK, outcome: "ignored", detail: what}
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "unexpected " + typ.Value + " for field " + strconv.Quote(typ.Field)
	}
	return "invalid JSON"
}
