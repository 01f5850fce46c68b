package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat (USER_HZ), 100 on every
// Linux that Go runs on.
const clockTicks = 100

// child is a server process under test: giftdesk serve or the bare handler. Its standard
// output and error go to a log file, so that writing logs costs the child what it would in
// production and nothing here.
type child struct {
	name    string
	cmd     *exec.Cmd
	url     string // http://127.0.0.1:port
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// startChild starts path with args and env (added to a minimal environment) and returns
// once the process runs; waitReady waits until it serves.
func startChild(name, path string, args, env []string, addr, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	logf.Close() // the child has its own descriptor
	c := &child{name: name, cmd: cmd, url: "http://" + addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// baseEnv is what a child inherits: enough to run a Go program, nothing configured for
// giftdesk by the caller's shell.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH", k == "HOME", k == "TMPDIR", k == "TZ", k == "LANG",
			strings.HasPrefix(k, "GO"), strings.HasPrefix(k, "LC_"):
			if !strings.HasPrefix(k, "GIFTDESK_") {
				env = append(env, kv)
			}
		}
	}
	return env
}

// waitReady polls GET path (/readyz) until it answers 200, the child exits, or timeout.
func (c *child) waitReady(ctx context.Context, path string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited before it was ready (%v):\n%s", c.name, c.waitErr, c.logTail(20))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		res, err := client.Get(c.url + path)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v:\n%s", c.name, timeout, c.logTail(20))
}

// stop sends SIGTERM and waits for the child to exit, killing it after timeout. It
// returns an error when the child did not exit cleanly.
func (c *child) stop(timeout time.Duration) error {
	select {
	case <-c.exited:
		return c.exitError()
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return c.exitError()
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", c.name, timeout)
	}
}

func (c *child) exitError() error {
	if c.waitErr != nil {
		return fmt.Errorf("%s: %v:\n%s", c.name, c.waitErr, c.logTail(20))
	}
	return nil
}

// running reports whether the child has not exited.
func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// cpu returns the child's user and system CPU time so far, from /proc/<pid>/stat.
func (c *child) cpu() (time.Duration, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(raw)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line. The
// command name, field 2, is parenthesised and may hold spaces, so fields are counted
// from the last ')'.
func parseStatCPU(raw []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(raw[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// peakRSS returns the child's peak resident set size in bytes (VmHWM).
func (c *child) peakRSS() (int64, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "status"))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(raw, "VmHWM")
}

// rss returns the child's current resident set size in bytes (VmRSS).
func (c *child) rss() (int64, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "status"))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(raw, "VmRSS")
}

// parseStatusKB returns the value of a "Key:   1234 kB" line of /proc/<pid>/status in bytes.
func parseStatusKB(raw []byte, key string) (int64, error) {
	for line := range strings.Lines(string(raw)) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc status", key)
}

// logTail returns the last n lines of the child's log.
func (c *child) logTail(n int) string {
	raw, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

// giftdeskBinary returns bin, or builds ./cmd/giftdesk into dir when bin is empty.
func giftdeskBinary(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("--bin: %w", err)
		}
		return abs, nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("no go command on PATH to build giftdesk; pass --bin")
	}
	out := filepath.Join(dir, "giftdesk")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, "github.com/giftdesk/giftdesk/cmd/giftdesk")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/giftdesk: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// serveEnv is the environment giftdesk serve gets: the fake LINE API, a database, and an
// address.
func serveEnv(db, secret, token, apiURL, addr string) []string {
	return []string{
		"GIFTDESK_DB=" + db,
		"GIFTDESK_ADDR=" + addr,
		"LINE_CHANNEL_SECRET=" + secret,
		"LINE_CHANNEL_ACCESS_TOKEN=" + token,
		"LINE_API_BASE_URL=" + apiURL,
	}
}

// startServe starts giftdesk serve, logging to dir/logName, and waits until it is ready.
// name is what errors call the process; extra are further KEY=VALUE settings.
func startServe(ctx context.Context, name, bin, dir, logName, db, secret, token, apiURL string, extra ...string) (*child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c, err := startChild(name, bin, []string{"serve"},
		append(serveEnv(db, secret, token, apiURL, addr), extra...), addr, filepath.Join(dir, logName))
	if err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, "/readyz", 30*time.Second); err != nil {
		_ = c.stop(5 * time.Second)
		return nil, err
	}
	return c, nil
}

// removeUnless removes dir, or with keep says where it is.
func removeUnless(keep bool, dir string, w io.Writer) {
	if keep {
		fmt.Fprintf(w, "kept %s\n", dir)
		return
	}
	os.RemoveAll(dir)
}
