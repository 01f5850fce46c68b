package bot

import (
	"context"

	"github.com/looplab/fsm"
)

// fireEvent fires event on m: the one place the engine and the desk move a state machine.
// On a cancelled context looplab/fsm v1.0.3 skips the transition without an error and
// leaves the machine in transition (every later event fails), and a turn's context is
// cancelled when shutdown's grace runs out: the event is fired with ctx's values but
// without its cancellation. Firing does no I/O, so nothing waits on it.
func fireEvent(ctx context.Context, m *fsm.FSM, event string) error {
	return m.Event(context.WithoutCancel(ctx), event)
}
