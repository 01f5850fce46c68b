package slack

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"
)

// TestManifest checks that docs/slack-app-manifest.yaml asks for exactly what the channel
// uses: a scope it does not need is a needless permission, a missing one a broken install.
func TestManifest(t *testing.T) {
	raw, err := os.ReadFile("../../docs/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// slack-go's Manifest type, strictly: a misspelt key is an error, not a silent default.
	var m slackapi.Manifest
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	// Each scope and why the channel needs it.
	scopes := map[string]string{
		"app_mentions:read": "app_mention events",
		"channels:history":  "message.channels events; conversations.history and .replies (a ticket's root, to update it; a retry's earlier posts, by their metadata)",
		"groups:history":    "message.groups events; conversations.history and .replies in a private tickets channel",
		"im:history":        "message.im events; conversations.replies in a DM (a retry's earlier posts)",
		"channels:read":     "conversations.members of a public tickets channel",
		"groups:read":       "conversations.members of a private tickets channel",
		"chat:write":        "chat.postMessage and chat.update",
		"commands":          "the slash command",
		"users:read":        "users.info (name and locale), bots.info (the app id)",
		"reactions:write":   "reactions.add (receipts on agents' messages)",
		"files:read":        "files.info and the download of agents' files (media links)",
		"files:write":       "the external upload of customers' media to ticket threads",
	}
	if got, want := sorted(m.OAuthConfig.Scopes.Bot), sorted(keys(scopes)); !slices.Equal(got, want) {
		t.Errorf("bot scopes %v, want %v", got, want)
	}
	// Message events in DMs, public and private channels, and mentions: what parseMessage
	// reads ("message" and "app_mention").
	events := []string{"app_mention", "message.channels", "message.groups", "message.im"}
	if m.Settings.EventSubscriptions == nil || m.Settings.Interactivity == nil {
		t.Fatal("want event subscriptions and interactivity")
	}
	if got := sorted(m.Settings.EventSubscriptions.BotEvents); !slices.Equal(got, events) {
		t.Errorf("bot events %v, want %v", got, events)
	}
	if len(m.Features.Shortcuts) != 1 || m.Features.Shortcuts[0].CallbackID != noteShortcut ||
		m.Features.Shortcuts[0].Type != slackapi.MessageShortcut {
		t.Errorf("shortcuts %+v, want the message shortcut %s", m.Features.Shortcuts, noteShortcut)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/giftdesk" {
		t.Errorf("slash commands %+v, want /giftdesk", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.IsEnabled || !m.Settings.SocketModeEnabled || m.Features.BotUser.DisplayName == "" {
		t.Errorf("want interactivity, Socket Mode and a bot user enabled")
	}
	if !m.Features.AppHome.MessagesTabEnabled || m.Features.AppHome.MessagesTabReadOnlyEnabled {
		t.Errorf("the Messages tab must be enabled and writable, or nobody can DM the bot")
	}
	for _, route := range []string{"/slack/events", "/slack/interactivity", "/slack/commands"} {
		if !strings.Contains(string(raw), route) {
			t.Errorf("the manifest does not mention %s for HTTP mode", route)
		}
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
