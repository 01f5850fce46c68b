package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
)

// maxWebhookBody is the largest webhook body the bare handler reads, as giftdesk serve.
const maxWebhookBody = 1 << 20

// runBare serves the bare handler until ctx is done (SIGTERM).
func runBare(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "loopback address to listen on, host:port")
	secret := fs.String("secret", "", "channel secret that signs webhooks")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *secret == "" {
		return errors.New("bare: --secret is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("bare: --addr=%q: want a loopback host:port", *addr)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /line/webhook", bareHandler(*secret))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ready\n") })
	srv := &http.Server{
		Addr:              *addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// bareHandler is the least a LINE webhook must do: read the body with a limit, verify
// X-Line-Signature over the raw bytes, parse the events with the SDK, answer 200. It is
// what giftdesk serve is measured against.
func bareHandler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusRequestEntityTooLarge)
			return
		}
		sig := r.Header.Get("X-Line-Signature")
		if sig == "" || !webhook.ValidateSignature(secret, sig, body) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var req webhook.CallbackRequest
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "malformed body", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
