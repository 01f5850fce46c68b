package redact_test

import (
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The SDK fixture bodies in testdata/sdk are the webhook bodies the official SDKs test
// themselves with, taken from their repositories by TestRefreshFixtures:
//
//	go test ./internal/redact -run TestRefreshFixtures \
//	    -line-sdk /path/to/line-bot-sdk-go/.git -slack-sdk /path/to/slack/.git
//
// (a git directory each; HEAD is read). See testdata/sdk/NOTICE for their licenses.
var (
	lineSDK  = flag.String("line-sdk", "", "git directory of github.com/line/line-bot-sdk-go to refresh testdata/sdk from")
	slackSDK = flag.String("slack-sdk", "", "git directory of github.com/slack-go/slack to refresh testdata/sdk from")
)

// fixtureSources are the SDK test files whose raw-string JSON objects are fixture bodies.
var fixtureSources = []struct {
	flag  *string
	out   string
	files []string
}{
	{lineSDK, "line-bot-sdk-go.json", []string{"linebot/webhook_test.go", "linebot/webhook/httphandler_test.go"}},
	{slackSDK, "slack-go.json", []string{"slackevents/outer_events_test.go", "slackevents/inner_events_test.go", "slackevents/parsers_test.go"}},
}

// TestRefreshFixtures rewrites testdata/sdk from the SDK repositories named by the flags;
// without them it does nothing.
func TestRefreshFixtures(t *testing.T) {
	for _, src := range fixtureSources {
		if *src.flag == "" {
			continue
		}
		head, err := exec.Command("git", "--git-dir", *src.flag, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatalf("%s: %v", *src.flag, err)
		}
		var bodies []string
		for _, f := range src.files {
			code, err := exec.Command("git", "--git-dir", *src.flag, "show", "HEAD:"+f).Output()
			if err != nil {
				t.Fatalf("%s %s: %v", *src.flag, f, err)
			}
			bodies = append(bodies, jsonLiterals(t, f, code)...)
		}
		out, err := json.MarshalIndent(map[string]any{"commit": strings.TrimSpace(string(head)), "files": src.files, "bodies": bodies}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "sdk", src.out), append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bodies", src.out, len(bodies))
	}
}

// jsonLiterals returns the raw string literals of a Go file that are JSON objects.
func jsonLiterals(t *testing.T, name string, src []byte) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || !strings.HasPrefix(lit.Value, "`") {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err == nil && strings.HasPrefix(strings.TrimSpace(s), "{") && json.Valid([]byte(s)) {
			out = append(out, s)
		}
		return true
	})
	return out
}

// fixture is one file of testdata/sdk.
type fixture struct {
	Commit string   `json:"commit"`
	Files  []string `json:"files"`
	Bodies []string `json:"bodies"`
}

// Fixtures returns the SDK fixture bodies, by file name.
func fixtures(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, src := range fixtureSources {
		b, err := os.ReadFile(filepath.Join("testdata", "sdk", src.out))
		if err != nil {
			t.Fatal(err)
		}
		var f fixture
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", src.out, err)
		}
		if len(f.Bodies) == 0 {
			t.Fatalf("%s has no bodies", src.out)
		}
		out[src.out] = f.Bodies
	}
	return out
}
