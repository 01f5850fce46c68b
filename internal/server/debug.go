package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ServeDebug serves Go's profiler (net/http/pprof under /debug/pprof/) on addr until ctx
// is done. It is for operators: addr should be a loopback or otherwise private address,
// never the public webhook listener, because profiles show memory and goroutine stacks.
func ServeDebug(ctx context.Context, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return servePrivate(ctx, "debug", addr, mux, log)
}

// ServeMetrics serves metrics (GET /metrics) on addr until ctx is done, so that they can
// be kept off the public webhook listener and scraped without competing with webhooks for
// its connections.
func ServeMetrics(ctx context.Context, addr string, metrics http.Handler, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return servePrivate(ctx, "metrics", addr, mux, log)
}

// servePrivate serves h on addr until ctx is done.
func servePrivate(ctx context.Context, name, addr string, h http.Handler, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	log.Info(name+" listener", "addr", l.Addr().String())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
