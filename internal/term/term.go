// Package term is the terminal channel: it runs a conversation on standard input and
// output, for local development, demos and scripted golden transcripts.
package term

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/giftdesk/giftdesk/bot"
)

// Config configures a terminal chat.
type Config struct {
	Bot  *bot.Bot
	Key  bot.Key
	Lang bot.Lang // the customer's language for a new conversation; empty: detect
	In   io.Reader
	Out  io.Writer
	// Interactive shows a prompt before each answer. Otherwise answers are echoed, so the
	// output of a scripted run reads as a transcript.
	Interactive bool
	// Redact masks gift-card codes in echoed answers; default: echo nothing of the line.
	Redact func(string) string
}

// Run chats until In ends or the customer types "exit". Each line is an answer: an option
// number, an option label, or free text. A stored conversation is resumed where it was.
func Run(ctx context.Context, cfg Config) error {
	w := bufio.NewWriter(cfg.Out)
	defer w.Flush()
	c, out, ok, err := cfg.Bot.Resume(ctx, cfg.Key)
	if err != nil {
		return err
	}
	if ok {
		fmt.Fprintln(w, resumed(c.Lang))
	} else {
		out, err = cfg.Bot.Handle(ctx, cfg.Key, bot.Inbound{Kind: bot.InFollow, Lang: cfg.Lang})
		if err != nil {
			return err
		}
	}
	choices := Render(w, out)
	sc := bufio.NewScanner(cfg.In)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for {
		if cfg.Interactive {
			fmt.Fprint(w, "> ")
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if !sc.Scan() {
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if line == "exit" || line == "quit" {
			return nil
		}
		if !cfg.Interactive {
			echo := "(answer)"
			if cfg.Redact != nil {
				echo = cfg.Redact(line)
			}
			fmt.Fprintf(w, "\nyou: %s\n", echo)
		}
		in := bot.Inbound{Kind: bot.InText, Text: line}
		if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(choices) {
			in = bot.Inbound{Kind: bot.InPostback, Postback: choices[n-1].Data, Text: choices[n-1].Label}
		}
		out, err := cfg.Bot.Handle(ctx, cfg.Key, in)
		if err != nil {
			return err
		}
		choices = Render(w, out)
	}
}

func resumed(lang bot.Lang) string {
	if lang == bot.English {
		return "(resuming where we left off)"
	}
	return "(前回の続きから再開します)"
}

// Render writes messages as plain text and returns the choices of the last question, in
// the order they are numbered.
func Render(w io.Writer, msgs []bot.Message) []bot.Choice {
	var choices []bot.Choice
	for _, m := range msgs {
		choices = nil
		switch m.Kind {
		case bot.MsgSteps:
			fmt.Fprintf(w, "bot: 【%s】\n", m.Title)
			if m.Text != "" {
				fmt.Fprintf(w, "     %s\n", indent(m.Text))
			}
			for i, s := range m.Steps {
				fmt.Fprintf(w, "     %d. %s\n", i+1, indent(s))
			}
			if m.Note != "" {
				fmt.Fprintf(w, "     %s\n", indent(m.Note))
			}
		case bot.MsgHandoff:
			fmt.Fprintf(w, "bot: %s\n     [handoff: %s]\n", indent(m.Text), m.Reason)
		default:
			fmt.Fprintf(w, "bot: %s\n", indent(m.Text))
			for i, c := range m.Choices {
				fmt.Fprintf(w, "  %d) %s\n", i+1, c.Label)
			}
			choices = m.Choices
		}
	}
	return choices
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n     ") }
