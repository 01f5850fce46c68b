// Command giftdesk is a customer-support chatbot for gift-card marketplaces.
//
//	giftdesk serve                                          serve LINE (see README for settings)
//	giftdesk chat [--lang ja|en] [--db PATH] [--user ID]   chat in the terminal
//	giftdesk flow lint [FILE ...]                           check flow files
//	giftdesk flow graph [--lang ja|en] [FILE]               print a Mermaid diagram
//	giftdesk report [--since 7d] [--format text|html] [--db PATH|URL] [--lang ja|en]
//	                                                        funnel, containment, hand-offs, ratings
//	giftdesk line richmenu [--image FILE]                   install the LINE rich menu
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // business hours name a time zone; do not depend on the host's zoneinfo
)

const usage = `usage:
  giftdesk serve                                          run the bot (configured by environment variables)
  giftdesk chat [--lang ja|en] [--db PATH] [--user ID]   diagnose in the terminal
  giftdesk flow lint [FILE ...]                           check flows (default: the embedded ones)
  giftdesk flow graph [--lang ja|en] [FILE]               print a Mermaid state diagram
  giftdesk report [--since 7d] [--format text|html] [--db PATH|URL] [--lang ja|en]
                                                          report the funnel through the flow, containment,
                                                          hand-offs, ratings and what was not understood
  giftdesk line richmenu [--image FILE]                   install the LINE rich menu (replaces giftdesk's earlier one)
`

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var exit exitError
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.As(err, &exit):
		os.Exit(int(exit))
	default:
		fmt.Fprintln(os.Stderr, "giftdesk:", err)
		os.Exit(1)
	}
}

// exitError is an exit status whose reason has already been printed.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "chat":
		return runChat(ctx, args[1:], stdin, stdout, stderr)
	case "serve":
		if len(args) > 1 {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return runServe(ctx, os.Getenv, stderr, nil)
	case "flow":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		switch args[1] {
		case "lint":
			return runLint(args[2:], stdout, stderr)
		case "graph":
			return runGraph(args[2:], stdout, stderr)
		}
	case "report":
		return runReport(ctx, args[1:], stdout, stderr, time.Now)
	case "line":
		return runLine(ctx, args[1:], os.Getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return errUsage
}
