package bot_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// countingStepper counts the turns of a conversation in Vars["turns"] and answers with
// the count.
type countingStepper struct{}

func (countingStepper) Step(_ context.Context, c *bot.Conversation, ev bot.Event) (bot.Result, error) {
	if c.Vars == nil {
		c.Vars = map[string]string{}
	}
	n, _ := strconv.Atoi(c.Vars["turns"])
	c.Vars["turns"] = strconv.Itoa(n + 1)
	if c.Lang == "" {
		c.Lang, c.Status, c.Node, c.FlowVersion = bot.Japanese, bot.StatusActive, "start", "test"
		c.CreatedAt = ev.At
	}
	c.UpdatedAt = ev.At
	return bot.Result{Messages: []bot.Message{{Kind: bot.MsgText, Text: c.Vars["turns"]}}}, nil
}

// TestWorkerStaleCache checks that the conversation a worker keeps from its last commit
// is only a guess: when the stored one changed meanwhile, the turn is stepped again from
// the stored state, and nothing is lost.
func TestWorkerStaleCache(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.New(ctx, sqlite.Config{Path: sqlite.Memory})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w, err := bot.NewWorker(bot.WorkerConfig{Queue: store, Store: store, Stepper: countingStepper{}})
	if err != nil {
		t.Fatal(err)
	}
	k := bot.Key{Channel: "line", User: "U1"}
	at := time.Date(2025, time.April, 1, 9, 0, 0, 0, time.UTC)
	turn := func(id string) {
		t.Helper()
		if _, err := store.AddEvents(ctx, []bot.Event{{ID: id, Key: k, In: bot.Inbound{Kind: bot.InText, Text: "x"}, At: at}}); err != nil {
			t.Fatal(err)
		}
		if did, err := w.RunOnce(ctx); !did || err != nil {
			t.Fatalf("RunOnce = %v, %v", did, err)
		}
		at = at.Add(time.Second)
	}
	turn("e1")
	turn("e2") // from the cache

	// Someone else changes the conversation: the worker's copy is stale.
	c, err := store.Conversation(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	c.Vars["agent"] = "note"
	if err := store.SaveConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	turn("e3")

	got, err := store.Conversation(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Vars["turns"] != "3" || got.Vars["agent"] != "note" || got.Revision != 4 {
		t.Errorf("conversation: turns %q, agent %q, revision %d; want 3, note, 4", got.Vars["turns"], got.Vars["agent"], got.Revision)
	}
}

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
