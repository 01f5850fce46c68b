package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// slowConfig configures giftdesk-load slow.
type slowConfig struct {
	Bin     string
	Dir     string
	Clients int           // slow clients sending a body with a wrong signature
	Size    int           // each body's length
	Spread  time.Duration // how long each client takes to send its body
	Idle    int           // idle keep-alive connections, after the slow clients
	Hold    time.Duration // how long the idle connections are held
	Env     []string
}

// runSlow measures giftdesk serve's memory under unauthenticated load: slow clients each
// sending a large body with a wrong signature, then many idle keep-alive connections.
func runSlow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("slow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := slowConfig{}
	fs.StringVar(&cfg.Bin, "bin", "", "giftdesk binary (default: go build ./cmd/giftdesk)")
	fs.IntVar(&cfg.Clients, "clients", 1500, "slow clients, each sending one body with a wrong signature")
	fs.IntVar(&cfg.Size, "size", 1<<20, "body length in bytes")
	fs.DurationVar(&cfg.Spread, "spread", 8*time.Second, "how long each client takes to send its body")
	fs.IntVar(&cfg.Idle, "idle", 8000, "idle keep-alive connections opened afterwards (0: none)")
	fs.DurationVar(&cfg.Hold, "hold", 3*time.Second, "how long the idle connections are held before RSS is read")
	keep := fs.Bool("keep", false, "keep the temporary directory (database, child log) and print its path")
	var env envList
	fs.Var(&env, "serve-env", "KEY=VALUE setting for giftdesk serve (repeatable)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	cfg.Env = env
	switch {
	case cfg.Clients < 1 || cfg.Clients > 10_000:
		return fmt.Errorf("--clients=%d: want 1 to 10,000", cfg.Clients)
	case cfg.Size < 1 || cfg.Size > 16<<20:
		return fmt.Errorf("--size=%d: want 1 to 16 MiB", cfg.Size)
	case cfg.Spread <= 0 || cfg.Spread > time.Minute || cfg.Hold < 0 || cfg.Hold > time.Minute:
		return errors.New("--spread and --hold: want at most 1m")
	case cfg.Idle < 0 || cfg.Idle > 30_000:
		return fmt.Errorf("--idle=%d: want 0 to 30,000", cfg.Idle)
	}
	dir, err := os.MkdirTemp("", "giftdesk-slow-")
	if err != nil {
		return err
	}
	defer removeUnless(*keep, dir, stderr)
	cfg.Dir = dir
	if cfg.Bin, err = giftdeskBinary(ctx, cfg.Bin, dir); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	return measureSlow(ctx, cfg, stdout)
}

func measureSlow(ctx context.Context, cfg slowConfig, w io.Writer) error {
	// Nothing is ever delivered (no request is authentic): the LINE API address is never
	// called.
	srv, err := startServe(ctx, "giftdesk serve", cfg.Bin, cfg.Dir, "serve.log", cfg.Dir+"/slow.db",
		"slow-test-channel-secret", "slow-test-token", "http://127.0.0.1:9", cfg.Env...)
	if err != nil {
		return err
	}
	defer srv.stop(10 * time.Second)
	addr := strings.TrimPrefix(srv.url, "http://")
	base, _ := srv.rss()
	fmt.Fprintf(w, "giftdesk serve: %s, RSS at start %d MB\n", cfg.Bin, base>>20)

	// Slow clients: all connect, send their headers, then their bodies in 16 pieces over
	// --spread.
	wrong := base64.StdEncoding.EncodeToString(make([]byte, 32))
	chunk := make([]byte, (cfg.Size+15)/16)
	for i := range chunk {
		chunk[i] = 'x'
	}
	var mu sync.Mutex
	statuses := map[string]int{}
	count := func(s string) { mu.Lock(); statuses[s]++; mu.Unlock() }
	var wg sync.WaitGroup
	dials := make(chan struct{}, 128) // connects at once
	start := time.Now()
	for range cfg.Clients {
		wg.Go(func() {
			dials <- struct{}{}
			c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
			<-dials
			if err != nil {
				count("dial error")
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(cfg.Spread + 30*time.Second))
			head := fmt.Sprintf("POST /line/webhook HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
				"X-Line-Signature: %s\r\nContent-Length: %d\r\n\r\n", addr, wrong, cfg.Size)
			answered := make(chan string, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					answered <- "no answer"
					return
				}
				resp.Body.Close()
				answered <- resp.Status
			}()
			if _, err := io.WriteString(c, head); err != nil {
				count("write error")
				return
			}
			sent := 0
			tick := time.NewTicker(cfg.Spread / 16)
			defer tick.Stop()
			for sent < cfg.Size {
				select {
				case s := <-answered: // refused before the body was sent
					count(s)
					return
				case <-ctx.Done():
					count("timeout")
					return
				case <-tick.C:
				}
				n := min(len(chunk), cfg.Size-sent)
				if _, err := c.Write(chunk[:n]); err != nil {
					count((<-answered) + " (body cut)")
					return
				}
				sent += n
			}
			count(<-answered)
		})
	}
	// Read the peak while the clients send.
	var peakDuring int64
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if r, err := srv.rss(); err == nil {
				peakDuring = max(peakDuring, r)
			}
		}
	}
	hwm, err := srv.peakRSS()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d slow clients, %d-byte bodies with a wrong signature over %v, took %v\n",
		cfg.Clients, cfg.Size, cfg.Spread, time.Since(start).Round(time.Millisecond))
	for s, n := range statuses {
		fmt.Fprintf(w, "  %6d  %s\n", n, s)
	}
	fmt.Fprintf(w, "peak RSS (VmHWM) %d MB\n", hwm>>20)
	if !srv.running() {
		return fmt.Errorf("giftdesk serve died: %v", srv.exitError())
	}
	if cfg.Idle == 0 {
		return nil
	}

	// Idle keep-alive connections: each sends one request and stays open.
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	failed := 0
	for range cfg.Idle {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			failed++
			continue
		}
		idle = append(idle, c)
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
			failed++
		}
	}
	answered := 0
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
			answered++
		}
	}
	select {
	case <-time.After(cfg.Hold):
	case <-ctx.Done():
		return ctx.Err()
	}
	now, err := srv.rss()
	if err != nil {
		return err
	}
	hwm, _ = srv.peakRSS()
	fmt.Fprintf(w, "%d idle keep-alive connections (%d answered, %d failed to open or send): RSS %d MB, peak RSS %d MB\n",
		cfg.Idle, answered, failed, now>>20, hwm>>20)
	return nil
}
