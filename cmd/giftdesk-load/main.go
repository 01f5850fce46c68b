// Command giftdesk-load runs giftdesk serve against an in-process fake LINE Messaging API
// (internal/line/linetest) on loopback: a readable demo conversation, a load test measured
// next to a bare webhook handler in the same run (one or more targets: SQLite,
// PostgreSQL, several replicas on one PostgreSQL database), and a memory check with many
// stored conversations.
//
//	giftdesk-load demo [--bin PATH] [--keep]
//	giftdesk-load run  [--bin PATH] [--duration 10s] [--conns 32] [--users 5000] [--redeliver 0.1]
//	                   [--db sqlite,postgres,2xpostgres] [--postgres URL] [--drain 60s] [--seed N] [--validate]
//	                   [--serve-env GIFTDESK_X=v]… [--json] [--keep]
//	giftdesk-load rss  [--bin PATH] [--conversations 100000] [--conns 32] [--seed-via webhook|store]
//	                   [--seed-timeout 5m] [--traffic 5s] [--json] [--keep]
//	giftdesk-load crash [--bin PATH] [--users 2000] [--conns 32] [--db sqlite,2xpostgres] [--postgres URL]
//	                    [--drain 120s] [--serve-env GIFTDESK_X=v]… [--json] [--keep]
//	giftdesk-load slow [--bin PATH] [--clients 1500] [--size 1048576] [--spread 8s] [--idle 8000]
//	                   [--hold 3s] [--serve-env GIFTDESK_X=v]… [--keep]
//	giftdesk-load bare --addr 127.0.0.1:PORT --secret SECRET
//
// giftdesk serve and the bare handler run as child processes, so their CPU time and peak
// RSS are measured on their own. --bin names a giftdesk binary; by default ./cmd/giftdesk
// is built into a temporary directory. bare is the bare handler that run starts; it is
// not meant to be run by hand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  giftdesk-load demo [--bin PATH] [--keep]
      play a diagnosis in Japanese and in English against giftdesk serve and the fake LINE API
  giftdesk-load run [--bin PATH] [--duration 10s] [--conns 32] [--users 5000] [--redeliver 0.1]
                    [--db sqlite,postgres,2xpostgres] [--postgres URL] [--drain 60s] [--seed N]
                    [--validate] [--serve-env GIFTDESK_X=v]… [--json] [--keep]
      measure a bare webhook handler, then giftdesk serve on each --db target (Nx: N
      replicas on one database), under the same load
  giftdesk-load rss [--bin PATH] [--conversations 100000] [--conns 32] [--seed-via webhook|store]
                    [--seed-timeout 5m] [--traffic 5s] [--json] [--keep]
      store many conversations, then report giftdesk serve's peak RSS
  giftdesk-load crash [--bin PATH] [--users 2000] [--conns 32] [--db sqlite,2xpostgres] [--postgres URL]
                      [--drain 120s] [--serve-env GIFTDESK_X=v]… [--json] [--keep]
      SIGKILL giftdesk serve right after it acknowledged a burst and restart it (sqlite), or
      one of N replicas half-way through it (Nxpostgres): report how long until every
      acknowledged event was answered, by reply or push, exactly once
  giftdesk-load slow [--bin PATH] [--clients 1500] [--size 1048576] [--spread 8s] [--idle 8000]
                     [--hold 3s] [--serve-env GIFTDESK_X=v]… [--keep]
      slow clients sending large bodies with a wrong signature, then idle keep-alive
      connections: report giftdesk serve's peak RSS under each
Run "giftdesk-load <command> -h" for the flags' meanings.
`

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "giftdesk-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "run":
		return runLoad(ctx, args[1:], stdout, stderr)
	case "rss":
		return runRSS(ctx, args[1:], stdout, stderr)
	case "crash":
		return runCrash(ctx, args[1:], stdout, stderr)
	case "slow":
		return runSlow(ctx, args[1:], stdout, stderr)
	case "bare":
		return runBare(ctx, args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return errUsage
}
