package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/budget"
	"github.com/giftdesk/giftdesk/internal/line"
	"github.com/giftdesk/giftdesk/internal/metrics"
	"github.com/giftdesk/giftdesk/internal/pipeline"
	"github.com/giftdesk/giftdesk/internal/redact"
	"github.com/giftdesk/giftdesk/internal/server"
	"github.com/giftdesk/giftdesk/internal/slack"
	"github.com/giftdesk/giftdesk/internal/store/postgres"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	"github.com/giftdesk/giftdesk/internal/web"
	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// serveConfig is giftdesk serve's configuration, read from the environment.
type serveConfig struct {
	Addr        string
	DB          string
	IdleTimeout time.Duration
	Grace       time.Duration
	Lease       time.Duration
	Workers     int
	DebugAddr   string // pprof listener; empty means none
	MetricsAddr string // metrics listener; empty means /metrics on the main listener
	LogFormat   string
	LogLevel    slog.Level

	// The HTTP edge: bytes and number of unauthenticated webhook bodies read at once,
	// connections open at once, and how long a connection may idle or send its headers.
	WebhookMemory int64
	WebhookReads  int
	MaxConns      int
	KeepAlive     time.Duration
	HeaderTimeout time.Duration

	LineSecret, LineToken, LineAPI string
	// LineReplyWindow is how long after an event its reply token is used; it must stay
	// shorter than LINE's own lifetime of the token (about a minute).
	LineReplyWindow time.Duration

	// Slack: a bot token, and a signing secret (HTTP mode), an app token (Socket Mode) or
	// both.
	SlackBotToken, SlackSigningSecret, SlackAppToken, SlackAPI string

	// Hand-off: the Slack channel where tickets are posted, business hours, how long a
	// ticket may wait before the customer is told, and how long transcripts are kept.
	HandoffChannel string
	Hours          bot.Hours
	HandoffWait    time.Duration
	SweepEvery     time.Duration
	Retention      time.Duration
	// Per conversation: tickets an hour, and messages relayed to a ticket's thread a
	// minute (0 for no limit).
	TicketsPerHour, RelaysPerMinute int
	// Media: photos and files in hand-offs (media.go).
	Media mediaConfig

	// The web chat: on unless GIFTDESK_WEB=off; the key that signs its cookies (empty:
	// generated and kept in the database); the origins allowed to embed it.
	Web        bool
	WebSecret  string
	WebOrigins []string
	// Messages a minute a web conversation, and a client address, may send (0 for no
	// limit), and the header in which a proxy in front tells the client's address.
	WebPerConversation, WebPerAddress int
	WebClientIPHeader                 string
}

// loadServeConfig reads and validates the environment. A missing or malformed setting is
// an error naming the variable.
func loadServeConfig(getenv func(string) string) (serveConfig, error) {
	c := serveConfig{
		Addr:      orEnv(getenv, "GIFTDESK_ADDR", ":8080"),
		DB:        orEnv(getenv, "GIFTDESK_DB", "giftdesk.db"),
		LogFormat: orEnv(getenv, "GIFTDESK_LOG_FORMAT", "json"),
		LineAPI:   lineAPIURL(getenv),
		SlackAPI:  orEnv(getenv, "SLACK_API_URL", slack.DefaultAPIURL),
	}
	var errs []error
	dur := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 30m", name, v))
		}
		return d
	}
	// count reads a whole number from least to most (0 meaning no limit where least is 0).
	count := func(name string, def, least, most int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < least || n > most {
			from := strconv.Itoa(least)
			if least == 0 {
				from = "0 (no limit)"
			}
			errs = append(errs, fmt.Errorf("%s=%q: want a number from %s to %d", name, v, from, most))
		}
		return n
	}
	c.IdleTimeout = dur("GIFTDESK_IDLE_TIMEOUT", 30*time.Minute)
	c.HandoffWait = dur("GIFTDESK_HANDOFF_WAIT", 15*time.Minute)
	c.SweepEvery = dur("GIFTDESK_SWEEP_EVERY", 30*time.Second)
	c.Retention = dur("GIFTDESK_RETENTION", 30*24*time.Hour)
	if c.Retention < 24*time.Hour {
		errs = append(errs, fmt.Errorf("GIFTDESK_RETENTION=%s: keep at least 24h (deduplication keys must outlive redeliveries)", c.Retention))
	}
	hours := orEnv(getenv, "GIFTDESK_BUSINESS_HOURS", "Mon-Fri 10:00-19:00 Asia/Tokyo")
	if h, err := bot.ParseHours(hours); err != nil {
		errs = append(errs, fmt.Errorf("GIFTDESK_BUSINESS_HOURS: %w", err))
	} else {
		c.Hours = h
	}
	c.HandoffChannel = getenv("SLACK_HANDOFF_CHANNEL")
	c.Grace = dur("GIFTDESK_SHUTDOWN_GRACE", 10*time.Second)
	c.Lease = dur("GIFTDESK_LEASE", 30*time.Second)
	c.LineReplyWindow = dur("LINE_REPLY_WINDOW", 50*time.Second)
	c.KeepAlive = dur("GIFTDESK_KEEPALIVE_TIMEOUT", 30*time.Second)
	c.HeaderTimeout = dur("GIFTDESK_HEADER_TIMEOUT", 5*time.Second)
	c.WebhookMemory = 64 << 20
	if v := getenv("GIFTDESK_WEBHOOK_MEMORY"); v != "" {
		n, err := parseSize(v)
		if err != nil || n < 1<<20 {
			errs = append(errs, fmt.Errorf("GIFTDESK_WEBHOOK_MEMORY=%q: want a size of at least 1MiB (the largest body), such as 64MiB", v))
		}
		c.WebhookMemory = n
	}
	c.WebhookReads = count("GIFTDESK_WEBHOOK_READS", 256, 1, 1<<16)
	files := openFilesLimit()
	c.MaxConns = min(8192, max(files-256, 64))
	if v := getenv("GIFTDESK_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 16 {
			errs = append(errs, fmt.Errorf("GIFTDESK_MAX_CONNS=%q: want a number of at least 16", v))
		} else if n > files-64 {
			errs = append(errs, fmt.Errorf("GIFTDESK_MAX_CONNS=%d: over the open-files limit %d less 64 for the database and outgoing calls (raise ulimit -n)", n, files))
		}
		c.MaxConns = n
	}
	c.TicketsPerHour = count("GIFTDESK_TICKETS_PER_HOUR", 3, 0, 1000)
	c.RelaysPerMinute = count("GIFTDESK_RELAYS_PER_MINUTE", 6, 0, 1000)
	c.Workers = count("GIFTDESK_WORKERS", 4, 1, 256)
	if c.DebugAddr = getenv("GIFTDESK_DEBUG_ADDR"); c.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugAddr); err != nil {
			errs = append(errs, fmt.Errorf("GIFTDESK_DEBUG_ADDR=%q: want host:port such as 127.0.0.1:6060", c.DebugAddr))
		}
	}
	if c.MetricsAddr = getenv("GIFTDESK_METRICS_ADDR"); c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("GIFTDESK_METRICS_ADDR=%q: want host:port such as 127.0.0.1:9090", c.MetricsAddr))
		}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("GIFTDESK_ADDR=%q: want host:port such as :8080", c.Addr))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("GIFTDESK_LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	if v := getenv("GIFTDESK_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("GIFTDESK_LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	c.LineSecret, c.LineToken = getenv("LINE_CHANNEL_SECRET"), getenv("LINE_CHANNEL_ACCESS_TOKEN")
	c.SlackBotToken, c.SlackSigningSecret, c.SlackAppToken =
		getenv("SLACK_BOT_TOKEN"), getenv("SLACK_SIGNING_SECRET"), getenv("SLACK_APP_TOKEN")
	slackSet := c.SlackBotToken != "" || c.SlackSigningSecret != "" || c.SlackAppToken != ""
	errs = append(errs, c.loadWeb(getenv)...)
	c.WebPerConversation = count("GIFTDESK_WEB_MESSAGES_PER_MINUTE", 30, 0, 100000)
	c.WebPerAddress = count("GIFTDESK_WEB_ADDRESS_PER_MINUTE", 120, 0, 1000000)
	switch {
	case c.LineSecret == "" && c.LineToken == "" && !slackSet && !c.Web:
		errs = append(errs, errors.New("no channel configured: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN, "+
			"or SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP), or leave the web chat on (GIFTDESK_WEB is off)"))
	case c.LineSecret == "" && c.LineToken == "":
		// Slack only.
	case c.LineSecret == "":
		errs = append(errs, errors.New("LINE_CHANNEL_SECRET is not set (LINE_CHANNEL_ACCESS_TOKEN is)"))
	case c.LineToken == "":
		errs = append(errs, errors.New("LINE_CHANNEL_ACCESS_TOKEN is not set (LINE_CHANNEL_SECRET is)"))
	}
	if u, err := url.Parse(c.LineAPI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("LINE_API_BASE_URL=%q: want an http(s) URL", urlForError(c.LineAPI)))
	}
	if slackSet {
		errs = append(errs, c.checkSlack()...)
	}
	if c.HandoffChannel != "" && c.SlackBotToken == "" {
		errs = append(errs, errors.New("SLACK_HANDOFF_CHANNEL is set but Slack is not (set SLACK_BOT_TOKEN and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET)"))
	}
	var merrs []error
	c.Media, merrs = loadMediaConfig(getenv, c.LineSecret)
	errs = append(errs, merrs...)
	if strings.Contains(c.DB, "://") && !isPostgres(c.DB) {
		errs = append(errs, fmt.Errorf("GIFTDESK_DB=%q: want a SQLite file path or a postgres:// URL", redactURL(c.DB)))
	}
	return c, errors.Join(errs...)
}

// loadWeb reads the web chat's settings. The secret is never quoted in errors.
func (c *serveConfig) loadWeb(getenv func(string) string) []error {
	var errs []error
	switch v := strings.ToLower(getenv("GIFTDESK_WEB")); v {
	case "", "on":
		c.Web = true
	case "off":
	default:
		errs = append(errs, fmt.Errorf("GIFTDESK_WEB=%q: want on or off", v))
	}
	c.WebSecret = getenv("GIFTDESK_WEB_SECRET")
	c.WebClientIPHeader = getenv("GIFTDESK_WEB_CLIENT_IP_HEADER")
	if c.WebSecret != "" && len(c.WebSecret) < 16 {
		errs = append(errs, errors.New("GIFTDESK_WEB_SECRET: want at least 16 characters (or leave it unset to have one generated and kept in the database)"))
	}
	for o := range strings.FieldsFuncSeq(getenv("GIFTDESK_WEB_ORIGINS"), func(r rune) bool { return r == ',' || r == ' ' }) {
		o = strings.TrimSuffix(o, "/")
		if err := web.CheckOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("GIFTDESK_WEB_ORIGINS: %q: want origins such as https://shop.example, separated by spaces or commas", urlForError(o)))
			continue
		}
		c.WebOrigins = append(c.WebOrigins, o)
	}
	return errs
}

// checkSlack validates the Slack settings. Tokens are never quoted in errors.
func (c serveConfig) checkSlack() []error {
	var errs []error
	switch {
	case c.SlackBotToken == "":
		errs = append(errs, errors.New("SLACK_BOT_TOKEN is not set (SLACK_SIGNING_SECRET or SLACK_APP_TOKEN is)"))
	case !strings.HasPrefix(c.SlackBotToken, "xoxb-"):
		errs = append(errs, errors.New("SLACK_BOT_TOKEN: want the bot token (xoxb-…) from OAuth & Permissions"))
	case c.SlackSigningSecret == "" && c.SlackAppToken == "":
		errs = append(errs, errors.New("SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP) is"))
	}
	if c.SlackAppToken != "" && !strings.HasPrefix(c.SlackAppToken, "xapp-") {
		errs = append(errs, errors.New("SLACK_APP_TOKEN: want an app-level token (xapp-…) with the connections:write scope"))
	}
	u, err := url.Parse(c.SlackAPI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
		errs = append(errs, fmt.Errorf("SLACK_API_URL=%q: want an http(s) URL ending in /, such as %s", urlForError(c.SlackAPI), slack.DefaultAPIURL))
	}
	return errs
}

// parseSize parses a size in bytes: a number, optionally followed by KiB, MiB or GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("size %q: want a number of bytes, KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

func orEnv(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// urlForError returns s for an error message without credentials: a URL's user and
// password are left out, and a string that does not parse as a URL, or still holds an
// "@", is not shown at all.
func urlForError(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if out := u.String(); !strings.Contains(out, "@") {
		return out
	}
	return "(URL with credentials)"
}

// redactURL hides a password in a database URL; a file path is returned as it is.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// newLogger returns the serve logger: JSON (or text) lines on w, with gift-card codes
// masked and the configured secrets replaced in every message and attribute.
func newLogger(w io.Writer, format string, level slog.Level, secrets ...string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	r := redact.New(flows.RedactCodes, secrets...).WithIDs("conversation", "event", "outgoing", "db", "owner", "addr")
	return slog.New(r.Handler(h))
}

// runServe runs the bot's HTTP server, worker and deliverer until ctx is done. listener, if
// not nil, is used instead of listening on GIFTDESK_ADDR (tests).
func runServe(ctx context.Context, getenv func(string) string, stderr io.Writer, listener net.Listener) error {
	cfg, err := loadServeConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel, cfg.LineSecret, cfg.LineToken,
		cfg.SlackBotToken, cfg.SlackSigningSecret, cfg.SlackAppToken, cfg.WebSecret)
	store, err := openStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	engine, err := newEngine(cfg.IdleTimeout)
	if err != nil {
		return err
	}
	owner := instanceName()
	m := metrics.New(store, log)

	// Background work stops only after the HTTP server has drained, so that everything
	// acknowledged is in the inbox; in-flight turns and deliveries finish first.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup
	deskCfg := bot.DeskConfig{
		Engine: engine, Hours: cfg.Hours, Wait: cfg.HandoffWait, Redact: flows.RedactCodes,
		Transcripts: store, Observe: m.Handoff, Logger: log,
		TicketsPerHour: orNoLimit(cfg.TicketsPerHour), RelaysPerMinute: orNoLimit(cfg.RelaysPerMinute),
	}
	if cfg.HandoffChannel != "" {
		deskCfg.TicketChannel, deskCfg.TicketAddress = slack.Name, cfg.HandoffChannel
	}
	// Photos and files: agents' files reach LINE customers by signed links to giftdesk,
	// which serves them from Slack.
	var links *bot.MediaLinks
	if cfg.Media.PublicURL != "" && cfg.LineSecret != "" && cfg.SlackBotToken != "" {
		if links, err = bot.NewMediaLinks(cfg.Media.PublicURL, cfg.Media.Key, cfg.Media.LinkTTL, nil); err != nil {
			return fmt.Errorf("GIFTDESK_PUBLIC_URL: %w", err)
		}
	}
	deskCfg.Media, deskCfg.AgentMedia = cfg.Media.Limits, links != nil
	if engine.HasNode(unreadableNode) {
		deskCfg.UnreadableNode = unreadableNode
	}
	desk, err := bot.NewDesk(deskCfg)
	if err != nil {
		return err
	}
	// The web channel is told of every turn (its typing indicator); it is built after the
	// pipeline, whose inbox it writes to.
	var webCh *web.Channel
	turned := func(ev bot.Event, c *bot.Conversation, msgs []bot.Message) {
		m.Turn(ev, c, msgs)
		if webCh != nil {
			webCh.Turned(ev, msgs)
		}
	}
	// The pipeline exists before any channel: its inbox, which the channels write to,
	// wakes its workers itself.
	pipe, err := pipeline.New(pipeline.Config{
		Store: store, Stepper: desk, Owner: owner, Lease: cfg.Lease, Workers: cfg.Workers, Grace: cfg.Grace,
		Logger: log, Turned: turned, Delivered: m.Delivered, Backlog: m.Backlog,
	})
	if err != nil {
		return err
	}
	inbox := pipe.Inbox()
	var channels []string
	// One memory budget for the bodies of every channel's webhooks, read before they can be
	// authenticated.
	bodies := budget.New(budget.Config{Bytes: cfg.WebhookMemory, Reads: cfg.WebhookReads})
	routes := map[string]http.Handler{}
	var media bot.MediaOpener // where Slack reads customers' photos from
	if cfg.LineSecret != "" {
		lineCh, err := line.New(line.Config{
			ChannelSecret: cfg.LineSecret, AccessToken: cfg.LineToken, APIBaseURL: cfg.LineAPI, ReplyWindow: cfg.LineReplyWindow,
			DataAPIBaseURL: cfg.Media.LineData, MediaLinks: links,
			Inbox: inbox, Redact: redact.Body(flows.RedactCodes), Logger: log, Bodies: bodies,
			Observe: func(outcome string, fresh, dup int, d time.Duration) {
				m.Webhook(line.Name, outcome, fresh, dup, d)
			},
		})
		if err != nil {
			return err
		}
		routes["POST /line/webhook"] = lineCh
		media = lineCh
		if err := pipe.Add(line.Name, lineCh); err != nil {
			return err
		}
		channels = append(channels, line.Name)
	}
	if cfg.SlackBotToken != "" {
		slackCh, err := slack.New(slack.Config{
			BotToken: cfg.SlackBotToken, SigningSecret: cfg.SlackSigningSecret, AppToken: cfg.SlackAppToken,
			APIURL: cfg.SlackAPI, Inbox: inbox, Conversations: store, Threads: store,
			Redact: flows.RedactCodes, RedactBody: redact.Body(flows.RedactCodes), Logger: log, Bodies: bodies,
			Media: media, MediaLimits: cfg.Media.Limits,
			Observe: func(outcome string, fresh, dup int, d time.Duration) {
				m.Webhook(slack.Name, outcome, fresh, dup, d)
			},
		})
		if err != nil {
			return err
		}
		// The installation (workspace, app, bot user): requests from any other are
		// ignored. A refused token (an error that is permanent, or that delivery would
		// park until an operator fixes it) stops start-up; an unreachable Slack is asked
		// again by the first request.
		if err := slackCh.Identify(ctx); err != nil {
			var de *bot.DeliveryError
			if errors.As(err, &de) && (de.Permanent || de.Fixable) {
				return fmt.Errorf("SLACK_BOT_TOKEN: %w", err)
			}
			log.Warn("Slack installation not read yet", "err", err)
		}
		if links != nil {
			routes["GET "+bot.MediaPath+"{id}"] = slackCh.MediaHandler(links)
		}
		if err := pipe.Add(slack.Name, slackCh); err != nil {
			return err
		}
		channels = append(channels, slack.Name)
		if cfg.SlackSigningSecret != "" {
			routes["POST /slack/events"] = slackCh.Events()
			routes["POST /slack/interactivity"] = slackCh.Interactions()
			routes["POST /slack/commands"] = slackCh.Commands()
		}
		if cfg.SlackAppToken != "" {
			// Socket Mode stops receiving when ctx ends, as the HTTP server stops accepting;
			// Slack sends again what was not acknowledged.
			wg.Go(func() {
				if err := slackCh.RunSocketMode(ctx); err != nil {
					log.Error("Slack Socket Mode stopped", "err", err)
				}
			})
		}
	}
	var webLog weblog.Store
	if cfg.Web {
		if webCh, err = newWeb(ctx, cfg, store, inbox, bodies, links, m, log); err != nil {
			return err
		}
		webLog = store.(weblog.Store)
		for pattern, h := range webCh.Routes() {
			routes[pattern] = h
		}
		if err := pipe.Add(web.Name, webCh); err != nil {
			return err
		}
		channels = append(channels, web.Name)
		// The event streams end as the server starts draining: they would hold it up.
		defer context.AfterFunc(ctx, webCh.CloseStreams)()
	}
	wg.Go(func() { pipe.Run(bg) })
	if cfg.DebugAddr != "" {
		wg.Go(func() {
			if err := server.ServeDebug(bg, cfg.DebugAddr, log); err != nil {
				log.Error("debug listener stopped", "err", err)
			}
		})
	}
	publicMetrics := m.Handler()
	if cfg.MetricsAddr != "" {
		publicMetrics = nil
		wg.Go(func() {
			if err := server.ServeMetrics(bg, cfg.MetricsAddr, m.Handler(), log); err != nil {
				log.Error("metrics listener stopped", "err", err)
			}
		})
	}
	wg.Go(func() { housekeeping(bg, log, desk, store, webLog, inbox, cfg.SweepEvery, cfg.Retention) })

	srv := server.New(server.Config{
		Addr:    cfg.Addr,
		Routes:  routes,
		Ready:   store,
		Metrics: publicMetrics,
		Logger:  log,

		MaxConns:          cfg.MaxConns,
		IdleTimeout:       cfg.KeepAlive,
		ReadHeaderTimeout: cfg.HeaderTimeout,
	})
	log.Info("giftdesk serving", "addr", cfg.Addr, "db", redactURL(cfg.DB), "channels", strings.Join(channels, ","), "owner", owner)
	if cfg.Web {
		addr := cfg.Addr
		if listener != nil {
			addr = listener.Addr().String()
		}
		log.Info("web chat: " + webURL(addr))
	}
	err = srv.Serve(ctx, listener, cfg.Grace)
	stopBG()
	wg.Wait()
	log.Info("giftdesk stopped")
	return err
}

// housekeeping tells customers whose ticket waits too long (every sweepEvery) and purges
// what is past retention (every hour), until ctx is done.
func housekeeping(ctx context.Context, log *slog.Logger, desk *bot.Desk, store storage, webLog weblog.Store, inbox bot.Inbox,
	sweepEvery, retention time.Duration) {
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	purge := time.NewTimer(time.Minute)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			// The inbox wakes the worker for the events the sweep stores.
			if _, err := desk.Sweep(ctx, store, store, inbox); err != nil {
				log.Error("sweep waiting tickets", "err", err)
			}
		case <-purge.C:
			n, err := store.Purge(ctx, time.Now().Add(-retention))
			if err != nil {
				log.Error("purge", "err", err)
			} else if n > 0 {
				log.Info("purged", "rows", n, "older_than", retention.String())
			}
			if webLog != nil {
				if n, err := webLog.PurgeWeb(ctx, time.Now().Add(-retention)); err != nil {
					log.Error("purge web chat logs", "err", err)
				} else if n > 0 {
					log.Info("purged web chat logs", "entries", n, "older_than", retention.String())
				}
			}
			purge.Reset(time.Hour)
		}
	}
}

// The stores keep the web chat's logs.
var (
	_ weblog.Store = (*sqlite.Store)(nil)
	_ weblog.Store = (*postgres.Store)(nil)
)

// newWeb builds the web chat channel on the store's log and key (GIFTDESK_WEB_SECRET
// instead of the stored key when set).
func newWeb(ctx context.Context, cfg serveConfig, store storage, inbox bot.Inbox, bodies *budget.Bodies, links *bot.MediaLinks,
	m *metrics.Metrics, log *slog.Logger) (*web.Channel, error) {
	wl, ok := store.(weblog.Store)
	if !ok {
		return nil, errors.New("web chat: the store keeps no web chat logs")
	}
	secret, err := web.Secret(ctx, wl, cfg.WebSecret)
	if err != nil {
		return nil, fmt.Errorf("GIFTDESK_WEB_SECRET: %w", err)
	}
	// The event streams read the log when this process appends to it, and also every
	// Poll for what other processes appended: on PostgreSQL, replicas share the log; a
	// SQLite file has one process (two only while a deploy overlaps).
	poll := 30 * time.Second
	if isPostgres(cfg.DB) {
		poll = 2 * time.Second
	}
	var clientIP func(*http.Request) string
	if cfg.WebClientIPHeader != "" {
		clientIP = web.ClientIPHeader(cfg.WebClientIPHeader)
	}
	return web.New(web.Config{
		Inbox: inbox, Log: wl, Conversations: store, Secret: secret, Origins: cfg.WebOrigins, Poll: poll,
		PerConversation: perMinute(cfg.WebPerConversation, 10), PerAddress: perMinute(cfg.WebPerAddress, 60), ClientIP: clientIP,
		Bodies: bodies, Redact: flows.RedactCodes, Logger: log, MediaLinks: links,
		Observe: func(outcome string, fresh, dup int, d time.Duration) {
			m.Webhook(web.Name, outcome, fresh, dup, d)
		},
	})
}

// perMinute is a web.Rate of n a minute with the given burst (at most n); 0 is no limit.
func perMinute(n, burst int) web.Rate {
	if n == 0 {
		return web.Rate{Burst: -1}
	}
	return web.Rate{Burst: min(burst, n), Every: time.Minute / time.Duration(n)}
}

// webURL is the web chat's address for the log: the listen address, with localhost for
// a listener on every interface.
func webURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// instanceName names this process in leases: host and pid.
func instanceName() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}

// orNoLimit maps a setting's 0 (no limit) to the Desk's negative.
func orNoLimit(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
