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
	"github.com/giftdesk/giftdesk/internal/store/postgres"
	"github.com/giftdesk/giftdesk/internal/store/sqlite"
)

// runReport prints a report of the conversations of a recent period, from a SQLite
// database or a PostgreSQL one (a postgres:// URL, as GIFTDESK_DB), as text or as an HTML
// page.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.String("since", "7d", "the period to report on, back from now: 7d, 24h, 30m")
	format := fs.String("format", "text", "output format: text or html")
	db := fs.String("db", "giftdesk.db", "SQLite database file or postgres:// URL")
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
	store, err := openReportStore(ctx, *db)
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

// reportStore is what a report reads from: the SQLite and PostgreSQL stores both are one.
type reportStore interface {
	report.Source
	io.Closer
}

var (
	_ reportStore = (*sqlite.Store)(nil)
	_ reportStore = (*postgres.Store)(nil)
)

// connectTimeout bounds how long a report waits for a PostgreSQL server to answer before
// it gives up: a server behind a firewall that drops packets would keep it waiting for
// minutes.
const connectTimeout = 15 * time.Second

// openReportStore opens the database db, a SQLite file path or a postgres:// URL, for a
// report. Opening creates the database where there is none (a SQLite file, a PostgreSQL
// schema's tables), so a mistyped path or URL would report on nothing: one that names no
// giftdesk database is an error instead, which, like the others, names db without its
// password.
func openReportStore(ctx context.Context, db string) (reportStore, error) {
	if !isPostgres(db) {
		if _, err := os.Stat(db); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("--db %s: no such database", db)
			}
			return nil, fmt.Errorf("--db %s: %w", db, err)
		}
		s, err := sqlite.New(ctx, sqlite.Config{Path: db})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	err := postgres.Check(cctx, db)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	s, err := postgres.New(ctx, postgres.Config{URL: db})
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	return s, nil
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
