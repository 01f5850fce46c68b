package redact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/redact"
)

// leaves calls f for every scalar of a decoded JSON value with the path of keys to it and
// the name of the field it is the value of (arrays pass their field's name on), and for
// every key.
func leaves(v any, field string, path string, f func(path, field string, v any), key func(path, k string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			key(path, k)
			leaves(x, k, path+"/"+k, f, key)
		}
	case []any:
		for _, x := range v {
			leaves(x, field, path+"[]", f, key)
		}
	default:
		f(path, field, v)
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

// TestBodySDKFixtures runs the webhook bodies of the LINE and Slack SDKs' own tests
// through the dead-letter mask: every key and every identifier survives unchanged and the
// result is still JSON; with a gift-card code typed into each text, the code is masked
// and the rest still survives.
func TestBodySDKFixtures(t *testing.T) {
	mask := redact.Body(flows.RedactCodes)
	const code = "AQ7X-K29PLM-ZR4TW"
	for file, bodies := range fixtures(t) {
		for i, body := range bodies {
			check := func(t *testing.T, in string) string {
				out := mask(in)
				before, after := decode(t, in), decode(t, out)
				keys := map[string]int{}
				leaves(before, "", "", func(string, string, any) {}, func(p, k string) { keys[p+"/"+k]++ })
				leaves(after, "", "", func(string, string, any) {}, func(p, k string) { keys[p+"/"+k]-- })
				for k, n := range keys {
					if n != 0 {
						t.Errorf("key %s lost or changed:\n%s", k, out)
					}
				}
				var ids []string
				leaves(before, "", "", func(_, field string, v any) {
					if redact.Identifier(field) {
						ids = append(ids, jsonText(v))
					}
				}, func(string, string) {})
				for _, id := range ids {
					if !strings.Contains(out, id) {
						t.Errorf("identifier %s lost:\n%s", id, out)
					}
				}
				return out
			}
			t.Run(file+"/"+string(rune('a'+i%26))+strings.Repeat("'", i/26), func(t *testing.T) {
				check(t, body)
				// The same body with a code typed into every text.
				v := decode(t, body)
				n := typeCode(v, code)
				if n == 0 {
					return
				}
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				out := check(t, string(b))
				for _, part := range []string{"K29PLM", "AQ7X", strings.ReplaceAll(code, "-", "")} {
					if strings.Contains(out, part) {
						t.Errorf("code part %q survives:\n%s", part, out)
					}
				}
				if got := strings.Count(out, "****-R4TW"); got != n {
					t.Errorf("%d masked codes, want %d:\n%s", got, n, out)
				}
			})
		}
	}
}

// typeCode appends code to every string field named "text" of v and returns how many.
func typeCode(v any, code string) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "text" {
				v[k] = s + " コードは" + code + "です"
				n++
				continue
			}
			n += typeCode(x, code)
		}
	case []any:
		for _, x := range v {
			n += typeCode(x, code)
		}
	}
	return n
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

func TestBody(t *testing.T) {
	mask := redact.Body(flows.RedactCodes)
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", `{"events":[{"text":"AQ7X-K29PLM-ZR4TW"`, `{"events":[{"text":"****-R4TW"`},
		{"form", "payload=%7B%22text%22%3A%22AQ7X-K29PLM-ZR4TW%22%7D", "payload=%7B%22text%22%3A%22****-R4TW%22%7D"},
		{"text value", `{"text": "コードは AQ7X K29PLM ZR4TW です"}`, `{"text": "コードは ****-R4TW です"}`},
		{"full width", `{"text":"ＡＱ７Ｘ－Ｋ２９ＰＬＭ－ＺＲ４ＴＷ"}`, `{"text":"****-R4TW"}`},
		{"escaped newline", `{"text":"AQ7X\nK29PLM\nZR4TW"}`, `{"text":"****-R4TW"}`},
		{"card number", `{"text":"1234567812345678"}`, `{"text":"****-5678"}`},
		{"number value", `{"amount":1234567812345678}`, `{"amount":****-5678}`},
		{"identifiers", `{"event_ts":"1515449522000016","dm":"1234567890abcdef","unfurl_id":"Uxxxxxxx-909b5454-75f8-4ac4-b325-1b40e230bbd8-gryl3kb80b3wm49ihzoo35fyqoq08n2y","timestamp":1462629479859}`,
			`{"event_ts":"1515449522000016","dm":"1234567890abcdef","unfurl_id":"Uxxxxxxx-909b5454-75f8-4ac4-b325-1b40e230bbd8-gryl3kb80b3wm49ihzoo35fyqoq08n2y","timestamp":1462629479859}`},
		{"array of ids", `{"userIds":["1234567890abcdef"],"texts":["1234567890abcdef"]}`, `{"userIds":["1234567890abcdef"],"texts":["****-CDEF"]}`},
		{"keys", `{"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":false},"message_ts":"1"}`,
			`{"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":false},"message_ts":"1"}`},
		{"after nested object", `{"source":{"userId":"U1"},"text":"AQ7XK29PLMZR4TW"}`, `{"source":{"userId":"U1"},"text":"****-R4TW"}`},
		{"code as a key", `{"AQ7X-K29PLM-ZR4TW":1}`, `{"****-R4TW":1}`},
		{"top-level array", `["AQ7XK29PLMZR4TW", {"id":"AQ7XK29PLMZR4TW1"}]`, `["****-R4TW", {"id":"AQ7XK29PLMZR4TW1"}]`},
		{"empty", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mask(tt.in); got != tt.want {
				t.Errorf("Body(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzBody: a JSON body stays JSON, masking is idempotent, and a text typed by a customer
// is masked exactly as the whole-body mask masks it.
func FuzzBody(f *testing.F) {
	f.Add(`{"a":"b"}`, "AQ7X-K29PLM-ZR4TW")
	f.Add(`{"events":[{"message":{"text":"x"}}]}`, "ｂ１２Ｃ ＤＥＦ４５６ ７８９ＡＢ")
	f.Add(`[1, "x", {"id": ["y"]}]`, "AQ7X\u200bK29PLM\u200bZR4TW")
	mask := redact.Body(flows.RedactCodes)
	f.Fuzz(func(t *testing.T, body, typed string) {
		out := mask(body)
		if json.Valid([]byte(body)) && strings.HasPrefix(strings.TrimSpace(body), "{") && !json.Valid([]byte(out)) {
			t.Fatalf("Body(%q) = %q: no longer JSON", body, out)
		}
		if again := mask(out); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		// Value by value, a typed text is masked exactly as masking the whole body
		// masks it: no code that the whole-body mask (flows.RedactCodes, held to the
		// code reader by its own tests) would catch survives.
		b, _ := json.Marshal(map[string]any{"events": []any{map[string]any{"id": "1", "text": typed}}})
		if out, whole := mask(string(b)), flows.RedactCodes(string(b)); out != whole {
			t.Fatalf("body %s\nmasked value by value: %s\nmasked whole:          %s", b, out, whole)
		}
	})
}
