package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/server"
	"github.com/giftdesk/giftdesk/internal/settle"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestRoutes(t *testing.T) {
	routes := map[string]http.Handler{
		"POST /boom": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail AQ7X-K29PLM-ZR4TW") }),
	}
	tests := []struct {
		name         string
		ready        server.Pinger
		method, path string
		want         int
		body         string
	}{
		{name: "health", method: "GET", path: "/healthz", want: 200, body: "ok"},
		{name: "ready", ready: pinger{}, method: "GET", path: "/readyz", want: 200, body: "ready"},
		{name: "store down", ready: pinger{err: errors.New("database is locked")}, method: "GET", path: "/readyz", want: 503, body: "store unreachable"},
		{name: "panic", method: "POST", path: "/boom", want: 500, body: "internal error"},
		{name: "unknown route", method: "GET", path: "/nope", want: 404},
		{name: "wrong method", method: "GET", path: "/boom", want: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := server.New(server.Config{Routes: routes, Ready: tt.ready}).Handler()
			code, body := get(t, h, tt.method, tt.path)
			if code != tt.want || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s = %d %q, want %d with %q", tt.method, tt.path, code, body, tt.want, tt.body)
			}
			if strings.Contains(body, "K29PLM") || strings.Contains(body, "secret detail") {
				t.Errorf("error body leaks the panic: %q", body)
			}
		})
	}
}

func TestServeDrains(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	s := server.New(server.Config{Routes: map[string]http.Handler{
		"GET /slow": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			io.WriteString(w, "done")
		}),
	}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l, 5*time.Second) }()
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	// Draining: not ready any more, but the request in flight finishes.
	code := 0
	wait, cancelWait := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelWait()
	_ = settle.Until(wait, func() (bool, error) {
		code, _ = get(t, s.Handler(), "GET", "/readyz")
		return code == http.StatusServiceUnavailable, nil
	})
	if code != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining = %d, want 503", code)
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestMaxConns: with MaxConns open connections, the next client is not served until one
// of them closes.
func TestMaxConns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{MaxConns: 2})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })

	request := func(c net.Conn) error {
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err == nil && !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
			err = errors.New("answered " + string(buf[:n]))
		}
		return err
	}
	var conns []net.Conn
	for i := range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
		if i < 2 {
			if err := request(c); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
		}
	}
	// Two keep-alive connections are open: the third waits in the backlog.
	conns[2].SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var ne net.Error
	if err := request(conns[2]); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("third connection over the cap: %v, want no answer", err)
	}
	conns[0].Close()
	conns[2].SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	if n, err := conns[2].Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
		t.Fatalf("third connection after one closed: %q, %v", buf[:n], err)
	}
}

// prober is a store whose pings succeed and whose writes fail while err is set.
type prober struct {
	err    error
	probes int
}

func (p *prober) Ping(context.Context) error { return nil }
func (p *prober) ProbeWrite(context.Context) error {
	p.probes++
	return p.err
}

// TestReadyWhenWritable: /readyz is false while writes fail though pings succeed, probes
// at most once a second, and is true again once writes work.
func TestReadyWhenWritable(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	p := &prober{err: errors.New("database or disk is full")}
	h := server.New(server.Config{Ready: p, Now: func() time.Time { return now }}).Handler()
	steps := []struct {
		name    string
		advance time.Duration
		healthy bool
		want    int
		probes  int
	}{
		{name: "disk full", want: 503, probes: 1},
		{name: "within the second: cached", advance: 500 * time.Millisecond, healthy: true, want: 503, probes: 1},
		{name: "after the second: probed again", advance: 600 * time.Millisecond, healthy: true, want: 200, probes: 2},
		{name: "cached success", advance: 100 * time.Millisecond, want: 200, probes: 2},
		{name: "fails again", advance: 2 * time.Second, want: 503, probes: 3},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if st.healthy {
			p.err = nil
		} else if st.advance > time.Second {
			p.err = errors.New("attempt to write a readonly database")
		}
		code, body := get(t, h, "GET", "/readyz")
		if code != st.want || p.probes != st.probes {
			t.Errorf("%s: /readyz = %d %q after %d probes, want %d after %d", st.name, code, body, p.probes, st.want, st.probes)
		}
	}
}
