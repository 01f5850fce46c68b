package flows

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/giftdesk/giftdesk/bot"
)

//go:embed *.yaml
var files embed.FS

// GiftCard is the file name of the gift-card troubleshooting flow.
const GiftCard = "giftcard.yaml"

// Load returns the embedded flow named name (e.g. GiftCard), parsed and validated.
func Load(name string) (*bot.Flow, error) {
	data, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("load flow %s: %w", name, err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load flow %s: %w", name, err)
	}
	if probs := bot.Validate(f, Funcs()); len(probs) > 0 {
		return nil, fmt.Errorf("load flow %s: %d problems, first: %s", name, len(probs), probs[0])
	}
	return f, nil
}

// Parse decodes a flow from YAML. Unknown keys are errors. The flow's Version is a hash of
// data, so a conversation can tell when the flow it started on has changed.
func Parse(data []byte) (*bot.Flow, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f bot.Flow
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty flow file")
		}
		return nil, err
	}
	sum := sha256.Sum256(data)
	f.Version = hex.EncodeToString(sum[:6])
	return &f, nil
}

// Lint returns one line per problem of the flow in data: YAML errors (with line numbers),
// unknown keys, and everything bot.Validate finds. No lines means the flow is sound.
func Lint(data []byte) []string {
	f, err := Parse(data)
	if err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return te.Errors
		}
		return []string{err.Error()}
	}
	var out []string
	for _, p := range bot.Validate(f, Funcs()) {
		out = append(out, p.String())
	}
	return out
}

// Names lists the embedded flow files.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	return names
}

// Source returns the embedded YAML of the flow named name.
func Source(name string) ([]byte, error) {
	return files.ReadFile(name)
}
