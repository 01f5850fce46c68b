package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
	"github.com/giftdesk/giftdesk/internal/redact"
)

// TestServeDeadLetterReadable sends the LINE SDK's own webhook test bodies, with a
// gift-card code typed into every text and one event giftdesk cannot read added, to
// giftdesk serve: the dead letter keeps every key and identifier of the body, its reason
// reads as written, and the code is masked.
func TestServeDeadLetterReadable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "internal", "redact", "testdata", "sdk", "line-bot-sdk-go.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx struct{ Bodies []string }
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	const code = "AQ7X-K29PLM-ZR4TW"
	fake := linetest.New(t, linetest.Config{})
	db := filepath.Join(t.TempDir(), "giftdesk.db")
	s := startServe(t, fake, db, nil)
	var wantKeys, wantIDs []string
	sent := 0
	for _, body := range fx.Bodies {
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		evs, ok := v["events"].([]any)
		if !ok {
			continue
		}
		walk(v, "", func(field string, x any) {
			if s, ok := x.(string); ok && field == "text" {
				x = s + " コードは" + code + "です"
			}
			if redact.Identifier(field) {
				b, _ := json.Marshal(x)
				wantIDs = append(wantIDs, strings.Trim(string(b), `"`))
			}
		}, func(k string) { wantKeys = append(wantKeys, `"`+k+`"`) })
		typeInto(v, code)
		v["events"] = append(evs, map[string]any{"type": "message", "webhookEventId": "01BROKEN", "message": "not an object",
			"source": map[string]any{"type": "user", "userId": "U1"}})
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if code := s.postRaw(b, linetest.Sign(testSecret, b)); code != 200 {
			t.Fatalf("answered %d, want 200", code)
		}
		sent++
	}
	s.waitDrained()
	s.stop()

	dbh, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer dbh.Close()
	rows, err := dbh.Query(`SELECT reason, CAST(body AS TEXT) FROM dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all strings.Builder
	n := 0
	for rows.Next() {
		var reason, body string
		if err := rows.Scan(&reason, &body); err != nil {
			t.Fatal(err)
		}
		n++
		if !strings.HasPrefix(reason, "event ") || strings.Contains(reason, "****") {
			t.Errorf("reason %q, want it as written", reason)
		}
		if !json.Valid([]byte(body)) {
			t.Errorf("dead letter body is no longer JSON:\n%s", body)
		}
		all.WriteString(body)
	}
	if n < sent {
		t.Fatalf("%d dead letters, want one for each of the %d bodies at least", n, sent)
	}
	got := all.String()
	for _, part := range []string{"K29PLM", "AQ7X", "AQ7XK29PLMZR4TW"} {
		if strings.Contains(got, part) {
			t.Errorf("dead letters hold %q", part)
		}
	}
	if !strings.Contains(got, "****-R4TW") {
		t.Errorf("no masked code in the dead letters")
	}
	for _, want := range append(wantKeys, wantIDs...) {
		if !strings.Contains(got, want) {
			t.Errorf("dead letters lost %s", want)
		}
	}
	if len(wantIDs) < 20 {
		t.Errorf("only %d identifiers checked", len(wantIDs))
	}
}

// walk calls f for every scalar of v with the name of its field, and key for every key.
func walk(v any, field string, f func(field string, v any), key func(k string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			key(k)
			walk(x, k, f, key)
		}
	case []any:
		for _, x := range v {
			walk(x, field, f, key)
		}
	default:
		f(field, v)
	}
}

// typeInto appends code to every string field named "text" of v.
func typeInto(v any, code string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "text" {
				v[k] = s + " コードは" + code + "です"
				continue
			}
			typeInto(x, code)
		}
	case []any:
		for _, x := range v {
			typeInto(x, code)
		}
	}
}
