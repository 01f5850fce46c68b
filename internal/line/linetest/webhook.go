package linetest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Sign returns the X-Line-Signature LINE sends with body: the base64 of the HMAC-SHA256
// of the raw bytes, keyed with the channel secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// The wire form of a LINE webhook as LINE sends it to a bot (see testdata/webhook.yml):
// what giftdesk reads and what LINE sends besides (destination, mode, deliveryContext,
// quoteToken).
type (
	// Webhook is the body of one webhook request.
	Webhook struct {
		Destination string  `json:"destination"`
		Events      []Event `json:"events"`
	}
	// Event is one webhook event; exactly one of Message, Postback and Follow is set,
	// matching Type.
	Event struct {
		Type            string         `json:"type"`
		Mode            string         `json:"mode"`
		Timestamp       int64          `json:"timestamp"`
		WebhookEventID  string         `json:"webhookEventId"`
		DeliveryContext EventDelivery  `json:"deliveryContext"`
		Source          EventSource    `json:"source"`
		ReplyToken      string         `json:"replyToken,omitempty"`
		Message         *EventMessage  `json:"message,omitempty"`
		Postback        *EventPostback `json:"postback,omitempty"`
		Follow          *EventFollow   `json:"follow,omitempty"`
	}
	// EventDelivery is an event's deliveryContext.
	EventDelivery struct {
		IsRedelivery bool `json:"isRedelivery"`
	}
	// EventSource is an event's source: a user.
	EventSource struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	}
	// EventMessage is the message of a message event.
	EventMessage struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		Text       string `json:"text"`
		QuoteToken string `json:"quoteToken"`
	}
	// EventPostback is the postback of a postback event.
	EventPostback struct {
		Data string `json:"data"`
	}
	// EventFollow is the follow of a follow event.
	EventFollow struct {
		IsUnblocked bool `json:"isUnblocked"`
	}
)

// Body returns the JSON body of a webhook request to the bot destination carrying events.
func Body(destination string, events ...Event) []byte {
	if events == nil {
		events = []Event{} // LINE sends "events": [] to verify a webhook URL
	}
	body, err := json.Marshal(Webhook{Destination: destination, Events: events})
	if err != nil {
		panic("linetest: encode webhook: " + err.Error()) // strings, numbers and bools always encode
	}
	return body
}

// userEvent returns an active, first-delivery event of typ from userID at time at, with a
// fresh webhook event id.
func userEvent(typ, userID, replyToken string, at time.Time) Event {
	return Event{
		Type:           typ,
		Mode:           "active",
		Timestamp:      at.UnixMilli(),
		WebhookEventID: NewEventID(),
		Source:         EventSource{Type: "user", UserID: userID},
		ReplyToken:     replyToken,
	}
}

// TextEvent returns the message event of a text that userID sent at time at, with a fresh
// webhook event id, message id and quote token. replyToken may be empty.
func TextEvent(userID, text, replyToken string, at time.Time) Event {
	ev := userEvent("message", userID, replyToken, at)
	ev.Message = &EventMessage{Type: "text", ID: newMessageID(), Text: text, QuoteToken: randomHex(16)}
	return ev
}

// PostbackEvent returns the postback event of userID tapping a button with data at time at.
func PostbackEvent(userID, data, replyToken string, at time.Time) Event {
	ev := userEvent("postback", userID, replyToken, at)
	ev.Postback = &EventPostback{Data: data}
	return ev
}

// FollowEvent returns the follow event of userID adding the bot as a friend at time at.
func FollowEvent(userID, replyToken string, at time.Time) Event {
	ev := userEvent("follow", userID, replyToken, at)
	ev.Follow = &EventFollow{}
	return ev
}

// NewEventID returns a random webhook event id shaped like LINE's: 26 characters of a
// ULID.
func NewEventID() string {
	return "01" + strings.ToUpper(randomHex(12))
}

// newMessageID returns a random message id, 18 digits like LINE's.
func newMessageID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return strconv.FormatUint(100000000000000000+n%800000000000000000, 10)
}
