// Package slack is giftdesk's Slack channel, built on github.com/slack-go/slack: the
// Events API, interactivity and slash-command handlers that verify, parse and store
// requests in the inbox, a Socket Mode runner that feeds the same path, the sender that
// posts Block Kit messages in the conversation's thread, and the profile lookup.
//
// # Conversations
//
// A conversation is a Slack thread: its key is {Channel: "slack", User: "<channel
// id>:<thread ts>"}, and Event.Address is the same "<channel id>:<thread ts>". A staff
// member starts one by writing to the bot in a direct message (the thread is rooted at
// that message), by mentioning the bot in a channel (rooted at the mention, or in the
// thread the mention is in), or with the slash command, for which the channel posts a root
// message at once. Later messages in the thread continue it; in a channel, only threads the
// bot runs are read (and any message that mentions the bot).
//
// # Deduplication
//
// Event.ID is "slack:msg:<channel>:<ts>" for a message, whichever event carried it
// (message.channels and app_mention both report a mention, and a retry repeats either),
// "slack:action:<channel>:<message ts>" for a button press (a double click, or a second
// button on the same question, has one effect) and "slack:cmd:<trigger id>" for a slash
// command.
//
// # Hand-off tickets
//
// When a conversation (on any channel, usually LINE) is handed off to a person, the desk
// sends a bot.MsgTicket to a Slack channel id: the channel posts it as the root of a new
// thread — who, when, why, the path through the flow, the last lines, and the buttons
// Claim, Resolve and Return to bot — and links the ticket to the thread in Config.Threads
// before the delivery counts as done. Later deliveries to "ticket:<id>" go to that
// thread: customer messages relayed as "👤 *name*: text", the desk's notices, and
// bot.MsgTicketUpdate, which rewrites the root to show the new state (and posts the
// update's note in the thread).
//
// Agents work in the thread. A press of a ticket button becomes InAgentClaim,
// InAgentResolve or InAgentReturn, and a reply in the thread InAgentText (Slack markup
// turned into plain text), both as events of the customer's conversation, found with one
// read of Config.Threads for thread replies outside direct messages. A press's id is
// "slack:ticket:<channel>:<root ts>:<action>:<user>:<action_ts>": two agents pressing
// Claim are two events, which the queue serialises (the first wins), while a repeated
// delivery of one press has no second effect. A reply's id is the message's, as above.
// Replies in the ticket thread of a staff member's own diagnosis relay nothing and are
// ignored.
//
// # Internal notes and receipts
//
// A reply that starts with a note marker (see bot.IsNote) or with a mention of a
// colleague (a person, a user group, @here) stays internal. The explicit way is the
// message shortcut "Internal note" on any message of the thread, or the ticket's 📝
// button: both open a form whose text the bot posts in the thread as a note and records
// as one (bot.Inbound.Note), whatever it says. Every agent message gets a reaction once
// the desk has decided: 📤 sent to the customer, 📝 kept internal, 🚫 the ticket is
// closed (bot.MsgReceipt).
//
// # One installation
//
// The channel answers its own workspace and app only (Identify): events, envelopes,
// button presses, shortcuts and slash commands of any other are acknowledged and
// ignored (outcome "foreign").
package slack

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
	"github.com/giftdesk/giftdesk/internal/webhook"
)

// Name is the channel name in conversation keys.
const Name = "slack"

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Config configures a Channel. A zero field means the default.
type Config struct {
	// BotToken (xoxb-…) calls the Web API; required.
	BotToken string
	// SigningSecret verifies HTTP requests. Without it every HTTP request is refused
	// (401); Socket Mode does not need it.
	SigningSecret string
	// AppToken (xapp-…) opens Socket Mode connections; needed by RunSocketMode only.
	AppToken string
	// APIURL is the Web API's base URL, ending in a slash; default DefaultAPIURL.
	APIURL string
	// HTTPClient calls the Web API; default a client with a 10s timeout.
	HTTPClient *http.Client
	// Inbox stores events before they are acknowledged; required.
	Inbox bot.Inbox
	// Conversations tells whether a thread is one the bot runs; required.
	Conversations bot.ConversationStore
	// Threads links hand-off tickets to their threads: it is needed to post tickets
	// (a ticket Outgoing fails permanently without it) and to read agents' replies and
	// button presses in them (without it, ticket threads are read as any thread);
	// optional.
	Threads bot.Threads
	// Redact masks secrets (gift-card codes) in text kept for inspection; default: drop it.
	Redact func(string) string
	// RedactBody masks secrets in request bodies kept as dead letters; default Redact.
	RedactBody func(string) string
	// MaxBody is the largest request body accepted; default 1 MiB. Ignored when Bodies is
	// set.
	MaxBody int64
	// Bodies reads request bodies within a memory budget, which other channels may share;
	// default a budget of its own with MaxBody.
	Bodies *budget.Bodies
	// CommandTimeout bounds the Web API calls a slash command makes before it is
	// acknowledged (Slack waits 3 seconds); default 2s.
	CommandTimeout time.Duration
	// Observe is called once per request, over HTTP or Socket Mode, with its outcome
	// ("accepted", "ignored", "foreign" (another workspace or app: see Identify),
	// "url_verification", "not_started", "malformed",
	// "store_error", "error", "bad_signature", "bad_timestamp", "no_signing_secret",
	// "too_large", "unreadable", "method"), how many events were new and how many
	// duplicates, and how long it took; optional.
	Observe func(outcome string, fresh, duplicate int, d time.Duration)
	// Media reads the content of customers' media relayed to ticket threads (the LINE
	// channel); without it a line in the thread says the media cannot be shown.
	// MediaLimits bound what is uploaded; zero means bot.MediaLimits' defaults. See
	// media.go.
	Media       bot.MediaOpener
	MediaLimits bot.MediaLimits
	Logger      *slog.Logger
	Now         func() time.Time
}

// Channel is the Slack channel. It is safe for concurrent use.
type Channel struct {
	cfg  Config
	log  *slog.Logger
	api  *slackapi.Client
	edge *webhook.Edge

	mu         sync.Mutex
	inst       installation         // from auth.test; zero until known
	foreigners map[string]struct{}  // foreign team/app pairs logged so far
	commands   map[string]time.Time // slash commands' trigger ids, when first seen

	handoffMu sync.Mutex
	orphans   map[string]string     // ticket id → a root posted but not linked yet
	names     map[string]cachedName // agents' names, by user id
	members   map[string]memberList // tickets channels' members, by channel id
	uploads   map[string]struct{}   // media relays completed, see media.go
}

var (
	_ bot.Sender   = (*Channel)(nil)
	_ bot.Profiler = (*Channel)(nil)
)

// New returns a Channel. It does no I/O.
func New(cfg Config) (*Channel, error) {
	if cfg.BotToken == "" {
		return nil, errors.New("slack: bot token is required")
	}
	if cfg.Inbox == nil || cfg.Conversations == nil {
		return nil, errors.New("slack: inbox and conversation store are required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("slack: API URL must be an http(s) URL")
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/" // slack-go appends method names to it
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Redact == nil {
		cfg.Redact = func(string) string { return "(redacted)" }
	}
	if cfg.RedactBody == nil {
		cfg.RedactBody = cfg.Redact
	}
	if cfg.Bodies == nil {
		cfg.Bodies = budget.New(budget.Config{MaxBody: cfg.MaxBody})
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []slackapi.Option{
		slackapi.OptionAPIURL(cfg.APIURL),
		slackapi.OptionHTTPClient(cfg.HTTPClient),
	}
	if cfg.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(cfg.AppToken))
	}
	c := &Channel{cfg: cfg, log: log.With("component", "slack"), api: slackapi.New(cfg.BotToken, opts...)}
	edge, err := webhook.New(webhook.Config{
		Bodies: cfg.Bodies, Inbox: cfg.Inbox, Channel: Name, Signature: signature{secret: cfg.SigningSecret, now: cfg.Now},
		Redact: cfg.RedactBody, Logger: c.log, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	c.edge = edge
	return c, nil
}

// address is "<channel id>:<thread ts>", the key of a conversation and where it is
// answered.
func address(channel, threadTS string) string { return channel + ":" + threadTS }

func splitAddress(a string) (channel, threadTS string, ok bool) {
	channel, threadTS, ok = strings.Cut(a, ":")
	return channel, threadTS, ok && channel != "" && threadTS != ""
}
