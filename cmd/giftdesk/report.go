package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
	"github.com/giftdesk/giftdesk/internal/report"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// runReport prints a report of the conversations of a recent period, from a SQLite
// database, as text or as an HTML page.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.String("since", "7d", "the period to report on, back from now: 7d, 24h, 30m")
	format := fs.String("format", "text", "output format: text or html")
	db := fs.String("db", "giftdesk.db", "SQLite database file")
	lang := fs.String("lang", "ja", "language of the flow's labels in the diagram: ja or en")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "report: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	period, err := parsePeriod(*since)
	if err != nil {
		return fmt.Errorf("--since %q: %w", *since, err)
	}
	if *format != "text" && *format != "html" {
		return fmt.Errorf("--format %q: want text or html", *format)
	}
	l, ok := bot.ParseLang(*lang)
	if !ok {
		return fmt.Errorf("--lang %q: want ja or en", *lang)
	}
	// Opening a SQLite path creates the file: a mistyped path would report on nothing.
	if _, err := os.Stat(*db); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--db %s: no such database", *db)
		}
		return fmt.Errorf("--db %s: %w", *db, err)
	}
	store, err := sqlite.New(ctx, sqlite.Config{Path: *db})
	if err != nil {
		return err
	}
	defer store.Close()
	f, err := flows.Load(flows.GiftCard)
	if err != nil {
		return err
	}
	end := now()
	r, err := report.Build(ctx, store, report.Config{Flow: f, Since: end.Add(-period), Now: func() time.Time { return end }, Lang: l})
	if err != nil {
		return err
	}
	if *format == "html" {
		return r.WriteHTML(stdout)
	}
	return r.WriteText(stdout)
}

// parsePeriod reads a positive duration such as 7d, 24h or 30m: time.ParseDuration's
// forms, and whole days.
func parsePeriod(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, errors.New("want a duration such as 7d, 24h or 30m")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a duration such as 7d, 24h or 30m")
		}
	}
	if d <= 0 {
		return 0, errors.New("want a positive duration")
	}
	return d, nil
}
