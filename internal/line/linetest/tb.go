package linetest

// TB is the part of testing.TB that New uses. It is declared here, and satisfied by
// *testing.T and *testing.B, so that the fake itself never imports package testing and a
// program (cmd/giftdesk-load) can use Start without linking it.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// New starts a fake LINE Messaging API for the test t (a *testing.T or *testing.B) and
// closes it when the test ends. It logs rejected requests with t.Logf and, at cleanup,
// reports with t.Errorf every validation failure the test has not taken with TakeErrors.
// It calls t.Fatalf when the fake cannot start, so call it from the test's goroutine.
func New(t TB, cfg Config) *Server {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		s.Close()
		for _, e := range s.Errors() {
			t.Errorf("linetest: the fake LINE API rejected a request from the code under test: %v", e)
		}
	})
	return s
}
