package row

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// EncodeEvent returns ev as the JSON text the inbox keeps. An error means ev can never be
// stored (its time is outside the years JSON encodes): keep Unstorable(ev, err) instead.
func EncodeEvent(ev bot.Event) (string, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	return string(b), nil
}

// Unstorable returns the dead letter kept, at at, instead of an event that cannot be
// stored, so that the rest of its batch is stored and the platform stops redelivering it.
// The body holds the event's id, key, kind and time, never its text or reply token.
func Unstorable(ev bot.Event, err error, at time.Time) bot.DeadLetter {
	body, _ := json.Marshal(map[string]string{ // strings only: cannot fail
		"id": ev.ID, "channel": ev.Key.Channel, "user": ev.Key.User, "kind": string(ev.In.Kind),
		"at": ev.At.Format(time.RFC3339Nano),
	})
	return bot.DeadLetter{Channel: ev.Key.Channel, Reason: "unstorable event: " + err.Error(), Body: body, At: at}
}
