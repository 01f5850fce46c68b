package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

func TestServeEdgeConfig(t *testing.T) {
	line := map[string]string{"LINE_CHANNEL_SECRET": "a", "LINE_CHANNEL_ACCESS_TOKEN": "b"}
	tests := []struct {
		name  string
		env   map[string]string
		want  string // in the error; empty for none
		check func(serveConfig) bool
	}{
		{name: "defaults", check: func(c serveConfig) bool {
			return c.WebhookMemory == 64<<20 && c.WebhookReads == 256 && c.KeepAlive == 30*time.Second &&
				c.HeaderTimeout == 5*time.Second && c.MaxConns >= 64 && c.MaxConns <= 8192
		}},
		{name: "memory in MiB", env: map[string]string{"GIFTDESK_WEBHOOK_MEMORY": "128MiB"}, check: func(c serveConfig) bool { return c.WebhookMemory == 128<<20 }},
		{name: "memory in bytes", env: map[string]string{"GIFTDESK_WEBHOOK_MEMORY": "2097152"}, check: func(c serveConfig) bool { return c.WebhookMemory == 2<<20 }},
		{name: "memory under one body", env: map[string]string{"GIFTDESK_WEBHOOK_MEMORY": "512KiB"}, want: "GIFTDESK_WEBHOOK_MEMORY"},
		{name: "memory unit unknown", env: map[string]string{"GIFTDESK_WEBHOOK_MEMORY": "64MB"}, want: "GIFTDESK_WEBHOOK_MEMORY"},
		{name: "reads", env: map[string]string{"GIFTDESK_WEBHOOK_READS": "32"}, check: func(c serveConfig) bool { return c.WebhookReads == 32 }},
		{name: "reads zero", env: map[string]string{"GIFTDESK_WEBHOOK_READS": "0"}, want: "GIFTDESK_WEBHOOK_READS"},
		{name: "connections", env: map[string]string{"GIFTDESK_MAX_CONNS": "100"}, check: func(c serveConfig) bool { return c.MaxConns == 100 }},
		{name: "connections too few", env: map[string]string{"GIFTDESK_MAX_CONNS": "3"}, want: "GIFTDESK_MAX_CONNS"},
		{name: "connections over the open-files limit", env: map[string]string{"GIFTDESK_MAX_CONNS": "1000000000"}, want: "open-files limit"},
		{name: "keep-alive", env: map[string]string{"GIFTDESK_KEEPALIVE_TIMEOUT": "5s"}, check: func(c serveConfig) bool { return c.KeepAlive == 5*time.Second }},
		{name: "header timeout malformed", env: map[string]string{"GIFTDESK_HEADER_TIMEOUT": "soon"}, want: "GIFTDESK_HEADER_TIMEOUT"},
		{name: "metrics address", env: map[string]string{"GIFTDESK_METRICS_ADDR": "127.0.0.1:9090"}, check: func(c serveConfig) bool { return c.MetricsAddr == "127.0.0.1:9090" }},
		{name: "metrics address malformed", env: map[string]string{"GIFTDESK_METRICS_ADDR": "9090"}, want: "GIFTDESK_METRICS_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadServeConfig(func(k string) string {
				if v, ok := tt.env[k]; ok {
					return v
				}
				return line[k]
			})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			case tt.check != nil && !tt.check(c):
				t.Errorf("config %+v", c)
			}
		})
	}
}

// TestServeMetricsListener: with GIFTDESK_METRICS_ADDR, /metrics is served there and not
// on the public listener.
// TestURLErrorsWithoutCredentials: a malformed API URL is named in the start-up error
// without its user and password.
func TestURLErrorsWithoutCredentials(t *testing.T) {
	tests := []struct {
		name, key, value string
	}{
		{name: "LINE, wrong scheme", key: "LINE_API_BASE_URL", value: "ftp://admin:hunter2secret@line.example"},
		{name: "LINE, no scheme", key: "LINE_API_BASE_URL", value: "admin:hunter2secret@line.example"},
		{name: "LINE, unparsable", key: "LINE_API_BASE_URL", value: "http://admin:hunter2secret@line example/%zz"},
		{name: "Slack, no trailing slash", key: "SLACK_API_URL", value: "https://admin:hunter2secret@slack.example/api"},
		{name: "Slack, user only", key: "SLACK_API_URL", value: "ftp://hunter2secret@slack.example/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"LINE_CHANNEL_SECRET": "a", "LINE_CHANNEL_ACCESS_TOKEN": "b",
				"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", tt.key: tt.value}
			_, err := loadServeConfig(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("error %v, want one naming %s", err, tt.key)
			}
			if strings.Contains(err.Error(), "hunter2secret") || strings.Contains(err.Error(), "admin") {
				t.Errorf("error shows the credentials: %v", err)
			}
		})
	}
}

func TestServeMetricsListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	fake := linetest.New(t, linetest.Config{})
	var logs syncBuffer
	s := startServeWith(t, fake, map[string]string{
		"GIFTDESK_DB": filepath.Join(t.TempDir(), "giftdesk.db"), "LINE_CHANNEL_SECRET": testSecret,
		"LINE_CHANNEL_ACCESS_TOKEN": fake.Token(), "LINE_API_BASE_URL": fake.URL(), "GIFTDESK_METRICS_ADDR": addr,
	}, &logs)
	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics answered %d, want 404", res.StatusCode)
	}
	var body []byte
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; <-tick.C {
		res, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics on %s: %v", addr, err)
		}
	}
	if !strings.Contains(string(body), "giftdesk_inbox_pending_events") {
		t.Errorf("metrics listener serves no giftdesk metrics:\n%.500s", body)
	}
}
