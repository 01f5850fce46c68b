package slack_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/slack/slacktest"
)

// retarget returns a copy of a JSON payload as if it came from another workspace and app:
// every team id and app id in it replaced.
func retarget(t *testing.T, payload []byte, team, app string) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		for k, e := range m {
			switch e := e.(type) {
			case string:
				switch {
				case k == "team_id" || (k == "id" && e == slacktest.TeamID):
					m[k] = team
				case k == "api_app_id":
					m[k] = app
				}
			case map[string]any:
				walk(e)
			case []any:
				for _, x := range e {
					if x, ok := x.(map[string]any); ok {
						walk(x)
					}
				}
			}
		}
	}
	walk(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// retargetForm is retarget for a slash command's form.
func retargetForm(v url.Values, team, app string) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = x
	}
	out.Set("team_id", team)
	out.Set("api_app_id", app)
	return out
}

// foreignCase is a correctly signed request that is not for this installation.
type foreignCase struct {
	name      string
	team, app string
}

var foreignCases = []foreignCase{
	{name: "other workspace and app", team: "T0OTHER", app: "A0OTHER"},
	{name: "other workspace, same app", team: "T0OTHER", app: slacktest.AppID},
	{name: "same workspace, other app", team: slacktest.TeamID, app: "A0OTHER"},
	{name: "no workspace", team: "", app: slacktest.AppID},
}

// TestForeignInstallation sends correctly signed events, button presses and slash
// commands of other workspaces and apps over HTTP: each is acknowledged with 200 and
// ignored (nothing stored, nothing posted), counted as "foreign" and logged once at info
// level per workspace and app; the same requests from the installation are handled.
func TestForeignInstallation(t *testing.T) {
	h := start(t)
	q := h.fake.Post(support, slacktest.BotUserID, "question", "")
	q.BotID = slacktest.BotID
	q.Blocks = []byte(`[{"type":"actions","block_id":"b","elements":[{"type":"button","action_id":"giftdesk-choice-1","value":"o:start:checkout_select","text":{"type":"plain_text","text":"Checkout"}}]}]`)
	press, err := h.fake.BlockActions(q, bob, "o:start:checkout_select")
	if err != nil {
		t.Fatal(err)
	}
	dm := h.fake.Post(dmAlice, alice, "こんにちは", "")
	event, _ := h.fake.MessageEvent(dm, "im")
	command := h.fake.SlashCommand(support, bob, "/giftdesk", "")
	send := map[string]func(team, app string) int{
		"event": func(team, app string) int { return h.event(retarget(t, event, team, app)) },
		"press": func(team, app string) int {
			code, _ := h.signed("/slack/interactivity", "application/x-www-form-urlencoded",
				[]byte(slacktest.InteractivityForm(retarget(t, press, team, app)).Encode()))
			return code
		},
		"command": func(team, app string) int {
			code, body := h.command(retargetForm(command, team, app))
			if len(body) != 0 {
				t.Errorf("answered %q, want no body", body)
			}
			return code
		},
	}
	for _, tt := range foreignCases {
		for kind, f := range send {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				if code := f(tt.team, tt.app); code != http.StatusOK {
					t.Errorf("answered %d, want 200", code)
				}
			})
		}
	}
	if calls, _, _, dead := h.inbox.counts(); calls != 0 || dead != 0 {
		t.Errorf("%d inbox writes and %d dead letters from foreign requests, want none", calls, dead)
	}
	for _, c := range h.fake.Calls() {
		if c != "auth.test" && c != "bots.info" {
			t.Errorf("Slack was called for a foreign request: %s", c)
		}
	}
	logs := h.logs.String()
	if n, want := strings.Count(logs, "outcome=foreign"), len(foreignCases)*len(send); n != want {
		t.Errorf("%d requests counted as foreign, want %d", n, want)
	}
	if n := strings.Count(logs, "level=INFO msg=\"request for another Slack workspace or app ignored\""); n != len(foreignCases) {
		t.Errorf("%d info lines about foreign requests, want one per workspace and app (%d)", n, len(foreignCases))
	}

	// The installation's own requests are handled.
	for _, kind := range []string{"event", "command"} {
		if code := send[kind](slacktest.TeamID, slacktest.AppID); code != http.StatusOK {
			t.Errorf("own %s answered %d", kind, code)
		}
	}
	if _, fresh, _, _ := h.inbox.counts(); fresh != 2 {
		t.Errorf("%d events stored from the installation's own requests, want 2", fresh)
	}
}

// TestInstallationFromAuthTest checks that the installation is what auth.test and
// bots.info say: with a bot token of another workspace, requests carrying the test
// workspace's ids are foreign.
func TestInstallationFromAuthTest(t *testing.T) {
	h := start(t)
	h.fake.SetIdentity(slacktest.Identity{TeamID: "T0ELSE", AppID: "A0ELSE", BotUserID: "U0ELSEBOT", BotID: "B0ELSE"})
	if err := h.ch.Identify(h.ctx); err != nil {
		t.Fatal(err)
	}
	m := h.fake.Post(dmAlice, alice, "こんにちは", "")
	body, _ := h.fake.MessageEvent(m, "im")
	if code := h.event(body); code != http.StatusOK {
		t.Errorf("answered %d", code)
	}
	if calls, _, _, _ := h.inbox.counts(); calls != 0 {
		t.Errorf("%d inbox writes, want none", calls)
	}
	if err := h.ch.Identify(h.ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(h.fake.Calls(), " "), "auth.test"); n != 1 {
		t.Errorf("auth.test called %d times, want once", n)
	}
}

// TestIdentifyRefused checks that a refused bot token fails Identify.
func TestIdentifyRefused(t *testing.T) {
	h := start(t)
	h.fake.FailNext("auth.test", slacktest.Fault{Error: "invalid_auth"})
	if err := h.ch.Identify(h.ctx); err == nil || strings.Contains(err.Error(), slacktest.BotToken) {
		t.Errorf("Identify: %v, want an error without the token", err)
	}
}

// TestForeignSocketMode sends foreign envelopes over Socket Mode: each is acknowledged,
// and nothing is stored or posted.
func TestForeignSocketMode(t *testing.T) {
	h := start(t)
	h.socketMode()
	q := h.fake.Post(support, slacktest.BotUserID, "question", "")
	q.BotID = slacktest.BotID
	q.Blocks = []byte(`[{"type":"actions","block_id":"b","elements":[{"type":"button","action_id":"giftdesk-choice-1","value":"o:start:checkout_select","text":{"type":"plain_text","text":"Checkout"}}]}]`)
	press, err := h.fake.BlockActions(q, bob, "o:start:checkout_select")
	if err != nil {
		t.Fatal(err)
	}
	dm := h.fake.Post(dmAlice, alice, "こんにちは", "")
	event, _ := h.fake.MessageEvent(dm, "im")
	command := slacktest.JSON(h.fake.SlashCommand(support, bob, "/giftdesk", ""))
	wctx, wcancel := h.wait()
	defer wcancel()
	for _, tt := range foreignCases {
		for _, e := range []slacktest.Envelope{
			{Type: "events_api", Payload: retarget(t, event, tt.team, tt.app)},
			{Type: "interactive", Payload: retarget(t, press, tt.team, tt.app)},
			{Type: "slash_commands", Payload: retarget(t, command, tt.team, tt.app)},
		} {
			t.Run(tt.name+"/"+e.Type, func(t *testing.T) {
				id, err := h.fake.Send(wctx, e)
				if err != nil {
					t.Fatal(err)
				}
				ack, err := h.fake.WaitAck(wctx, id)
				if err != nil || string(ack) != "null" {
					t.Errorf("ack %s, %v; want an empty ack", ack, err)
				}
			})
		}
	}
	if calls, _, _, dead := h.inbox.counts(); calls != 0 || dead != 0 {
		t.Errorf("%d inbox writes and %d dead letters from foreign envelopes, want none", calls, dead)
	}
	if n, want := strings.Count(h.logs.String(), "outcome=foreign"), len(foreignCases)*3; n != want {
		t.Errorf("%d envelopes counted as foreign, want %d", n, want)
	}
	// The installation's own event is handled.
	id, err := h.fake.Send(wctx, slacktest.Envelope{Type: "events_api", Payload: event})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(wctx, id); err != nil {
		t.Fatal(err)
	}
	h.replies(dmAlice, dm.TS, 1)
}
