package bot_test

import (
	"testing"

	"github.com/giftdesk/giftdesk/bot"
)

func TestConversationClone(t *testing.T) {
	c := &bot.Conversation{Key: bot.Key{Channel: "line", User: "U1"}, Path: []string{"a"},
		Answers: []bot.Answer{{Node: "a", Option: "x"}}, Vars: map[string]string{"k": "v"},
		Ticket: &bot.Ticket{ID: "T1", State: bot.TicketWaiting}}
	d := c.Clone()
	d.Path[0], d.Answers[0].Option, d.Vars["k"], d.Ticket.State = "b", "y", "w", bot.TicketClaimed
	if c.Path[0] != "a" || c.Answers[0].Option != "x" || c.Vars["k"] != "v" || c.Ticket.State != bot.TicketWaiting {
		t.Errorf("changing the clone changed the original: %+v", c)
	}
}
