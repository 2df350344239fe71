package e2e

// A real terminal for jt attach: a pane of a local tmux server.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// consoleRE is what Jupyter's console shows once it is up.
var consoleRE = regexp.MustCompile(`Jupyter Notebook|Jupyter Server|is running at|http://127\.0\.0\.1`)

// attachInTerminal runs jt attach ARGS in a real terminal: a pane of a
// local tmux server of the test's own. Once the pane shows Jupyter's
// console it types the detach keys (C-a for screen, C-b for tmux, then d)
// and returns jt's exit status and the pane as it was while attached.
func attachInTerminal(t *testing.T, e *env, prefixKey string, args ...string) (exit, pane string) {
	t.Helper()
	return inTerminal(t, e, prefixKey, args)
}

// attachRefused runs jt attach ARGS in a real terminal, as attachInTerminal
// does, where it is to end by itself without a console: it returns jt's
// exit status and what the pane showed.
func attachRefused(t *testing.T, e *env, args ...string) (exit, pane string) {
	t.Helper()
	return inTerminal(t, e, "", args)
}

func inTerminal(t *testing.T, e *env, prefixKey string, args []string) (exit, pane string) {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		missingReq(t, "tmux not found (apt install tmux): the test's terminal is a tmux pane")
	}
	dir, err := os.MkdirTemp(e.dir, "term")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "tmux.sock")
	exitFile := filepath.Join(dir, "exit")
	tm := func(args ...string) (string, error) {
		cmd := exec.Command(tmux, append([]string{"-S", sock}, args...)...)
		cmd.Env = e.vars
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	defer tm("kill-server")

	envWords := []string{"env", "-u", "BROWSER"}
	for _, kv := range e.vars {
		for _, k := range []string{"XDG_STATE_HOME=", "XDG_RUNTIME_DIR=", "JT_SSH_CONFIG=", "XDG_CONFIG_HOME="} {
			if strings.HasPrefix(kv, k) {
				envWords = append(envWords, kv)
			}
		}
	}
	inner := shellJoin(append(append(envWords, e2e.jt, "attach"), args...)) +
		"; echo EXIT=$? >" + shellQuote(exitFile) + "; sleep 60"
	if out, err := tm("new-session", "-d", "-s", "T", "-x", "200", "-y", "50", inner); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	capture := func() string {
		out, _ := tm("capture-pane", "-p", "-t", "T")
		return out
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		pane = capture()
		if prefixKey != "" && consoleRE.MatchString(pane) {
			break
		}
		if data, err := os.ReadFile(exitFile); err == nil && prefixKey == "" && strings.HasSuffix(string(data), "\n") {
			return strings.TrimSpace(string(data)), capture()
		}
		if data, err := os.ReadFile(exitFile); err == nil && prefixKey != "" {
			t.Fatalf("jt attach %s ended before showing the console (%s); pane:\n%s", shellJoin(args), strings.TrimSpace(string(data)), pane)
		}
		if time.Now().After(deadline) {
			t.Fatalf("jt attach %s never showed Jupyter's console (or never ended); pane:\n%s", shellJoin(args), pane)
		}
	}
	if out, err := tm("send-keys", "-t", "T", prefixKey, "d"); err != nil {
		t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if data, err := os.ReadFile(exitFile); err == nil && strings.HasSuffix(string(data), "\n") {
			return strings.TrimSpace(string(data)), pane
		}
		if time.Now().After(deadline) {
			t.Fatalf("jt attach %s did not end after %s d; pane:\n%s", shellJoin(args), prefixKey, capture())
		}
	}
}
