package line

import (
	"net/http"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

// TestGroupEvents checks which conversation group and room events belong to: a member's
// own when LINE names them, the group's or room's when it does not; join and leave the
// group's; none of them dead-lettered.
func TestGroupEvents(t *testing.T) {
	const mentioned = `"type":"message","message":{"type":"text","id":"1","text":"@bot help","mention":{"mentionees":[{"type":"user","index":0,"length":4,"isSelf":true}]}}`
	tests := []struct {
		name, source, rest string
		kind               bot.InboundKind
		key, address       string // "" when nothing is stored
		dead               int
	}{
		{"member named", `{"type":"group","groupId":"Cg","userId":"Um"}`, mentioned, bot.InText, "group:Cg:Um", "Cg", 0},
		{"member on PC", `{"type":"group","groupId":"Cg"}`, mentioned, bot.InText, "group:Cg", "Cg", 0},
		{"postback in group", `{"type":"group","groupId":"Cg"}`, `"type":"postback","postback":{"data":"c:restart"}`, bot.InPostback, "group:Cg", "Cg", 0},
		{"postback in room", `{"type":"room","roomId":"Rr"}`, `"type":"postback","postback":{"data":"c:restart"}`, bot.InPostback, "room:Rr", "Rr", 0},
		{"join", `{"type":"group","groupId":"Cg"}`, `"type":"join"`, bot.InJoin, "group:Cg", "Cg", 0},
		{"join with a user id", `{"type":"room","roomId":"Rr","userId":"Um"}`, `"type":"join"`, bot.InJoin, "room:Rr", "Rr", 0},
		{"leave", `{"type":"group","groupId":"Cg"}`, `"type":"leave"`, bot.InUnfollow, "group:Cg", "Cg", 0},
		{"join one-to-one", `{"type":"user","userId":"Um"}`, `"type":"join"`, "", "", "", 0},
		{"unmentioned chatter", `{"type":"group","groupId":"Cg"}`, `"type":"message","message":{"type":"text","id":"1","text":"lunch?"}`, "", "", "", 0},
		{"user without id", `{"type":"user"}`, `"type":"postback","postback":{"data":"x"}`, "", "", "", 1},
		{"group without id", `{"type":"group","userId":"Um"}`, mentioned, "", "", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inbox := &recordingInbox{}
			body := `{"destination":"Ubot","events":[{"webhookEventId":"01A","timestamp":1,"mode":"active","replyToken":"r","source":` + tt.source + `,` + tt.rest + `}]}`
			if code := post(t, newTestChannel(t, inbox), []byte(body)); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if len(inbox.dead) != tt.dead {
				t.Errorf("%d dead letters, want %d: %+v", len(inbox.dead), tt.dead, inbox.dead)
			}
			if tt.key == "" {
				if len(inbox.events) != 0 {
					t.Errorf("stored %+v, want nothing", inbox.events)
				}
				return
			}
			if len(inbox.events) != 1 {
				t.Fatalf("stored %d events, want 1", len(inbox.events))
			}
			ev := inbox.events[0]
			if ev.In.Kind != tt.kind || ev.Key.User != tt.key || ev.Address != tt.address {
				t.Errorf("stored %s for %q at %q, want %s for %q at %q", ev.In.Kind, ev.Key.User, ev.Address, tt.kind, tt.key, tt.address)
			}
			if removed := tt.rest == `"type":"leave"`; ev.In.Removed != removed {
				t.Errorf("stored Removed %t, want %t (the bot removed from the group)", ev.In.Removed, removed)
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	for user, want := range map[string]bool{"group:Cg": true, "room:Rr": true, "group:Cg:Um": false, "Um": false, "group:": false} {
		if got := anonymous(user); got != want {
			t.Errorf("anonymous(%q) = %v, want %v", user, got, want)
		}
	}
}
