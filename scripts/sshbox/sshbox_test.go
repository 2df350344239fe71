//go:build linux

package sshbox

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sshRun runs the real ssh client against the box. The remote command
// reads its script from stdin so that no login shell (tcsh!) re-parses it.
func sshRun(t *testing.T, b *Box, alias, script string, opts ...string) (stdout, stderr string, err error) {
	t.Helper()
	args := append([]string{"-F", b.ConfigPath}, opts...)
	args = append(args, alias, "exec /bin/sh -s")
	cmd := exec.Command("ssh", args...)
	cmd.Stdin = strings.NewReader(script)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("ssh: %v", err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("ssh %s hung; stderr: %s", alias, e.String())
	}
	return o.String(), e.String(), err
}

// shortDir returns a short temporary directory: Options.Dir should stay
// short because callers put unix sockets below it.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", "sshbox")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func testOptions(dir string) Options {
	return Options{
		Dir:     dir,
		Aliases: map[string]string{"a1": "jtbox1", "a2": "jtbox2"},
		Users: []User{
			{Name: "jtbox1"},
			{Name: "jtbox2", Shell: "/usr/bin/tcsh", Files: map[string]string{".cshrc": "echo hello banner\n"}},
		},
		Foreground: true,
	}
}

func refused(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

func TestBox(t *testing.T) {
	b, err := Start(testOptions(shortDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	t.Logf("box: port %d, root %v, config %s", b.Port, b.Root, b.ConfigPath)

	for _, p := range []string{b.KeyPath, b.HostKeyPath} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: want mode 0600, got %v %v", p, fi.Mode(), err)
		}
	}

	want1, want2 := "jtbox1", "jtbox2"
	if !b.Root {
		want1, want2 = b.Users["a1"], b.Users["a2"]
	}
	out, errOut, err := sshRun(t, b, "a1", "id -un\n")
	if err != nil || strings.TrimSpace(out) != want1 {
		t.Fatalf("ssh a1: out %q, err %v, stderr %q", out, err, errOut)
	}
	out, errOut, err = sshRun(t, b, "a2", "id -un\n")
	if err != nil || !strings.Contains(out, want2) {
		t.Fatalf("ssh a2: out %q, err %v, stderr %q", out, err, errOut)
	}
	if b.Root {
		if !strings.Contains(out, "hello banner") {
			t.Errorf("ssh a2: tcsh did not source .cshrc: out %q", out)
		}
		for _, u := range []string{"jtbox1", "jtbox2"} {
			if n, err := b.AuthCount(u); err != nil || n != 1 {
				t.Errorf("AuthCount(%s) = %d, %v; want 1", u, n, err)
			}
		}
		if h := b.Home("a2"); h == "" || h != b.Home("jtbox2") {
			t.Errorf("Home(a2) = %q, Home(jtbox2) = %q", h, b.Home("jtbox2"))
		}
		if data, err := os.ReadFile(filepath.Join(b.Home("jtbox2"), ".cshrc")); err != nil || string(data) != "echo hello banner\n" {
			t.Errorf(".cshrc: %q %v", data, err)
		}
	} else if n, err := b.AuthCount(want1); err != nil || n != 2 {
		t.Errorf("AuthCount(%s) = %d, %v; want 2", want1, n, err)
	}

	// A ControlMaster must die with StopSSHD: the host "went away".
	cp := filepath.Join(b.Dir, "cm")
	master := exec.Command("ssh", "-F", b.ConfigPath, "-o", "ControlMaster=yes", "-o", "ControlPath="+cp, "-fN", "a1")
	if out, err := master.CombinedOutput(); err != nil {
		t.Fatalf("ssh -fN master: %v: %s", err, out)
	}
	check := func() error {
		return exec.Command("ssh", "-F", b.ConfigPath, "-o", "ControlPath="+cp, "-O", "check", "a1").Run()
	}
	if err := check(); err != nil {
		t.Fatalf("master not running: %v", err)
	}

	if err := b.StopSSHD(); err != nil {
		t.Fatal(err)
	}
	if b.Running() || !refused(b.Port) {
		t.Fatalf("sshd still up after StopSSHD")
	}
	if _, _, err := sshRun(t, b, "a1", "true\n", "-o", "ConnectTimeout=2"); err == nil {
		t.Fatalf("ssh succeeded with sshd stopped")
	}
	deadline := time.Now().Add(5 * time.Second)
	for check() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("ControlMaster survived StopSSHD")
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := b.StartSSHD(); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := sshRun(t, b, "a1", "id -un\n"); err != nil || strings.TrimSpace(out) != want1 {
		t.Fatalf("ssh a1 after StartSSHD: out %q, err %v, stderr %q", out, err, errOut)
	}

	if err := b.ChangeHostKey(); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = sshRun(t, b, "a1", "true\n")
	if err == nil || !strings.Contains(errOut, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Fatalf("after ChangeHostKey: err %v, stderr %q", err, errOut)
	}
	if err := b.TrustHostKey(); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := sshRun(t, b, "a1", "true\n"); err != nil {
		t.Fatalf("ssh after TrustHostKey: %v: %s", err, errOut)
	}

	// Leave a detached screen session behind, as jt does: Stop must kill it.
	if b.Root {
		if _, errOut, err := sshRun(t, b, "a1", "screen -dmS leak sleep 600\n"); err != nil {
			t.Fatalf("screen: %v: %s", err, errOut)
		}
		pw, _ := lookupPasswd("jtbox1")
		if len(userPIDs(pw.uid)) == 0 {
			t.Fatalf("no process of jtbox1 after starting screen")
		}
	}

	pid := b.listenerPID()
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) || !refused(b.Port) {
		t.Fatalf("sshd pid %d alive after Stop", pid)
	}
	if b.Root {
		for _, u := range []string{"jtbox1", "jtbox2"} {
			pw, _ := lookupPasswd(u)
			if left := userPIDs(pw.uid); len(left) > 0 {
				t.Errorf("processes of %s left after Stop: %v", u, left)
			}
		}
	}
	if err := b.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestDaemon is what the CLI does: a daemonized sshd found again with Open
// and stopped through its pid file.
func TestDaemon(t *testing.T) {
	opts := testOptions(shortDir(t))
	opts.Aliases = map[string]string{"d1": "jtbox1"}
	opts.Users = opts.Users[:1]
	opts.Foreground = false
	b, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	pid := b.listenerPID()
	if pid <= 0 {
		t.Fatalf("no sshd pid")
	}
	if ppid, _, ok := procStat(pid); ok && ppid == os.Getpid() {
		t.Errorf("daemonized sshd is still our child")
	}
	if _, errOut, err := sshRun(t, b, "d1", "true\n"); err != nil {
		t.Fatalf("ssh d1: %v: %s", err, errOut)
	}

	// Starting again in the same Dir replaces the old daemon.
	b2, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Errorf("old daemon %d survived a new Start in the same Dir", pid)
	}

	o, err := Open(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if o.Port != b2.Port || o.Users["d1"] != b2.Users["d1"] || o.Root != b2.Root {
		t.Errorf("Open: got port %d users %v, want %d %v", o.Port, o.Users, b2.Port, b2.Users)
	}
	pid2 := o.listenerPID()
	if err := o.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(pid2) || !refused(o.Port) || o.Running() {
		t.Fatalf("daemon %d alive after Stop", pid2)
	}
}

func TestStartErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("user checks apply in root mode only")
	}
	opts := testOptions(shortDir(t))
	opts.Aliases["bad"] = "jtnobody"
	if _, err := Start(opts); err == nil || !strings.Contains(err.Error(), "jtnobody") {
		t.Errorf("alias to an unknown user: err %v", err)
	}
	opts = testOptions(shortDir(t))
	opts.Users[0].Files = map[string]string{"../escape": "x"}
	if _, err := Start(opts); err == nil {
		t.Errorf("file outside the home: no error")
	}
}
