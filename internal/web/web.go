// Package web is giftdesk's web chat channel: a full-page chat and an embeddable widget
// served from the binary, a JSON API the page posts messages to, and Server-Sent Events
// that bring the answers, on the same pipeline as LINE.
//
// A customer is a conversation whose opaque id is kept in an HttpOnly cookie signed with
// HMAC-SHA256 (Config.Secret); a forged or foreign cookie is refused. A message carries an
// id the page generates, so the event stored in the inbox (before the page is answered
// 202) has an id of its own and a resend has one effect. What the page shows is a log per
// conversation (weblog.Store): the customer's messages as they are accepted, and the bot's
// and agents' as the Sender delivers them; the events stream replays it from any point
// (Last-Event-ID), so a reload or a dropped connection loses nothing and shows nothing
// twice. A process wakes its own streams when it appends; streams also poll the log, for
// answers delivered by another replica.
//
// # API
//
//   - GET / (and /?embed=1 in the widget's frame), GET /static/…, GET /widget.js: the
//     page and the widget, from static/ (embedded).
//   - GET /api/session → {"lang":"ja"|"en","max_text":N}; stores the greeting once.
//   - POST /api/messages, application/json, {"id":"<8-64 of [A-Za-z0-9_-]>","text":"…"} or
//     {"id":"…","postback":"<Choice.Data>","label":"<Choice.Label>"} → 202 {"id":"…"}
//     once stored (again for a resend of the id, with no second effect).
//   - GET /api/events: "message" events (id: the entry's seq; data: {"seq","from":
//     "customer"|"bot"|"agent","kind":"text"|"question"|"steps"|"handoff","text",
//     "title","steps","note","choices","client_id","at"}) from Last-Event-ID or ?after=N
//     or the start; "typing" events ({"on":bool}); ": ping" every Heartbeat.
//   - Errors: {"code","error"}, error being a message for the customer in the session's
//     language: 400 bad_json, bad_id, empty, bad_after; 401 bad_session (the cookie is
//     cleared); 403 forbidden (another origin); 413 too_long; 429 rate_limited with
//     Retry-After; 503 unavailable.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// Name is the channel name in conversation keys.
const Name = "web"

// Rate is a token bucket: Burst requests at once, then one every Every. A negative Burst
// means no limit.
type Rate struct {
	Burst int
	Every time.Duration
}

// Config configures a Channel. A zero field means the default.
type Config struct {
	// Inbox stores the customers' events before they are acknowledged; required.
	Inbox bot.Inbox
	// Log keeps each conversation's log and is read by the event streams; required.
	Log weblog.Store
	// Conversations tells a conversation's language (for /api/session and error
	// messages); optional: without it, Accept-Language decides.
	Conversations interface {
		Conversation(ctx context.Context, k bot.Key) (*bot.Conversation, error)
	}
	// Secret signs the cookies; required, at least 16 bytes (see Secret).
	Secret []byte
	// Origins are the origins ("https://shop.example") allowed to embed the page in a
	// frame and to call the API from their pages (CORS); default none but the page's own.
	Origins []string
	// MaxText is the longest message accepted, in characters; default 1000.
	MaxText int
	// PerConversation and PerAddress limit the messages a conversation, and the
	// messages and new conversations a client address, may send; defaults a burst of 10
	// then one every 2s, and a burst of 60 then one every 500ms.
	PerConversation, PerAddress Rate
	// StreamsPerConversation and StreamsPerAddress bound the event streams open at
	// once for a conversation (its tabs) and for a client address; beyond, a new one is
	// refused (429). Defaults 5 and 100; negative: no limit.
	StreamsPerConversation, StreamsPerAddress int
	// ClientIP returns the client's address of a request, for PerAddress; default the
	// connection's remote address. Behind a proxy, that is the proxy's: see
	// ClientIPHeader. The limits count an IPv6 address by its /64.
	ClientIP func(r *http.Request) string
	// Bodies reads request bodies within the memory budget the webhooks share; default
	// a budget of its own.
	Bodies *budget.Bodies
	// MediaLinks signs the links by which an agent's files reach the customer (see
	// bot.MediaLinks); nil when giftdesk hands out none (no GIFTDESK_PUBLIC_URL).
	MediaLinks *bot.MediaLinks
	// Redact masks gift-card codes in the customer's and the agents' messages as the log
	// keeps them (and so as the page shows them); default: keep them as they are.
	Redact func(string) string
	// Heartbeat is how often an idle event stream sends a comment; default 20s. Poll is
	// how often it reads the log without being woken (answers delivered by another
	// process); default 2s. Typing is how long the typing indicator shows for an event
	// still unanswered; default 30s.
	Heartbeat, Poll, Typing time.Duration
	// Observe is called once per POST /api/messages with its outcome ("accepted",
	// "bad_session", "rate_limited", "too_long", "bad_json", "bad_id", "empty",
	// "forbidden", "store_error", …), 1 and 0 for a new event, 0 and 1 for a resent one,
	// and how long it took; optional.
	Observe func(outcome string, fresh, duplicate int, d time.Duration)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Channel is the web chat channel: its handlers (Routes) and its bot.Sender. It is safe for
// concurrent use.
type Channel struct {
	cfg      Config
	log      *slog.Logger
	origins  map[string]bool
	csp      string
	hub      *hub
	convRate *limiter
	addrRate *limiter
	streams  *streams
	// closed ends the event streams (CloseStreams), so that a server shutting down is not
	// held up by them; the pages reconnect.
	closed    chan struct{}
	closeOnce sync.Once
}

var _ bot.Sender = (*Channel)(nil)

// New returns a Channel.
func New(cfg Config) (*Channel, error) {
	if cfg.Inbox == nil || cfg.Log == nil {
		return nil, errors.New("web: inbox and log are required")
	}
	if len(cfg.Secret) < minSecret {
		return nil, errors.New("web: a secret of at least 16 bytes is required")
	}
	if cfg.MaxText <= 0 {
		cfg.MaxText = 1000
	}
	if cfg.PerConversation.Burst == 0 {
		cfg.PerConversation = Rate{Burst: 10, Every: 2 * time.Second}
	}
	if cfg.PerAddress.Burst == 0 {
		cfg.PerAddress = Rate{Burst: 60, Every: 500 * time.Millisecond}
	}
	if cfg.StreamsPerConversation == 0 {
		cfg.StreamsPerConversation = 5
	}
	if cfg.StreamsPerAddress == 0 {
		cfg.StreamsPerAddress = 100
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteIP
	}
	clientIP := cfg.ClientIP
	cfg.ClientIP = func(r *http.Request) string { return addressKey(clientIP(r)) }
	if cfg.Bodies == nil {
		cfg.Bodies = budget.New(budget.Config{})
	}
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return s }
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 20 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Typing <= 0 {
		cfg.Typing = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Channel{
		cfg: cfg, log: log.With("component", "web"), origins: map[string]bool{},
		hub:      newHub(cfg.Now),
		convRate: newLimiter(cfg.PerConversation, cfg.Now),
		addrRate: newLimiter(cfg.PerAddress, cfg.Now),
		streams:  newStreams(cfg.StreamsPerConversation, cfg.StreamsPerAddress),
		closed:   make(chan struct{}),
	}
	ancestors := []string{"'self'"}
	for _, o := range cfg.Origins {
		o = strings.TrimSuffix(o, "/")
		if err := CheckOrigin(o); err != nil {
			return nil, err
		}
		c.origins[o] = true
		ancestors = append(ancestors, o)
	}
	c.csp = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors " + strings.Join(ancestors, " ")
	return c, nil
}

// Routes returns the channel's handlers by pattern, for the server's mux.
func (c *Channel) Routes() map[string]http.Handler {
	static := c.staticHandler()
	return map[string]http.Handler{
		"GET /{$}":           c.headers(http.HandlerFunc(c.page)),
		"GET /widget.js":     c.headers(static),
		"GET /static/":       c.headers(static),
		"GET /api/session":   c.api(c.session),
		"POST /api/messages": c.api(c.messages),
		"GET /api/events":    c.api(c.events),
		"OPTIONS /api/":      c.api(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }),
	}
}

// Turned tells the channel that a turn of conversation ev.Key was committed with msgs for
// the customer: without any, the typing indicator of its event ends now, otherwise when
// the Sender delivers them. It is the pipeline's Turned hook; events of other channels are
// ignored.
func (c *Channel) Turned(ev bot.Event, msgs []bot.Message) {
	if ev.Key.Channel != Name || len(msgs) > 0 {
		return
	}
	c.hub.answered(ev.Key.User, ev.ID)
}

// CloseStreams ends the open event streams, and new ones at once, so that a server
// shutting down is not kept waiting by them; the pages reconnect, to another replica or
// once the server is back.
func (c *Channel) CloseStreams() {
	c.closeOnce.Do(func() { close(c.closed) })
}
