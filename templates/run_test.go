package templates_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// These tests run the rendered scripts with the local sh (dash on Debian)
// under a throwaway HOME: the remote side of jt, without ssh.

func sessionsDir(home string) string { return filepath.Join(home, ".local", "state", "jt", "sessions") }

// uniqueName keeps these sessions apart from any real jt-* screen or tmux
// session of this user: close.sh asks both to quit jt-NAME.
func uniqueName(t *testing.T, s string) string {
	return fmt.Sprintf("unit%d-%s", os.Getpid(), s)
}

// liveProcess starts a process that stands in for the Jupyter server of
// session dir sess (started, as the window starts it, with the session's
// JUPYTER_RUNTIME_DIR) and reaps it as soon as it dies, so that kill -0
// stops seeing it. The session's files are to be written after it started.
func liveProcess(t *testing.T, sess string) int {
	t.Helper()
	return startProcess(t, exec.Command("sleep", "60"), "JUPYTER_RUNTIME_DIR="+filepath.Join(sess, "runtime"))
}

// startProcess starts cmd with env added to this process's environment,
// and reaps it as soon as it dies.
func startProcess(t *testing.T, cmd *exec.Cmd, env ...string) int {
	t.Helper()
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd.Process.Pid
}

// deadPID is the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestListEmptyHome(t *testing.T) {
	home := t.TempDir()
	r := scripttest.Run(t, home, render(t, templates.List{LogLines: 5}))
	if r.Code != 0 || r.ParseErr != nil || !r.Reply.Complete || len(r.Reply.Blocks) != 0 {
		t.Fatalf("exit %d, %v, %+v\nstdout: %s\nstderr: %s", r.Code, r.ParseErr, r.Reply, r.Stdout, r.Stderr)
	}
}

func TestListSessions(t *testing.T) {
	home := t.TempDir()
	live, dead := uniqueName(t, "live"), uniqueName(t, "dead")
	sessions := sessionsDir(home)
	livePID, deadPIDv := liveProcess(t, filepath.Join(sessions, live)), deadPID(t)
	scripttest.WriteFiles(t, filepath.Join(sessions, live), map[string]string{
		"mux": "screen\n", "dir": "/srv/proj dir\n", "flavour": "lab\n", "started": "1700000000\n",
		"log": "line 1\n",
		"runtime/jpserver-" + strconv.Itoa(livePID) + ".json": `{"pid": ` + strconv.Itoa(livePID) + `, "port": 8890, "token": "tok", "base_url": "/"}`,
	})
	deadRuntime := "runtime/nbserver-" + strconv.Itoa(deadPIDv) + ".json"
	scripttest.WriteFiles(t, filepath.Join(sessions, dead), map[string]string{
		"mux": "tmux\n", "exit": "1\n",
		"log":       "one\ntwo\nthree\n",
		deadRuntime: `{"pid": ` + strconv.Itoa(deadPIDv) + `, "port": 8888, "token": "old"}`,
	})
	r := scripttest.Run(t, home, render(t, templates.List{LogLines: 2}))
	if r.Code != 0 || r.ParseErr != nil || !r.Reply.Complete {
		t.Fatalf("exit %d, %v, Complete=%v\nstdout: %s\nstderr: %s", r.Code, r.ParseErr, r.Reply.Complete, r.Stdout, r.Stderr)
	}
	if len(r.Reply.Blocks) != 2 {
		t.Fatalf("%d blocks, want 2:\n%s", len(r.Reply.Blocks), r.Stdout)
	}
	byName := map[string]templates.Block{}
	for _, b := range r.Reply.Blocks {
		byName[b.Values["name"]] = b
	}
	l := byName[live]
	if l.Values["state"] != "running" || l.Values["pid"] != strconv.Itoa(livePID) || l.Values["dir"] != "/srv/proj dir" || l.Values["flavour"] != "lab" || l.Values["started"] != "1700000000" {
		t.Errorf("live session: %v", l.Values)
	}
	if l.Server == nil || l.Server.Token != "tok" || l.Server.Port != 8890 {
		t.Errorf("live server: %+v", l.Server)
	}
	d := byName[dead]
	if d.Values["state"] != "dead" || d.Values["exit"] != "1" || d.Values["mux"] != "tmux" || d.Server != nil {
		t.Errorf("dead session: %v %+v", d.Values, d.Server)
	}
	if strings.Join(d.Log, ",") != "two,three" {
		t.Errorf("dead log tail = %q, want the last 2 lines", d.Log)
	}
	if _, err := os.Stat(filepath.Join(sessions, dead, deadRuntime)); err == nil {
		t.Error("the dead server's runtime file was left behind")
	}
}

func TestCloseMissingSession(t *testing.T) {
	home := t.TempDir()
	name := uniqueName(t, "nosuch")
	r := scripttest.Run(t, home, render(t, templates.Close{Name: name}))
	if r.Code != 0 || r.ParseErr != nil || len(r.Reply.Blocks) != 1 {
		t.Fatalf("exit %d, %v, %+v\nstdout: %s\nstderr: %s", r.Code, r.ParseErr, r.Reply, r.Stdout, r.Stderr)
	}
	b := r.Reply.Blocks[0]
	if b.Error || b.Values["name"] != name || b.Values["state"] != "gone" {
		t.Errorf("close of a missing session: %+v", b)
	}
}

func TestCloseStopsServer(t *testing.T) {
	home := t.TempDir()
	name := uniqueName(t, "live")
	sess := filepath.Join(sessionsDir(home), name)
	pid := liveProcess(t, sess)
	scripttest.WriteFiles(t, sess, map[string]string{
		"log": "x\n",
		"runtime/nbserver-" + strconv.Itoa(pid) + ".json": `{"pid": 1}`,
	})
	r := scripttest.Run(t, home, render(t, templates.Close{Name: name}))
	if r.Code != 0 || len(r.Reply.Blocks) != 1 {
		t.Fatalf("exit %d, %+v\nstdout: %s\nstderr: %s", r.Code, r.Reply, r.Stdout, r.Stderr)
	}
	b := r.Reply.Blocks[0]
	if b.Values["state"] != "stopped" || b.Values["pid"] != strconv.Itoa(pid) {
		t.Errorf("close of a live session: %v", b.Values)
	}
	if err := exec.Command("kill", "-0", strconv.Itoa(pid)).Run(); err == nil {
		time.Sleep(100 * time.Millisecond)
		if err := exec.Command("kill", "-0", strconv.Itoa(pid)).Run(); err == nil {
			t.Errorf("server %d still runs", pid)
		}
	}
	if _, err := os.Stat(sess); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("session directory left: %v", err)
	}
}

// TestHostileNamesRunInert runs close.sh and open.sh with names and dirs
// that would run code if a value escaped its quotes; the canary file must
// not appear and the scripts must see each value byte for byte.
func TestHostileNamesRunInert(t *testing.T) {
	home := t.TempDir()
	canaryFile := filepath.Join(home, "canary")
	env := "CANARY=" + canaryFile
	names := []string{
		`$(touch "$CANARY")`,
		"`touch \"$CANARY\"`",
		`x'; touch "$CANARY"; '`,
		`x"; touch "$CANARY"; "`,
		`a b  $CANARY *`,
		`it'\''s`,
		`-rf`,
	}
	for _, v := range names {
		name := uniqueName(t, v)
		r := scripttest.Run(t, home, render(t, templates.Close{Name: name}), env)
		if r.Code != 0 || len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Values["name"] != name {
			t.Errorf("close %q: exit %d, %+v\nstderr: %s", name, r.Code, r.Reply.Blocks, r.Stderr)
		}

		// open.sh with an unknown multiplexer stops right after creating the
		// session directory: its name shows what the script made of the value.
		o := benignOpen
		o.Name, o.Mux = name, "bogus"
		r = scripttest.Run(t, home, render(t, o), env)
		if len(r.Reply.Blocks) != 1 || !r.Reply.Blocks[0].Error || r.Reply.Blocks[0].Values["error"] != "unknown multiplexer bogus" {
			t.Errorf("open %q: %+v\nstderr: %s", name, r.Reply.Blocks, r.Stderr)
		}
		if fi, err := os.Stat(filepath.Join(sessionsDir(home), name)); err != nil || !fi.IsDir() {
			t.Errorf("open %q: no session directory of that exact name: %v", name, err)
		}

		// With mux none and an existing command, open.sh stops at cd: the
		// error names the directory as the script saw it.
		o = benignOpen
		o.Name, o.Mux, o.Command, o.Dir = "x", "none", "true", "/nonexistent/"+v
		r = scripttest.Run(t, home, render(t, o), env)
		node, _ := os.Hostname()
		want := "cannot enter directory /nonexistent/" + v + " on " + node
		if len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Values["error"] != want {
			t.Errorf("open --dir %q: got %+v, want error %q\nstderr: %s", o.Dir, r.Reply.Blocks, want, r.Stderr)
		}
	}
	if _, err := os.Stat(canaryFile); err == nil {
		t.Fatal("a hostile value ran code: the canary file exists")
	}
}
