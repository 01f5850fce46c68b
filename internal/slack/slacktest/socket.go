package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// Envelope is a Socket Mode request to send to the app.
type Envelope struct {
	// ID is the envelope_id; empty means a new one. A redelivery repeats the ID.
	ID string
	// Type is "events_api", "interactive" or "slash_commands".
	Type         string
	Payload      json.RawMessage
	RetryAttempt int
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// socket is the Socket Mode WebSocket that apps.connections.open points to. It greets
// with hello, pings so that the client knows the connection is alive, and records acks.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s.connMu.Lock()
	err = conn.WriteJSON(map[string]any{
		"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": AppID},
		"debug_info":      map[string]any{"host": "slacktest"},
	})
	s.connMu.Unlock()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conn = conn
	s.notify()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.conn == conn {
			s.conn = nil
		}
		s.mu.Unlock()
	}()
	done := make(chan struct{})
	defer close(done)
	go s.ping(conn, done)
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := conn.ReadJSON(&ack); err != nil {
			return
		}
		if ack.EnvelopeID == "" {
			continue
		}
		if ack.Payload == nil {
			ack.Payload = json.RawMessage("null")
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = ack.Payload
		s.notify()
		s.mu.Unlock()
	}
}

func (s *Server) ping(conn *websocket.Conn, done chan struct{}) {
	t := time.NewTicker(s.pingsTo)
	defer t.Stop()
	for {
		s.connMu.Lock()
		err := conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
		s.connMu.Unlock()
		if err != nil {
			return
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// WaitConnected waits until an app holds a Socket Mode connection.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.wait(ctx, func() bool { return s.conn != nil })
}

// Send sends e over the Socket Mode connection, waiting for one if need be, and returns
// its envelope_id.
func (s *Server) Send(ctx context.Context, e Envelope) (string, error) {
	var conn *websocket.Conn
	if err := s.wait(ctx, func() bool { conn = s.conn; return conn != nil }); err != nil {
		return "", err
	}
	if e.ID == "" {
		s.mu.Lock()
		e.ID = s.id("env-")
		s.mu.Unlock()
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	err := conn.WriteJSON(map[string]any{
		"envelope_id": e.ID, "type": e.Type, "payload": e.Payload,
		"accepts_response_payload": e.Type != "events_api",
		"retry_attempt":            e.RetryAttempt, "retry_reason": retryReason(e.RetryAttempt),
	})
	if err != nil {
		return "", errors.New("slacktest: write envelope: " + err.Error())
	}
	return e.ID, nil
}

func retryReason(attempt int) string {
	if attempt > 0 {
		return "timeout"
	}
	return ""
}

// WaitAck waits until the app acknowledges envelope id and returns the ack's payload
// ("null" for none).
func (s *Server) WaitAck(ctx context.Context, id string) (json.RawMessage, error) {
	var p json.RawMessage
	err := s.wait(ctx, func() bool {
		var ok bool
		p, ok = s.acks[id]
		return ok
	})
	return p, err
}

// Acked reports whether the app acknowledged envelope id.
func (s *Server) Acked(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.acks[id]
	return ok
}
