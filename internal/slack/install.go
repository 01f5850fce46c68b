package slack

import (
	"context"
	"log/slog"
	"net/http"
	"slices"

	slackapi "github.com/slack-go/slack"
)

// installation is the workspace and app the channel's bot token belongs to: it answers
// requests from there only.
type installation struct {
	team    string // team_id
	app     string // api_app_id; empty when bots.info could not tell
	botUser string // the bot's user id
}

// maxForeign is how many foreign workspace and app pairs are remembered, so that each is
// logged at info level once.
const maxForeign = 100

// Identify reads the installation — the workspace (team_id), the bot's user and its app
// (api_app_id) — with auth.test and bots.info, once; later calls return at once. Requests
// from any other workspace or app are acknowledged and ignored. Call it at start-up: it
// fails when Slack refuses the bot token. Requests that arrive before the installation
// is known look it up themselves (and fail, to be sent again, while Slack cannot be
// reached).
func (c *Channel) Identify(ctx context.Context) error {
	_, err := c.installation(ctx)
	return err
}

func (c *Channel) installation(ctx context.Context) (installation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inst.team != "" {
		return c.inst, nil
	}
	res, err := c.api.AuthTestContext(ctx)
	if err != nil {
		return installation{}, apiError("auth.test", err)
	}
	inst := installation{team: res.TeamID, botUser: res.UserID}
	if res.BotID != "" {
		b, err := c.api.GetBotInfoContext(ctx, slackapi.GetBotInfoParameters{Bot: res.BotID})
		if err != nil {
			// Without the app id the workspace is still checked.
			c.log.Warn("bots.info: the app id is unknown, requests are checked by workspace only", "err", apiError("bots.info", err))
		} else {
			inst.app = b.AppID
		}
	}
	c.inst = inst
	c.log.Info("Slack installation", "team", inst.team, "app", inst.app, "bot_user", inst.botUser)
	return inst, nil
}

// botUserID returns the bot's own user id.
func (c *Channel) botUserID(ctx context.Context) (string, error) {
	inst, err := c.installation(ctx)
	return inst.botUser, err
}

// foreign checks that a request is for this installation: its app id, when it has one,
// is ours, and its workspace (team, or any of teams: an event's authorizations) is ours.
// It returns ok when the request may be handled, and otherwise the result to answer with:
// 200 and "foreign" for another workspace or app (acknowledged, so Slack does not send it
// again), 500 when the installation cannot be read (Slack sends it again).
func (c *Channel) foreign(ctx context.Context, kind, team, app string, teams ...string) (result, bool) {
	inst, err := c.installation(ctx)
	if err != nil {
		c.log.Error("read the Slack installation", "err", err)
		return result{Status: http.StatusInternalServerError, Outcome: "error"}, false
	}
	if (app == "" || inst.app == "" || app == inst.app) && (team == inst.team || slices.Contains(teams, inst.team)) {
		return result{}, true
	}
	c.mu.Lock()
	pair := team + "/" + app
	_, seen := c.foreigners[pair]
	if !seen {
		if c.foreigners == nil || len(c.foreigners) >= maxForeign {
			c.foreigners = map[string]struct{}{}
		}
		c.foreigners[pair] = struct{}{}
	}
	c.mu.Unlock()
	level := slog.LevelInfo
	if seen {
		level = slog.LevelDebug
	}
	c.log.Log(ctx, level, "request for another Slack workspace or app ignored", "kind", kind, "team", team, "app", app)
	return result{Status: http.StatusOK, Outcome: "foreign", Detail: kind + " from team " + team + " app " + app}, false
}
