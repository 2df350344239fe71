package e2e

// The remote side, seen without jt: scripts run over a login of their own,
// and what runs there for a session.

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// remote runs a POSIX sh script on the remote side as the alias's user,
// over a fresh ssh login (not jt's master), and returns its stdout. The
// login shell parses only "exec /bin/sh -s"; the script goes on stdin.
func remote(t *testing.T, host, script string) string {
	t.Helper()
	stdout, stderr, err := remoteRun(host, script)
	if err != nil {
		t.Fatalf("remote %s: %v\nscript:\n%s\nstderr: %s", host, err, script, stderr)
	}
	return stdout
}

func remoteRun(host, script string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", e2e.box.ConfigPath, "-o", "BatchMode=yes", "-T", host, "exec /bin/sh -s")
	cmd.Stdin = strings.NewReader(script)
	var o, x bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &x
	err = cmd.Run()
	return o.String(), x.String(), err
}

// remoteAlive reports whether pid is a live process on host.
func remoteAlive(t *testing.T, host string, pid int) bool {
	t.Helper()
	out := remote(t, host, fmt.Sprintf("if kill -0 %d 2>/dev/null; then echo alive; else echo dead; fi\n", pid))
	return strings.Contains(out, "alive")
}

// screenIDs lists the remote user's screen sessions named exactly jt-NAME
// (as PID.jt-NAME).
func screenIDs(t *testing.T, host, name string) []string {
	t.Helper()
	out := remote(t, host, "screen -ls 2>&1; true\n")
	re := regexp.MustCompile(`(?m)^\s*([0-9]+\.jt-` + regexp.QuoteMeta(name) + `)\s`)
	var ids []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// jupyterPIDs lists the remote user's Jupyter server processes that belong
// to session NAME: jupyter-notebook or jupyter-server processes whose
// environment points JUPYTER_RUNTIME_DIR at the session's directory.
func jupyterPIDs(t *testing.T, host, name string) []int {
	t.Helper()
	script := `want="JUPYTER_RUNTIME_DIR=$HOME/.local/state/jt/sessions/` + name + `/runtime"
for p in $(pgrep -u "$(id -u)" -f 'jupyter-(notebook|server)'); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "$want" && echo "$p"
done
true
`
	var pids []int
	for _, f := range strings.Fields(remote(t, host, script)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// kill9 SIGKILLs pid on host and waits until its parent has reaped it.
func kill9(t *testing.T, host string, pid int) {
	t.Helper()
	remote(t, host, fmt.Sprintf(`kill -9 %d || exit 1
n=0
while kill -0 %d 2>/dev/null && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
`, pid, pid))
}
