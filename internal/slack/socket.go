package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/giftdesk/giftdesk/internal/webhook"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives events, button presses and slash commands over a Socket Mode
// connection (no public URL needed) until ctx is done, reconnecting as Slack asks. Each
// envelope goes through the same parsing and inbox as its HTTP twin and is acknowledged
// once stored; an envelope that could not be stored is left unacknowledged, and Slack
// sends it again. It returns nil when ctx ends, and an error when Slack refuses the app
// token or Config.AppToken is empty. Envelopes being handled when ctx ends are finished
// first.
func (c *Channel) RunSocketMode(ctx context.Context) error {
	if c.cfg.AppToken == "" {
		return errors.New("slack socket mode: no app token")
	}
	sm := socketmode.New(c.api, socketmode.OptionLog(slog.NewLogLogger(c.log.Handler(), slog.LevelDebug)))
	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(ctx) }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			// slack-go reconnects by itself; it gives up only when the token is refused.
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-sm.Events:
			c.socketEvent(ctx, sm, evt, &wg)
		}
	}
}

// socketEvent handles one event of the Socket Mode client.
func (c *Channel) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event, wg *sync.WaitGroup) {
	switch evt.Type {
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
		if evt.Request != nil {
			req := *evt.Request
			wg.Go(func() { c.envelope(ctx, sm, req) })
		}
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not parse the payload (an event type it does not know, say). The
		// channel parses payloads itself, so give it a chance, and ack what it stores or
		// ignores.
		bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
		var req socketmode.Request
		if ok && json.Unmarshal(bad.Message, &req) == nil && req.EnvelopeID != "" {
			wg.Go(func() { c.envelope(ctx, sm, req) })
		}
	case socketmode.EventTypeConnected:
		c.log.Info("socket mode connected")
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*slackapi.ConnectionErrorEvent); ok {
			c.log.Warn("socket mode connection failed", "attempt", e.Attempt, "backoff", e.Backoff.String(), "err", e.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		c.log.Error("socket mode: Slack refused the app token")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		c.log.Warn("socket mode", "event", string(evt.Type))
	default: // connecting, hello, disconnect
		c.log.Debug("socket mode", "event", string(evt.Type))
	}
}

// envelope handles one Socket Mode request and acknowledges it once handled.
func (c *Channel) envelope(ctx context.Context, sm *socketmode.Client, req socketmode.Request) {
	start := c.cfg.Now()
	var res result
	switch req.Type {
	case socketmode.RequestTypeEventsAPI:
		res = c.events(ctx, req.Payload)
	case socketmode.RequestTypeInteractive:
		res = c.interaction(ctx, req.Payload)
	case socketmode.RequestTypeSlashCommands:
		var cmd slackapi.SlashCommand
		if err := json.Unmarshal(req.Payload, &cmd); err != nil {
			res = c.edge.DeadLetter(ctx, "command: "+webhook.JSONProblem(err), req.Payload)
		} else {
			res = c.command(ctx, cmd, req.Payload)
		}
	default:
		res = ignored(req.Type)
	}
	c.observe("socket "+req.Type, res, strconv.Itoa(req.RetryAttempt), start)
	if res.Status != http.StatusOK {
		return // not acknowledged: Slack sends it again
	}
	if err := sm.AckCtx(ctx, req.EnvelopeID, res.Body); err != nil {
		c.log.Warn("socket mode ack", "err", err)
	}
}
