package e2e

// The remote side, seen without jt: scripts run over a login of their own,
// and what runs there for a session.

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
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
	var pids []int
	for _, l := range lines(remote(t, host, jupyterScan+"true\n")) {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "jupyter" && f[2] == name {
			if p, err := strconv.Atoi(f[1]); err == nil {
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// jupyterScan is a sh fragment that prints "jupyter PID NAME" for each of
// the user's Jupyter servers that belongs to a jt session NAME: its
// environment points JUPYTER_RUNTIME_DIR at the session's runtime dir.
const jupyterScan = `pre="JUPYTER_RUNTIME_DIR=$HOME/.local/state/jt/sessions/"
for p in $(pgrep -u "$(id -u)" -f 'jupyter-(notebook|server)'); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | while IFS= read -r v; do
		case $v in "$pre"*/runtime) n=${v#"$pre"}; echo "jupyter $p ${n%/runtime}" ;; esac
	done
done
`

// kill9 SIGKILLs pid on host and waits until its parent has reaped it.
func kill9(t *testing.T, host string, pid int) {
	t.Helper()
	remote(t, host, fmt.Sprintf(`kill -9 %d || exit 1
n=0
while kill -0 %d 2>/dev/null && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
`, pid, pid))
}

// hostTruth is what runs on a host, per jt session name.
type hostTruth struct {
	jupyter map[string][]int    // Jupyter servers whose runtime dir is a jt session's
	screens map[string][]string // screen sessions jt-NAME
	opening []string            // sessions with an open script running (opening file)
}

// remoteTruth asks host (over a login of its own) what runs there.
func remoteTruth(t *testing.T, host string) hostTruth {
	t.Helper()
	script := jupyterScan + `screen -ls 2>/dev/null | awk '$1 ~ /^[0-9]+\.jt-/ { id = $1; n = id; sub(/^[0-9]+\.jt-/, "", n); print "screen " id " " n }'
for f in "$HOME"/.local/state/jt/sessions/*/opening; do
	[ -f "$f" ] || continue
	n=${f%/opening}; echo "opening x ${n##*/}"
done
true
`
	truth := hostTruth{jupyter: map[string][]int{}, screens: map[string][]string{}}
	for _, l := range lines(remote(t, host, script)) {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		switch f[0] {
		case "jupyter":
			if p, err := strconv.Atoi(f[1]); err == nil {
				truth.jupyter[f[2]] = append(truth.jupyter[f[2]], p)
			}
		case "screen":
			truth.screens[f[2]] = append(truth.screens[f[2]], f[1])
		case "opening":
			truth.opening = append(truth.opening, f[2])
		}
	}
	return truth
}

// noRemoteTrace waits (briefly) until host has no screen, Jupyter or
// open script left for session name.
func noRemoteTrace(t *testing.T, host, name string) {
	t.Helper()
	var truth hostTruth
	if pollUntil(10*time.Second, func() bool {
		truth = remoteTruth(t, host)
		return len(truth.jupyter[name]) == 0 && len(truth.screens[name]) == 0 && !slices.Contains(truth.opening, name)
	}) {
		return
	}
	t.Errorf("%s: session %s left behind: jupyter %v, screens %v, opening %v", host, name, truth.jupyter[name], truth.screens[name], slices.Contains(truth.opening, name))
}
