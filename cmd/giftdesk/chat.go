package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"golang.org/x/term"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
	giftterm "github.com/giftdesk/giftdesk/internal/term"
	"github.com/giftdesk/giftdesk/internal/textnorm"
)

func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "", "language of a new conversation: ja or en (default: detect)")
	db := fs.String("db", "giftdesk.db", "SQLite database file")
	uid := fs.String("user", defaultUser(), "customer id; the same id resumes the same conversation")
	idle := fs.Duration("idle", 30*time.Minute, "idle time after which a conversation starts over")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	var l bot.Lang
	if *lang != "" {
		var ok bool
		if l, ok = bot.ParseLang(*lang); !ok {
			return fmt.Errorf("--lang %q: want ja or en", *lang)
		}
	}
	store, err := sqlite.New(ctx, sqlite.Config{Path: *db})
	if err != nil {
		return err
	}
	defer store.Close()
	engine, err := newEngine(*idle)
	if err != nil {
		return err
	}
	desk, err := bot.NewDesk(bot.DeskConfig{Engine: engine, Redact: flows.RedactCodes})
	if err != nil {
		return err
	}
	interactive := false
	if f, ok := stdin.(*os.File); ok {
		interactive = term.IsTerminal(int(f.Fd()))
	}
	return giftterm.Run(ctx, giftterm.Config{
		Bot:         bot.New(desk, store),
		Key:         bot.Key{Channel: "term", User: *uid},
		Lang:        l,
		In:          stdin,
		Out:         stdout,
		Interactive: interactive,
		Redact:      flows.RedactCodes,
	})
}

// newEngine compiles the embedded gift-card flow.
func newEngine(idle time.Duration) (*bot.Engine, error) {
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		return nil, err
	}
	return bot.NewEngine(bot.EngineConfig{
		Flow:        f,
		Funcs:       flows.Funcs(),
		Normalize:   textnorm.Normalize,
		IdleTimeout: idle,
	})
}

func defaultUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "local"
}
