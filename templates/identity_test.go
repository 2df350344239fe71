//go:build unix

package templates_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// stillAlive fails the test if pid dies within a short while: a signal
// sent to it would have ended it by then.
func stillAlive(t *testing.T, pid int, what string) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	if !alive(pid) {
		t.Errorf("%s: process %d, which is not jt's, was signalled", what, pid)
	}
}

func closeSession(t *testing.T, home string, c templates.Close) templates.Block {
	t.Helper()
	r := scripttest.Run(t, home, render(t, c))
	if r.Code != 0 || len(r.Reply.Blocks) != 1 {
		t.Fatalf("exit %d, %+v\nstdout: %s\nstderr: %s", r.Code, r.Reply, r.Stdout, r.Stderr)
	}
	return r.Reply.Blocks[0]
}

// A runtime file left by a server that died, its pid now another process
// of the user's: close.sh signals nothing and drops the file.
func TestCloseSparesReusedServerPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		// env is the environment of the process that took the server's
		// pid; age how long before it the runtime file was written.
		env func(sess string) []string
		age time.Duration
	}{
		// Any process of the user: its environment is not the session's.
		{"plain", func(string) []string { return nil }, 0},
		// A process with the session's environment, e.g. a kernel's child,
		// that started after the runtime file was written.
		{"started after the file", func(sess string) []string {
			return []string{"JUPYTER_RUNTIME_DIR=" + filepath.Join(sess, "runtime")}
		}, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			name := uniqueName(t, "reused")
			sess := filepath.Join(sessionsDir(home), name)
			pid := startProcess(t, exec.Command("sleep", "60"), tc.env(sess)...)
			runtime := "runtime/nbserver-" + strconv.Itoa(pid) + ".json"
			scripttest.WriteFiles(t, sess, map[string]string{"log": "x\n", runtime: `{"pid": 1}`})
			old := time.Now().Add(-tc.age)
			os.Chtimes(filepath.Join(sess, runtime), old, old)

			b := closeSession(t, home, templates.Close{Name: name})
			if b.Values["state"] != "gone" || b.Values["pid"] != "" {
				t.Errorf("close over a reused pid: %v", b.Values)
			}
			stillAlive(t, pid, "close --kill")
		})
	}
}

// A window.pid left behind, naming a process group leader that is not the
// session's window: no signal to that group.
func TestCloseSparesReusedWindowPID(t *testing.T) {
	home := t.TempDir()
	name := uniqueName(t, "window")
	sess := filepath.Join(sessionsDir(home), name)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	leader := startProcess(t, cmd)
	scripttest.WriteFiles(t, sess, map[string]string{"log": "x\n", "window.pid": strconv.Itoa(leader) + "\n"})
	closeSession(t, home, templates.Close{Name: name})
	stillAlive(t, leader, "close of a stale window.pid")

	// The session's own window (its environment names the session) is ended.
	name = uniqueName(t, "window2")
	sess = filepath.Join(sessionsDir(home), name)
	cmd = exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	window := startProcess(t, cmd, "JUPYTER_RUNTIME_DIR="+filepath.Join(sess, "runtime"))
	scripttest.WriteFiles(t, sess, map[string]string{"log": "x\n", "window.pid": strconv.Itoa(window) + "\n"})
	closeSession(t, home, templates.Close{Name: name})
	deadline := time.Now().Add(5 * time.Second)
	for alive(window) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(window) {
		t.Error("close left the session's own window running")
	}
}

// The undo of an interrupted open stops its script only if the recorded
// pid is still that script.
func TestCloseUndoSparesReusedOpeningPID(t *testing.T) {
	home := t.TempDir()
	name := uniqueName(t, "undo")
	sess := filepath.Join(sessionsDir(home), name)
	pid := startProcess(t, exec.Command("sleep", "60"))
	scripttest.WriteFiles(t, sess, map[string]string{"opening": strconv.Itoa(pid) + "\n", "nonce": "other\n"})
	b := closeSession(t, home, templates.Close{Name: name, Nonce: "n1"})
	if b.Values["state"] != "kept" {
		t.Errorf("undo with another nonce: %v", b.Values)
	}
	stillAlive(t, pid, "undo over a reused opening pid")

	// The open script itself (sh -s) is stopped.
	script := exec.Command("sh", "-s")
	script.Stdin = nil
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	script.Stdin = r
	opening := startProcess(t, script)
	r.Close()
	scripttest.WriteFiles(t, sess, map[string]string{"opening": strconv.Itoa(opening) + "\n"})
	closeSession(t, home, templates.Close{Name: name, Nonce: "n1"})
	deadline := time.Now().Add(5 * time.Second)
	for alive(opening) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(opening) {
		t.Error("the undo left the interrupted open's script running")
	}
}
