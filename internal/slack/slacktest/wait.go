package slacktest

import "context"

// WaitCalls waits until method (such as "chat.postMessage") has been called at least n
// times, whatever the answers, or ctx is done.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) error {
	return s.wait(ctx, func() bool {
		k := 0
		for _, m := range s.calls {
			if m == method {
				k++
			}
		}
		return k >= n
	})
}
