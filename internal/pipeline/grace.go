package pipeline

import (
	"context"
	"time"
)

// DefaultGrace is how long in-flight work may go on after shutdown begins, by default.
const DefaultGrace = 10 * time.Second

// inFlight returns the context for work that has begun when ctx ends: it carries ctx's
// values, and is cancelled grace after ctx is done rather than at once, so that a turn,
// a store read, a profile call or a delivery under way finishes, but not forever. It is
// the pipeline's one shutdown policy: every component runs its work under it.
func inFlight(ctx context.Context, grace time.Duration) context.Context {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return work
}
