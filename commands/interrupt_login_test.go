//go:build unix

package commands

import (
	"context"
	"os/exec"
	"testing"

	"github.com/jt-sh/jt/sshexec"
)

// The user's Ctrl-C reaches the ssh of a login on the terminal as it
// reaches jt, and can end it before jt has noted the interrupt: the open
// sees the login fail while its context is still live. A master that ssh
// daemonised just before must not be left behind, and the failure reads
// as the interrupt it was.
func TestInterruptedLoginLeavesNoMaster(t *testing.T) {
	e := newTestEnv(t)
	// A real ssh-like process ended by SIGINT: what the runner returns.
	_, sigint := exec.Command("/bin/sh", "-c", "kill -INT $$").CombinedOutput()
	if !sshexec.Interrupted(sigint) {
		t.Fatalf("precondition: %v should read as interrupted", sigint)
	}
	e.ssh.login = func() (sshexec.Result, error) {
		e.ssh.mu.Lock()
		e.ssh.master = true // daemonised before the signal came
		e.ssh.mu.Unlock()
		return sshexec.Result{ExitCode: -1}, sigint
	}
	err := runOpen(context.Background(), e.d, openOpts())
	if err == nil || !sshexec.Interrupted(err) {
		t.Fatalf("jt open with its login ended by Ctrl-C = %v, want the interrupted login", err)
	}
	e.ssh.mu.Lock()
	left := e.ssh.master
	e.ssh.mu.Unlock()
	if left || e.ssh.count("exit") != 1 {
		t.Errorf("after the interrupted login: master left running %v, -O exit asked %d times (want once); calls %q", left, e.ssh.count("exit"), e.ssh.Kinds())
	}
	if e.ssh.count("script") != 0 {
		t.Errorf("a script ran after the interrupted login: %q", e.ssh.Kinds())
	}
}
