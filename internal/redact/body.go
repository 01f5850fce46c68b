package redact

import (
	"encoding/json"
	"strings"
)

// Body returns a function that masks gift-card codes in a request body kept for an
// operator (a dead letter) while leaving it readable and replayable. When the body is a
// JSON object or array, it is masked value by value, byte for byte otherwise unchanged:
//
//   - every string and number passes through codes, keys included (codes leaves the
//     keys LINE and Slack use, camelCase and snake_case words, alone);
//   - the values of identifier fields are kept as they are (see Identifier): ids,
//     timestamps and device data that the platforms make, never a customer's words, and
//     which an operator needs to find and replay the event.
//
// A body that is not JSON (a form, a truncated body) passes through codes whole. A code
// never spans two JSON values (a quote is not a separator between code groups), so masking
// value by value finds every code that masking the whole body would. The returned
// function is safe for concurrent use when codes is.
func Body(codes func(string) string) func(string) string {
	return func(s string) string {
		t := strings.TrimLeft(s, " \t\r\n")
		if t == "" || t[0] != '{' && t[0] != '[' || !json.Valid([]byte(s)) {
			return codes(s)
		}
		return maskJSON(s, codes)
	}
}

// Identifier reports whether a JSON field named key holds an identifier the platform made:
// "id", "ts", "timestamp", a name ending in "Id", "ID", "Ids", "_id", "_ids", "_ts" or
// "Timestamp"/"_timestamp", LINE's "destination", and a beacon's "hwid" and "dm" (device
// data in hex). Customer text (LINE's "text", postback "data", Slack's "text" and
// "value") is never under such a name.
func Identifier(key string) bool {
	switch key {
	case "id", "ts", "timestamp", "destination", "hwid", "dm":
		return true
	}
	for _, suffix := range []string{"Id", "ID", "Ids", "IDs", "_id", "_ids", "_ts", "Timestamp", "_timestamp"} {
		if len(key) > len(suffix) && strings.HasSuffix(key, suffix) {
			return true
		}
	}
	return false
}

// maskJSON masks the values of s, which must be valid JSON, as Body describes.
func maskJSON(s string, codes func(string) string) string {
	type frame struct {
		object bool
		key    string // the field an array is the value of; arrays inherit it
	}
	var (
		b     strings.Builder
		stack []frame
		key   string // in an object: the last key read
	)
	b.Grow(len(s))
	valueKey := func() string {
		if len(stack) == 0 {
			return ""
		}
		if top := stack[len(stack)-1]; !top.object {
			return top.key
		}
		return key
	}
	value := func(tok string) {
		if Identifier(valueKey()) {
			b.WriteString(tok)
		} else {
			b.WriteString(codes(tok))
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n', ',', ':':
			b.WriteByte(c)
			i++
		case '{', '[':
			stack = append(stack, frame{object: c == '{', key: valueKey()})
			key = ""
			b.WriteByte(c)
			i++
		case '}', ']':
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				key = "" // the object's field is done; its key is not needed again
			}
			b.WriteByte(c)
			i++
		case '"':
			j := stringEnd(s, i)
			tok := s[i:j]
			if len(stack) > 0 && stack[len(stack)-1].object && nextIsColon(s, j) {
				if err := json.Unmarshal([]byte(tok), &key); err != nil {
					key = ""
				}
				b.WriteString(codes(tok))
			} else {
				value(tok)
			}
			i = j
		default: // a number, true, false or null
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n,:]}", rune(s[j])) {
				j++
			}
			value(s[i:j])
			i = j
		}
	}
	return b.String()
}

// stringEnd returns the index just past the JSON string that starts at s[i] == '"'.
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// nextIsColon reports whether the first character of s[j:] that is not white space is ':'.
func nextIsColon(s string, j int) bool {
	for ; j < len(s); j++ {
		switch s[j] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return s[j] == ':'
	}
	return false
}
