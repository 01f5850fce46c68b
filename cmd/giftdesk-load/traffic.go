package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// botDestination is the bot's user id in every webhook body.
const botDestination = "U00000000000000000000000000000b0f"

// encodeWebhook returns the body of a webhook request carrying one event.
func encodeWebhook(ev linetest.Event) []byte {
	return linetest.Body(botDestination, ev)
}

// A step is one thing a customer does: type text, tap a button (postback data), or add
// the bot as a friend. Text may hold placeholders that are filled in at random:
// {code} a gift-card code, {date} an issue date, {amount} an amount of yen.
type step struct {
	text     string
	postback string
	follow   bool
}

func say(s string) step { return step{text: s} }
func tap(s string) step { return step{postback: s} }
func followStep() step  { return step{follow: true} }
func (s step) kind() string {
	switch {
	case s.follow:
		return "follow"
	case s.postback != "":
		return "postback"
	}
	return "text"
}

// scripts are the conversations customers have, by profile language. Postback data is
// what giftdesk puts on its quick-reply buttons, "o:<node>:<option>" (bot/engine.go), with
// node and option ids from flows/giftcard.yaml. Where the node a customer reaches depends
// on a decision (an expiry date, a code's format), the answer is typed, as free text works
// at every node. Every event gets an answer: a tap on an outdated button or words the bot
// does not understand are answered too.
var scripts = map[string][][]step{
	"ja": {
		{say("アマギフが使えない"), tap("o:start:register"), tap("o:ask_device_register:smartphone"),
			tap("o:advice_register_phone:not_solved"), tap("o:ask_register_error:registered"), say("はい、解決しました")},
		{say("期限切れかも"), say("{date}"), say("はい、解決しました")},
		{say("レジで先に進めない"), say("{amount}"), say("{amount}"), say("はい、解決しました")},
		{say("コードが無効と出ます"), say("{code}"), say("いいえ、まだです"), say("まだ無効です"), say("はい、解決しました")},
		{say("ギフト券が使えません"), tap("o:start:already_used"), tap("o:used_cause:self"), say("いいえ、まだです"), say("はい")},
	},
	"en": {
		{say("my gift card doesnt work"), tap("o:start:register"), tap("o:ask_device_register:pc"), say("yes, solved")},
		{say("my gift card doesnt work"), tap("o:start:invalid_code"), say("{code}"), say("No, not yet"), say("still invalid"), say("yes, solved")},
		{say("gift card expired?"), say("{date}"), say("yes, solved")},
		{say("my gift card doesnt work"), tap("o:start:checkout_stuck"), say("{amount}"), say("{amount}"), say("Yes, solved")},
	},
}

// Typed values, as customers write them.
var (
	datesJA   = []string{"平成28年5月", "2019年5月10日", "2023/4/1", "令和2年12月", "令和5年8月", "2021年7月7日"}
	datesEN   = []string{"2016/5/10", "2019-05-10", "2023/4/1", "2020/12/24", "2021-7-7"}
	amountsJA = []string{"3,000円", "5000", "１０，０００円", "2,500円", "1万円", "¥3,980"}
	amountsEN = []string{"3000", "5,000 yen", "¥2,500", "10000", "3,980"}
)

// fill replaces the placeholders of a typed text with random values.
func fill(r *rand.Rand, lang, text string) string {
	if !strings.Contains(text, "{") {
		return text
	}
	dates, amounts := datesJA, amountsJA
	if lang == "en" {
		dates, amounts = datesEN, amountsEN
	}
	text = strings.ReplaceAll(text, "{date}", dates[r.IntN(len(dates))])
	text = strings.ReplaceAll(text, "{amount}", amounts[r.IntN(len(amounts))])
	return strings.ReplaceAll(text, "{code}", randomCode(r))
}

// randomCode returns an Amazon-style gift-card code such as ABCD-EFGH12-JKLM3, written
// with hyphens, spaces or nothing between the groups.
func randomCode(r *rand.Rand) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	groups := []int{4, 6, 5}
	sep := []string{"-", "-", " ", ""}[r.IntN(4)]
	var b strings.Builder
	for i, n := range groups {
		if i > 0 {
			b.WriteString(sep)
		}
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
	}
	return b.String()
}

// customer is one simulated LINE user. A customer is driven by one connection at a time,
// so its events are sent in order, each after the previous one was acknowledged.
type customer struct {
	id     string
	lang   string
	script int
	step   int
	first  bool // nothing sent yet
	follow bool // the first event is a follow (the customer adds the bot as a friend)
}

// newCustomers returns n customers; about three in four have a Japanese profile, and
// about one in five starts by adding the bot as a friend.
func newCustomers(r *rand.Rand, n int) []*customer {
	out := make([]*customer, n)
	for i := range out {
		lang := "ja"
		if r.IntN(4) == 0 {
			lang = "en"
		}
		out[i] = &customer{
			id:     fmt.Sprintf("U%032x", uint64(i+1)*0x9e3779b97f4a7c15),
			lang:   lang,
			script: r.IntN(len(scripts[lang])),
			first:  true,
			follow: r.IntN(5) == 0,
		}
	}
	return out
}

// next returns the customer's next step and advances: through its script, then to
// another script.
func (c *customer) next(r *rand.Rand) step {
	if c.first {
		c.first = false
		if c.follow {
			return followStep()
		}
	}
	list := scripts[c.lang]
	s := list[c.script][c.step]
	c.step++
	if c.step == len(list[c.script]) {
		c.step = 0
		c.script = r.IntN(len(list))
	}
	if s.text != "" {
		s.text = fill(r, c.lang, s.text)
	}
	return s
}

// idSource numbers events and messages. It is safe for concurrent use.
type idSource struct {
	prefix string
	n      atomic.Int64
}

func newIDSource(r *rand.Rand) *idSource {
	return &idSource{prefix: fmt.Sprintf("01J%04X", r.IntN(1<<16))}
}

// eventID returns a webhookEventId shaped like LINE's (26 characters, a ULID).
func (s *idSource) eventID() string {
	return s.prefix + fmt.Sprintf("%019d", s.n.Add(1))
}

// messageID returns a message id, digits like LINE's.
func (s *idSource) messageID() string {
	return strconv.FormatInt(500000000000000000+s.n.Add(1), 10)
}

// makeEvent builds the webhook event for a customer's step, numbered by ids.
func makeEvent(ids *idSource, c *customer, s step, replyToken string, now time.Time) linetest.Event {
	var ev linetest.Event
	switch {
	case s.follow:
		ev = linetest.FollowEvent(c.id, replyToken, now)
	case s.postback != "":
		ev = linetest.PostbackEvent(c.id, s.postback, replyToken, now)
	default:
		ev = linetest.TextEvent(c.id, s.text, replyToken, now)
		ev.Message.ID = ids.messageID()
	}
	ev.WebhookEventID = ids.eventID()
	return ev
}

// randomToken returns 32 hexadecimal digits, like LINE's reply and quote tokens.
func randomToken() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}
