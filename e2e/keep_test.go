package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jt open --keep --background: the open happens in the foreground, then a
// keeper restores the tunnel from the background whenever it drops, until
// jt close stops it.
func TestE2EKeepBackground(t *testing.T) {
	e := newEnv(t)
	u, keeper, _ := startKeeper(t, e, "kb", "--background", "--no-browser")
	if !procLive(keeper) {
		t.Fatalf("keeper %d is not running", keeper)
	}
	f, err := e.loadState()
	if err != nil || len(f.Sessions) != 1 {
		t.Fatalf("state: %+v, %v", f, err)
	}
	server := f.Sessions[0].PID

	// The link drops (the master ends): the keeper brings the same URL back.
	e.exitMaster(hostA)
	waitRestored(t, u)
	if f, err := e.loadState(); err != nil || len(f.Sessions) != 1 || f.Sessions[0].PID != server {
		t.Errorf("after the keeper's repair: %+v, %v; want the same server %d", f, err, server)
	}

	// jt close stops the keeper, which then reopens nothing.
	e.jt("close", "--name", "kb", hostA)
	waitDead(t, keeper)
	time.Sleep(4 * time.Second) // longer than the keeper's interval
	// A reopened tunnel reaches the same server, which takes its token
	// (200); another program that took the freed port (403) is not jt's.
	if code, err := getStatus(u); err == nil && code == 200 {
		t.Errorf("after jt close the URL answers again (%d): something reopened it", code)
	}
	if f, err := e.loadState(); err != nil || len(f.Sessions) != 1 || f.Sessions[0].LocalPort != 0 {
		t.Errorf("after jt close the state records a tunnel: %+v, %v", f, err)
	}
	if !remoteAlive(t, hostA, server) {
		t.Errorf("jt close (without --kill) stopped the server %d", server)
	}
}

// startKeeper runs jt open --keep with extra flags and returns the URL,
// the keeper's pid and its log.
func startKeeper(t *testing.T, e *env, name string, extra ...string) (u string, keeper int, logPath string) {
	t.Helper()
	e.opened[[2]string{hostA, name}] = true
	args := append(append([]string{"open", "--keep"}, extra...), "--name", name, hostA)
	stdout, stderr := e.jt(args...)
	u = strings.TrimSpace(stdout)
	mustAnswer(t, u)
	m := regexp.MustCompile(`from the background \(pid ([0-9]+), log ([^ ,)]+)\)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("jt open --keep did not name its keeper: %q", stderr)
	}
	keeper, _ = strconv.Atoi(m[1])
	return u, keeper, m[2]
}

// waitRestored waits until u answers again after the link dropped.
func waitRestored(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, err := getStatus(u)
		if err == nil && code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the keeper did not restore %s within 60 s (last: %d, %v)", u, code, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// jt open --keep --background=true: one keeper, whatever the spelling of
// the flag; the keeper opens no browser and writes no token to its log.
func TestE2EKeepBackgroundExactlyOne(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	calls := filepath.Join(dir, "browser-calls")
	browser := filepath.Join(dir, "browser")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\necho \"$1\" >>"+shellQuote(calls)+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.setVar("BROWSER", browser)
	u, keeper, logPath := startKeeper(t, e, "k1", "--background=true")
	_, token := parseURL(t, u)
	waitFile(t, calls, 20*time.Second, "the foreground open never started BROWSER")

	// A keeper that respawned itself would show up within a few intervals.
	time.Sleep(4 * time.Second)
	if pids := e.jtProcesses(); len(pids) != 1 || pids[0] != keeper {
		t.Fatalf("jt processes running: %v; want only the keeper %d", pids, keeper)
	}

	// A repair: the keeper opens the session again, without a browser.
	e.exitMaster(hostA)
	waitRestored(t, u)
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(logPath)
		if strings.Contains(string(data), "restored: session k1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the keeper's log never said it restored the session:\n%s", data)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pids := e.jtProcesses(); len(pids) != 1 || pids[0] != keeper {
		t.Errorf("after the repair, jt processes running: %v; want only the keeper %d", pids, keeper)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), token) {
		t.Errorf("the keeper's log holds the token:\n%s", data)
	}
	time.Sleep(time.Second) // a browser the repair started would have written by now
	if b, _ := os.ReadFile(calls); len(lines(string(b))) != 1 {
		t.Errorf("BROWSER ran %d times, want once (the foreground open): %q", len(lines(string(b))), b)
	}

	e.jt("close", "--name", "k1", hostA)
	waitDead(t, keeper)
}

// A keeper's pid file that outlived it, its pid now another process's:
// neither jt open --keep --background (which replaces a keeper) nor jt
// close signals that process.
func TestE2EKeepStalePIDFile(t *testing.T) {
	e := newEnv(t)
	_, keeper, logPath := startKeeper(t, e, "k2", "--background", "--no-browser")
	pidPath := strings.TrimSuffix(logPath, ".log") + ".pid"
	record, err := os.ReadFile(pidPath)
	if err != nil {
		t.Fatalf("the keeper's pid file: %v", err)
	}
	if f := strings.Fields(string(record)); len(f) < 2 || f[0] != strconv.Itoa(keeper) {
		t.Fatalf("the keeper's pid file holds %q; want its pid %d and start", record, keeper)
	}
	_, keeperStart, _ := strings.Cut(strings.TrimSpace(string(record)), " ")

	// The keeper dies without cleaning up; its pid goes to an unrelated
	// process (written into the file: pids cannot be chosen).
	syscall.Kill(keeper, syscall.SIGKILL)
	waitDead(t, keeper)
	bystander := exec.Command("sleep", "300")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bystander.Process.Kill(); bystander.Wait() })
	exitedCh := make(chan struct{})
	go func() { bystander.Wait(); close(exitedCh) }()
	alive := func(when string) {
		t.Helper()
		select {
		case <-exitedCh:
			t.Fatalf("%s: the unrelated process %d was signalled", when, bystander.Process.Pid)
		case <-time.After(500 * time.Millisecond):
		}
	}
	reused := strconv.Itoa(bystander.Process.Pid)

	// A pid file as an older jt wrote it (the pid alone) cannot be checked.
	if err := os.WriteFile(pidPath, []byte(reused+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, keeper2, _ := startKeeper(t, e, "k2", "--background", "--no-browser")
	alive("jt open --keep --background over a stale pid file")

	syscall.Kill(keeper2, syscall.SIGKILL)
	waitDead(t, keeper2)
	if err := os.WriteFile(pidPath, []byte(reused+" "+keeperStart+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.jt("close", "--name", "k2", hostA)
	alive("jt close over a reused pid")
	if _, err := os.Stat(pidPath); err == nil {
		t.Error("jt close left the stale pid file")
	}
}

// jt close --kill over a runtime file whose server died, its pid now an
// unrelated process of the same remote user: that process lives on. Once
// a plain process; once one with the session's environment that started
// after the files were written (only its start time tells it apart).
func TestE2EKeepsUnrelatedRemoteProcess(t *testing.T) {
	e := newEnv(t)
	for i, sameEnv := range []bool{false, true} {
		name := "reuse" + strconv.Itoa(i)
		r := e.open(hostA, name)
		kill9(t, hostA, r.PID)
		env, age := "", ""
		if sameEnv {
			env, age = `JUPYTER_RUNTIME_DIR="$sess/runtime"`, `touch -d '1 hour ago' "$new" "$sess/window.pid" || exit 1`
		}
		// The dead server's runtime file and window.pid are made to name
		// the new process, a session and group leader (pids cannot be chosen).
		out := remote(t, hostA, `sess="$HOME/.local/state/jt/sessions/`+name+`"
n=0
while [ ! -f "$sess/exit" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
f=$(ls "$sess"/runtime/*server-`+strconv.Itoa(r.PID)+`.json) || exit 1
rm -f "$HOME/bystander.pid"
env `+env+` setsid sh -c 'echo $$ >"$1"; exec sleep 300' sh "$HOME/bystander.pid" </dev/null >/dev/null 2>&1 &
n=0
while [ ! -s "$HOME/bystander.pid" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
b=$(cat "$HOME/bystander.pid")
base=${f##*/}
new="$sess/runtime/${base%%-*}-$b.json"
mv "$f" "$new" || exit 1
echo "$b" >"$sess/window.pid"
`+age+`
echo "bystander=$b"
`)
		m := regexp.MustCompile(`bystander=([0-9]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no bystander started: %q", out)
		}
		b, _ := strconv.Atoi(m[1])
		t.Cleanup(func() { remoteRun(hostA, "kill -9 "+m[1]+" 2>/dev/null; true\n") })
		if !remoteAlive(t, hostA, b) {
			t.Fatalf("the bystander %d does not run", b)
		}
		e.jt("close", "--kill", "--name", name, hostA)
		time.Sleep(300 * time.Millisecond)
		if !remoteAlive(t, hostA, b) {
			t.Errorf("session environment %v: jt close --kill ended process %d, which its runtime file named after the server died", sameEnv, b)
		}
	}
}
