package bot_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces the architecture: bot/ is channel-neutral (the standard library
// and looplab/fsm only), flows/ holds no SDK or driver, and channel adapters never import
// each other.
func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found: cannot list imports")
	}
	const mod = "github.com/giftdesk/giftdesk/"
	deps := goListDeps(t, "../...")
	rules := []struct {
		name    string
		pkg     string // package prefix the rule applies to
		allowed func(dep string) bool
	}{
		{name: "bot imports only std and looplab/fsm", pkg: mod + "bot", allowed: func(d string) bool {
			return isStd(d) || d == "github.com/looplab/fsm" || d == mod+"bot"
		}},
		{name: "pipeline imports only std and bot", pkg: mod + "internal/pipeline", allowed: func(d string) bool {
			return isStd(d) || d == "github.com/looplab/fsm" || d == mod+"bot" || d == mod+"internal/pipeline"
		}},
		{name: "flows imports no SDK or driver", pkg: mod + "flows", allowed: func(d string) bool {
			return !isSDKOrDriver(d) && !strings.HasPrefix(d, mod+"internal/")
		}},
		{name: "line adapter does not import slack", pkg: mod + "internal/line", allowed: func(d string) bool {
			return !strings.HasPrefix(d, mod+"internal/slack") && !strings.HasPrefix(d, "github.com/slack-go/")
		}},
		{name: "slack adapter does not import line", pkg: mod + "internal/slack", allowed: func(d string) bool {
			return !strings.HasPrefix(d, mod+"internal/line") && !strings.HasPrefix(d, "github.com/line/")
		}},
		{name: "the shared webhook edge imports no SDK and no adapter", pkg: mod + "internal/webhook", allowed: func(d string) bool {
			return !isSDKOrDriver(d) && !strings.HasPrefix(d, mod+"internal/line") && !strings.HasPrefix(d, mod+"internal/slack")
		}},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for pkg, ds := range deps {
				if pkg != r.pkg && !strings.HasPrefix(pkg, r.pkg+"/") {
					continue
				}
				for _, d := range ds {
					if !r.allowed(d) {
						t.Errorf("%s imports %s", pkg, d)
					}
				}
			}
		})
	}
	if len(deps[mod+"bot"]) == 0 {
		t.Fatal("go list found no dependencies of bot: the rule checks nothing")
	}
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func isSDKOrDriver(path string) bool {
	for _, p := range []string{"github.com/line/", "github.com/slack-go/", "modernc.org/sqlite", "github.com/jackc/", "database/sql"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// goListDeps returns each non-test package's transitive dependencies, as `go list -deps`
// sees them.
func goListDeps(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps,Standard", pattern)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deps := map[string][]string{}
	dec := json.NewDecoder(out)
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		deps[p.ImportPath] = p.Deps
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return deps
}
