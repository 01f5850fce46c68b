// Package webhook is the edge the channels share for webhook requests: the method check,
// the signature checked before and after the body is read, the body read within the
// memory budget, dead letters, storing events and counting them, and the one place where
// an outcome becomes an HTTP status. A channel supplies its Signature and what to do with
// an authentic body; everything it must not get wrong twice is here.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
)

// Result is the outcome of one request.
type Result struct {
	// Status is the HTTP status: 200 acknowledges the request; anything else makes the
	// platform send it again.
	Status int
	// Body is sent as JSON with a 200 (a URL verification challenge, an ephemeral
	// answer); optional.
	Body any
	// Outcome is one of a fixed set, for metrics: "accepted", "malformed" (kept as a dead
	// letter), "store_error", and for refused requests "method", "too_large", "busy",
	// "unreadable" and what the Signature's errors say ("bad_signature", ...). Channels
	// add their own.
	Outcome string
	// Detail says more for the log (what was ignored); optional.
	Detail string
	// Fresh and Dup count the events stored new and those the inbox already had.
	Fresh, Dup int
}

// Signature checks a request's signature in two steps. The text of an error it returns
// is the Outcome of the refused request, so it must be a short fixed word such as
// "bad_signature", never a header's value.
type Signature interface {
	// Headers checks what can be checked before the body is read (a signature header
	// that is present and well-formed, a timestamp within its window).
	Headers(h http.Header) error
	// Verify checks the signature over exactly the body read.
	Verify(h http.Header, body []byte) error
}

// Config configures an Edge. Bodies, Inbox, Channel and Signature are required.
type Config struct {
	Bodies    *budget.Bodies
	Inbox     bot.Inbox
	Channel   string // the channel's name, in dead letters
	Signature Signature
	// Redact masks secrets (gift-card codes) in dead letters; default: keep no body.
	Redact func(string) string
	Logger *slog.Logger // default slog.Default()
	Now    func() time.Time
}

// Edge handles the shared part of a channel's webhook requests. It is safe for concurrent
// use.
type Edge struct {
	cfg Config
	log *slog.Logger
}

// New returns an Edge.
func New(cfg Config) (*Edge, error) {
	if cfg.Bodies == nil || cfg.Inbox == nil || cfg.Signature == nil || cfg.Channel == "" {
		return nil, errors.New("webhook: bodies, inbox, signature and channel are required")
	}
	if cfg.Redact == nil {
		cfg.Redact = func(string) string { return "" }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Edge{cfg: cfg, log: cfg.Logger}, nil
}

// Serve handles one request. It answers 405 to a method other than POST; 401 when the
// signature headers are refused, before reading the body (with Connection: close, so a
// client that sends a body anyway is cut off); 413 over the largest body and 503 with
// Retry-After when the body budget is spent; 401 when the signature does not match the
// body (nothing is stored). An authentic body goes to process, whose Result is written:
// a status other than 200 as "temporarily unavailable", a Body as JSON. The body is
// released when Serve returns, so process must copy what it keeps.
func (e *Edge) Serve(w http.ResponseWriter, r *http.Request, process func(ctx context.Context, body []byte) Result) Result {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return Result{Status: http.StatusMethodNotAllowed, Outcome: "method"}
	}
	if err := e.cfg.Signature.Headers(r.Header); err != nil {
		w.Header().Set("Connection", "close")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return Result{Status: http.StatusUnauthorized, Outcome: err.Error()}
	}
	read, err := e.cfg.Bodies.Read(r)
	if err != nil {
		return Result{Status: budget.Status(err), Outcome: e.cfg.Bodies.Refuse(w, err)}
	}
	defer read.Release()
	body := read.Bytes
	if err := e.cfg.Signature.Verify(r.Header, body); err != nil {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return Result{Status: http.StatusUnauthorized, Outcome: err.Error()}
	}
	res := process(r.Context(), body)
	switch {
	case res.Status != http.StatusOK:
		http.Error(w, "temporarily unavailable", res.Status)
	case res.Body != nil:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res.Body)
	default:
		w.WriteHeader(http.StatusOK)
	}
	return res
}

// Store adds evs to the inbox and counts them: 200 "accepted" once they are on disk, 500
// "store_error" otherwise (the platform sends the request again). The inbox wakes the
// worker itself (internal/pipeline).
func (e *Edge) Store(ctx context.Context, evs []bot.Event) Result {
	added, err := e.cfg.Inbox.AddEvents(ctx, evs)
	if err != nil {
		e.log.Error("store events", "err", err)
		return Result{Status: http.StatusInternalServerError, Outcome: "store_error"}
	}
	res := Result{Status: http.StatusOK, Outcome: "accepted"}
	for _, a := range added {
		if a {
			res.Fresh++
		} else {
			res.Dup++
		}
	}
	return res
}

// DeadLetter keeps an authentic body that could not be understood, redacted, and
// acknowledges it (200 "malformed") so that the platform does not send it again; 500
// "store_error" when it cannot be kept. reason must not quote the body (see
// JSONProblem).
func (e *Edge) DeadLetter(ctx context.Context, reason string, body []byte) Result {
	d := bot.DeadLetter{Channel: e.cfg.Channel, Reason: reason, Body: []byte(e.cfg.Redact(string(body))), At: e.cfg.Now()}
	if err := e.cfg.Inbox.AddDeadLetter(ctx, d); err != nil {
		e.log.Error("store dead letter", "err", err)
		return Result{Status: http.StatusInternalServerError, Outcome: "store_error"}
	}
	e.log.Warn("dead letter", "reason", reason)
	return Result{Status: http.StatusOK, Outcome: "malformed"}
}

// JSONProblem describes a JSON decoding error without quoting the input, for a dead
// letter's reason.
func JSONProblem(err error) string {
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
