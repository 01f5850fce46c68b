package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/giftdesk/giftdesk/internal/line"
)

// runLine runs a "giftdesk line" subcommand: richmenu.
func runLine(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "richmenu" {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	return runRichMenu(ctx, args[1:], getenv, stdout, stderr)
}

// lineAPIURL and lineDataURL read LINE's hosts: the Messaging API's and the data host's
// (message content, rich-menu images), set to point giftdesk at a fake or a proxy.
func lineAPIURL(getenv func(string) string) string {
	return orEnv(getenv, "LINE_API_BASE_URL", "https://api.line.me")
}

func lineDataURL(getenv func(string) string) string {
	return orEnv(getenv, "LINE_API_DATA_BASE_URL", "https://api-data.line.me")
}

// runRichMenu installs giftdesk's LINE rich menu (line.InstallRichMenu) with the shipped
// image or --image FILE, configured by LINE_CHANNEL_ACCESS_TOKEN, LINE_API_BASE_URL and
// LINE_API_DATA_BASE_URL.
func runRichMenu(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("line richmenu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	imagePath := fs.String("image", "", "the menu's image, PNG or JPEG, e.g. 2500×843 or 1200×405 (default: the shipped one)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "line richmenu: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg := line.RichMenuConfig{
		AccessToken: getenv("LINE_CHANNEL_ACCESS_TOKEN"),
		APIBaseURL:  lineAPIURL(getenv),
		DataBaseURL: lineDataURL(getenv),
	}
	var errs []error
	if cfg.AccessToken == "" {
		errs = append(errs, errors.New("LINE_CHANNEL_ACCESS_TOKEN is not set"))
	}
	for _, v := range []struct{ name, value string }{{"LINE_API_BASE_URL", cfg.APIBaseURL}, {"LINE_API_DATA_BASE_URL", cfg.DataBaseURL}} {
		if u, err := url.Parse(v.value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s=%q: want an http(s) URL", v.name, urlForError(v.value)))
		}
	}
	if *imagePath != "" {
		b, err := os.ReadFile(*imagePath)
		if err != nil {
			errs = append(errs, fmt.Errorf("--image: %w", err))
		}
		cfg.Image = b
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	res, err := line.InstallRichMenu(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rich menu %s installed as the default", res.ID)
	if len(res.Deleted) > 0 {
		fmt.Fprintf(stdout, "; replaced %d earlier giftdesk menu(s)", len(res.Deleted))
	}
	fmt.Fprintln(stdout)
	return nil
}
