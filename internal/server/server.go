// Package server is giftdesk's HTTP front: it routes the channels' webhooks, answers
// health and readiness checks, guards every request with limits and panic recovery, and
// shuts down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Pinger reports whether a dependency (the store) is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// WriteProber is a Pinger that can also tell whether writes succeed (a full disk, a
// read-only file answer pings but fail every write). /readyz probes at most once per
// ProbeEvery.
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}

// Config configures a Server. A zero field means the default.
type Config struct {
	Addr string // default ":8080"
	// Routes maps patterns ("POST /line/webhook") to handlers.
	Routes map[string]http.Handler
	// Ready is checked by GET /readyz; optional. When it is also a WriteProber, /readyz
	// probes writes too.
	Ready Pinger
	// ProbeEvery is how long a write probe's result is reused; default 1s.
	ProbeEvery time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Metrics serves GET /metrics; optional.
	Metrics http.Handler
	Logger  *slog.Logger
	// ReadTimeout bounds reading a request, headers and body; default 10s.
	ReadTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers; default 5s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next request;
	// default 30s.
	IdleTimeout time.Duration
	// MaxConns bounds the connections open at once; further clients wait to be accepted.
	// Default 8192.
	MaxConns int
}

// Server is the HTTP server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	srv      *http.Server
	draining atomic.Bool

	probeMu  sync.Mutex
	probedAt time.Time
	probeErr error
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = 5 * time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 8192
	}
	if cfg.ProbeEvery == 0 {
		cfg.ProbeEvery = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log.With("component", "http")}
	mux := http.NewServeMux()
	for pattern, h := range cfg.Routes {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	s.srv = &http.Server{
		Addr:              cfg.Addr,
		Handler:           s.recover(mux),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server's root handler (for tests).
func (s *Server) Handler() http.Handler { return s.srv.Handler }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready.Ping(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			http.Error(w, "store unreachable", http.StatusServiceUnavailable)
			return
		}
		if err := s.probeWrite(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			http.Error(w, "store not writable", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

// probeWrite returns the result of the store's write probe, probing at most once per
// ProbeEvery; nil when the store has no probe.
func (s *Server) probeWrite(ctx context.Context) error {
	p, ok := s.cfg.Ready.(WriteProber)
	if !ok {
		return nil
	}
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	if now := s.cfg.Now(); s.probedAt.IsZero() || now.Sub(s.probedAt) >= s.cfg.ProbeEvery {
		s.probeErr, s.probedAt = p.ProbeWrite(ctx), now
	}
	return s.probeErr
}

// recover turns a panicking handler into a 500 without the panic's text, and logs it
// without the request body.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Serve listens on l (or Config.Addr when l is nil), with at most Config.MaxConns
// connections open at once, until ctx is done, then drains: readiness turns false first,
// in-flight requests finish within grace, and Serve returns.
func (s *Server) Serve(ctx context.Context, l net.Listener, grace time.Duration) error {
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
		}
	}
	l = newLimitListener(l, s.cfg.MaxConns)
	s.log.Info("listening", "addr", l.Addr().String(), "max_conns", s.cfg.MaxConns)
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
