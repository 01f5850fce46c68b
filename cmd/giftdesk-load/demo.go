package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/internal/line/linetest"
)

// demoTurnTimeout bounds the wait for one answer.
const demoTurnTimeout = 10 * time.Second

// A demoStep is what the customer does: type text, or tap the quick-reply button whose
// postback data ends in ":"+option (an option id of flows/giftcard.yaml, so the script
// survives relabelling).
type demoStep struct {
	text   string
	option string
}

// demoConversation is one diagnosis from first words to "solved".
type demoConversation struct {
	title string
	user  string
	lang  string // the customer's LINE profile language
	name  string
	steps []demoStep
}

var demoConversations = []demoConversation{
	{
		title: "日本語 (LINE profile language ja)",
		user:  "U" + strings.Repeat("0", 31) + "1", lang: "ja", name: "山田花子",
		steps: []demoStep{
			{text: "ギフト券が使えません"},
			{option: "expired"},
			{text: "令和2年12月"},
			{option: "solved"},
		},
	},
	{
		title: "English (LINE profile language en)",
		user:  "U" + strings.Repeat("0", 31) + "2", lang: "en", name: "Alex Smith",
		steps: []demoStep{
			{text: "my gift card doesnt work"},
			{option: "checkout_stuck"},
			{text: "3,000 yen"},
			{text: "5000"},
			{option: "solved"},
		},
	},
}

// runDemo is `giftdesk-load demo`.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "giftdesk binary (default: go build ./cmd/giftdesk)")
	keep := fs.Bool("keep", false, "keep the temporary directory (databases, child logs) and print its path")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	dir, err := os.MkdirTemp("", "giftdesk-demo-")
	if err != nil {
		return err
	}
	defer removeUnless(*keep, dir, stderr)
	path, err := giftdeskBinary(ctx, *bin, dir)
	if err != nil {
		return err
	}
	return demo(ctx, path, dir, stdout)
}

// demo plays demoConversations against giftdesk serve (the binary bin, with its database
// in dir) and the fake LINE API with validation on, and prints them. It returns an error
// when an answer is missing, a conversation does not end solved, or giftdesk sent a
// request that LINE would reject.
func demo(ctx context.Context, bin, dir string, w io.Writer) error {
	profiles := map[string]linetest.Profile{}
	for _, c := range demoConversations {
		profiles[c.user] = linetest.Profile{DisplayName: c.name, Language: c.lang}
	}
	fake, err := linetest.Start(linetest.Config{Profiles: profiles})
	if err != nil {
		return err
	}
	defer fake.Close()
	fmt.Fprintln(w, "fake LINE API: every request validated against LINE's OpenAPI document and LINE's limits")

	srv, err := startServe(ctx, "giftdesk serve", bin, dir, "serve.log", filepath.Join(dir, "giftdesk.db"), loadSecret, fake.Token(), fake.URL())
	if err != nil {
		return err
	}
	defer srv.stop(30 * time.Second)
	fmt.Fprintf(w, "giftdesk serve: %s (pid %d)\n", srv.url, srv.cmd.Process.Pid)

	d := &demoPlayer{fake: fake, url: srv.url, ids: newIDSource(rand.New(rand.NewPCG(1, 1))), w: w,
		client: &http.Client{Timeout: requestTimeout}}
	var errs []error
	for _, c := range demoConversations {
		if err := d.play(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.title, err))
			fmt.Fprintf(w, "  !! %v\n", err)
		}
	}
	replies, pushes := fake.Replies(), fake.Pushes()
	refused := 0
	for _, r := range replies {
		if r.Status != http.StatusOK {
			refused++
		}
	}
	verrs := fake.Errors()
	fmt.Fprintf(w, "\nsummary: %d conversations, %d replies (%d refused), %d pushes, %d validation errors\n",
		len(demoConversations), len(replies), refused, len(pushes), len(verrs))
	for _, e := range verrs {
		fmt.Fprintf(w, "  invalid request: %v\n", e)
		errs = append(errs, e)
	}
	if err := srv.stop(30 * time.Second); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// demoPlayer sends a demo customer's events and prints the conversation.
type demoPlayer struct {
	fake   *linetest.Server
	url    string
	ids    *idSource
	client *http.Client
	w      io.Writer
}

func (d *demoPlayer) play(ctx context.Context, c demoConversation) error {
	fmt.Fprintf(d.w, "\n== %s ==\n", c.title)
	cust := &customer{id: c.user, lang: c.lang}
	var last []linetest.Message // the bot's last answer
	sawAdvice := false
	for _, s := range c.steps {
		st := step{text: s.text}
		if s.option != "" {
			a, ok := findOption(last, s.option)
			if !ok {
				return fmt.Errorf("no button for option %q in the last answer", s.option)
			}
			st = step{postback: a.Data}
			fmt.Fprintf(d.w, "customer  [taps] %s   (postback %s)\n", a.Label, a.Data)
		} else {
			fmt.Fprintf(d.w, "customer  %s\n", s.text)
		}
		before := len(d.fake.Delivered(c.user))
		ev := makeEvent(d.ids, cust, st, d.fake.IssueReplyToken(c.user), time.Now())
		body := encodeWebhook(ev)
		status, err := post(ctx, d.client, d.url+"/line/webhook", body, linetest.Sign(loadSecret, body))
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("webhook answered %d", status)
		}
		wctx, cancel := context.WithTimeout(ctx, demoTurnTimeout)
		msgs, err := d.fake.WaitDelivered(wctx, c.user, before+1)
		cancel()
		if err != nil {
			return fmt.Errorf("no answer: %w", err)
		}
		// The answer is one reply; give its other messages no chance to be missed.
		msgs = msgs[before:]
		for _, m := range msgs {
			printMessage(d.w, m)
			sawAdvice = sawAdvice || m.Type == "flex"
		}
		last = msgs
	}
	if !sawAdvice {
		return errors.New("the conversation never reached advice (a Flex bubble)")
	}
	return nil
}

// findOption returns the quick-reply button whose postback data names option.
func findOption(msgs []linetest.Message, option string) (linetest.Action, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, a := range msgs[i].QuickReply {
			if strings.HasSuffix(a.Data, ":"+option) {
				return a, true
			}
		}
	}
	return linetest.Action{}, false
}

// printMessage writes one message as the customer would see it.
func printMessage(w io.Writer, m linetest.Message) {
	const indent = "          "
	switch m.Type {
	case "text":
		fmt.Fprintf(w, "giftdesk  %s\n", strings.ReplaceAll(m.Text, "\n", "\n"+indent))
	case "flex":
		fmt.Fprintf(w, "giftdesk  [Flex bubble, altText %q]\n", m.AltText)
		for _, line := range flexLines(m.Raw) {
			fmt.Fprintf(w, "%s│ %s\n", indent, line)
		}
	default:
		fmt.Fprintf(w, "giftdesk  [%s message]\n", m.Type)
	}
	if len(m.QuickReply) > 0 {
		labels := make([]string, len(m.QuickReply))
		for i, a := range m.QuickReply {
			labels[i] = "[" + a.Label + "]"
		}
		fmt.Fprintf(w, "%s%s\n", indent, strings.Join(labels, " "))
	}
}

// flexComponent is the part of a Flex component the demo prints.
type flexComponent struct {
	Type     string          `json:"type"`
	Layout   string          `json:"layout"`
	Text     string          `json:"text"`
	Contents json.RawMessage `json:"contents"`
	Body     *flexComponent  `json:"body"`
}

// flexLines returns the texts of a Flex message, one line per text or horizontal box
// (so a step's number and text stay together).
func flexLines(raw json.RawMessage) []string {
	var msg struct {
		Contents flexComponent `json:"contents"`
	}
	if json.Unmarshal(raw, &msg) != nil || msg.Contents.Body == nil {
		return nil
	}
	var lines []string
	var walk func(c flexComponent) string
	walk = func(c flexComponent) string {
		switch c.Type {
		case "text":
			return c.Text
		case "box":
			var kids []flexComponent
			_ = json.Unmarshal(c.Contents, &kids)
			if c.Layout == "horizontal" || c.Layout == "baseline" {
				parts := make([]string, 0, len(kids))
				for _, k := range kids {
					if s := walk(k); s != "" {
						parts = append(parts, s)
					}
				}
				return strings.Join(parts, " ")
			}
			for _, k := range kids {
				if s := walk(k); s != "" {
					lines = append(lines, s)
				}
			}
		}
		return ""
	}
	if s := walk(*msg.Contents.Body); s != "" {
		lines = append(lines, s)
	}
	return lines
}
