package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/flows"
)

// runLint checks flow files (default: the embedded ones) and prints one line per problem,
// prefixed with the file name. It fails with status 1 when any file has a problem.
func runLint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flow lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	type source struct {
		name string
		data []byte
	}
	var sources []source
	if fs.NArg() == 0 {
		for _, name := range flows.Names() {
			data, err := flows.Source(name)
			if err != nil {
				return err
			}
			sources = append(sources, source{"flows/" + name, data})
		}
	}
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("lint: %w", err)
		}
		sources = append(sources, source{filepath.ToSlash(path), data})
	}
	bad := 0
	for _, s := range sources {
		probs := flows.Lint(s.data)
		for _, p := range probs {
			fmt.Fprintf(stdout, "%s: %s\n", s.name, p)
		}
		if len(probs) > 0 {
			bad++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", s.name)
	}
	if bad > 0 {
		return exitError(1)
	}
	return nil
}

// runGraph prints a Mermaid state diagram of a flow.
func runGraph(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flow graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "ja", "label language: ja or en")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	l, ok := bot.ParseLang(*lang)
	if !ok {
		return fmt.Errorf("--lang %q: want ja or en", *lang)
	}
	data, err := flows.Source(flows.GiftCard)
	if fs.NArg() > 0 {
		data, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	f, err := flows.Parse(data)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	_, err = io.WriteString(stdout, bot.Mermaid(f, l))
	return err
}
