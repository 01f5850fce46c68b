// Package line is giftdesk's LINE channel, built on github.com/line/line-bot-sdk-go/v8: the
// webhook handler that verifies, parses and stores events in the inbox, the sender that
// answers with the reply API and falls back to push, and the profile lookup.
package line

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
	"github.com/giftdesk/giftdesk/internal/webhook"
)

// Name is the channel name in conversation keys.
const Name = "line"

// Config configures a Channel. A zero field means the default.
type Config struct {
	ChannelSecret string // required: verifies webhook signatures
	AccessToken   string // required: calls the Messaging API
	// APIBaseURL is the Messaging API's base URL; default https://api.line.me.
	APIBaseURL string
	// DataAPIBaseURL is the host of message content (OpenMedia); default
	// https://api-data.line.me.
	DataAPIBaseURL string
	// MediaHTTPClient reads message content; default a client with a 2-minute timeout.
	MediaHTTPClient *http.Client
	// MediaLinks signs the links by which customers get agents' files; without it, a
	// file is named in a text but not linked.
	MediaLinks *bot.MediaLinks
	// HTTPClient calls the Messaging API; default a client with a 10s timeout.
	HTTPClient *http.Client
	// Inbox stores webhook events before they are acknowledged; required.
	Inbox bot.Inbox
	// Redact masks secrets (gift-card codes) in text kept for inspection; default: drop it.
	Redact func(string) string
	// MaxBody is the largest webhook body accepted; default 1 MiB. Ignored when Bodies is
	// set.
	MaxBody int64
	// Bodies reads webhook bodies within a memory budget, which other channels may share;
	// default a budget of its own with MaxBody.
	Bodies *budget.Bodies
	// ReplyWindow is how long after an event its reply token is still tried; default 50s
	// (LINE accepts a reply token for about a minute).
	ReplyWindow time.Duration
	// Observe is called once per webhook request with its outcome ("accepted",
	// "bad_signature", "too_large", "busy", "malformed", "store_error", "method",
	// "unreadable"), how
	// many events were new and how many duplicates, and how long it took; optional.
	Observe func(outcome string, fresh, duplicate int, d time.Duration)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Channel is the LINE channel. It is safe for concurrent use.
type Channel struct {
	cfg     Config
	log     *slog.Logger
	opts    []messaging_api.MessagingApiAPIOption
	encoded *encodedCache // rendered batches, see marshal.go
	edge    *webhook.Edge
	loading loadingState // see loading.go
}

var (
	_ http.Handler = (*Channel)(nil)
	_ bot.Sender   = (*Channel)(nil)
	_ bot.Profiler = (*Channel)(nil)
)

// New returns a Channel.
func New(cfg Config) (*Channel, error) {
	if cfg.ChannelSecret == "" || cfg.AccessToken == "" {
		return nil, errors.New("line: channel secret and access token are required")
	}
	if cfg.Inbox == nil {
		return nil, errors.New("line: inbox is required")
	}
	if cfg.APIBaseURL == "" {
		cfg.APIBaseURL = "https://api.line.me"
	}
	if cfg.DataAPIBaseURL == "" {
		cfg.DataAPIBaseURL = "https://api-data.line.me"
	}
	if cfg.MediaHTTPClient == nil {
		cfg.MediaHTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if cfg.HTTPClient == nil {
		// The deliverer sends a batch of rows at once, all to one host: keep that many
		// connections open (http.DefaultTransport keeps 2, so every batch dialled, and on
		// api.line.me did a TLS handshake, for most of its rows).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if cfg.Redact == nil {
		cfg.Redact = func(string) string { return "(redacted)" }
	}
	if cfg.Bodies == nil {
		cfg.Bodies = budget.New(budget.Config{MaxBody: cfg.MaxBody})
	}
	if cfg.ReplyWindow == 0 {
		cfg.ReplyWindow = 50 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Channel{cfg: cfg, log: log.With("component", "line"), encoded: newEncodedCache()}
	edge, err := webhook.New(webhook.Config{
		Bodies: cfg.Bodies, Inbox: cfg.Inbox, Channel: Name, Signature: signature{secret: cfg.ChannelSecret},
		Redact: cfg.Redact, Logger: c.log, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	c.edge = edge
	c.opts = []messaging_api.MessagingApiAPIOption{
		messaging_api.WithEndpoint(cfg.APIBaseURL), messaging_api.WithHTTPClient(cfg.HTTPClient),
	}
	// Check the options once, so a bad base URL stops start-up rather than every send.
	if _, err := messaging_api.NewMessagingApiAPI(cfg.AccessToken, c.opts...); err != nil {
		return nil, errors.New("line: invalid API base URL")
	}
	return c, nil
}

// api returns a Messaging API client bound to ctx. The SDK keeps the context in the client,
// so each call gets its own client rather than sharing one across goroutines.
func (c *Channel) api(ctx context.Context) *messaging_api.MessagingApiAPI {
	api, _ := messaging_api.NewMessagingApiAPI(c.cfg.AccessToken, c.opts...) // options checked in New
	return api.WithContext(ctx)
}
