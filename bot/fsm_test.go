package bot

import (
	"context"
	"testing"

	"github.com/looplab/fsm"
)

// TestFireEvent checks that a state machine moves on a cancelled context too: the turn
// whose grace ran out still leaves its conversation in a consistent node.
func TestFireEvent(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{name: "live context", ctx: t.Context()},
		{name: "cancelled context", ctx: cancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fsm.NewFSM("a", fsm.Events{{Name: "go", Src: []string{"a"}, Dst: "b"}}, nil)
			if err := fireEvent(tt.ctx, m, "go"); err != nil {
				t.Fatalf("fireEvent = %v", err)
			}
			if got := m.Current(); got != "b" {
				t.Errorf("state = %q, want b", got)
			}
		})
	}
}
