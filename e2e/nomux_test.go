package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// controlSockets lists what jt left in its control directory that is a socket.
func controlSockets(t *testing.T, e *env) []string {
	t.Helper()
	var socks []string
	filepath.Walk(e.Runtime, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSocket != 0 {
			socks = append(socks, p)
		}
		return nil
	})
	filepath.Walk(filepath.Join(e.State, "jt"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSocket != 0 {
			socks = append(socks, p)
		}
		return nil
	})
	return socks
}

// The lifecycle again, without a ControlMaster (--no-mux, as on Windows):
// open, a dropped tunnel and reattach, ls over two hosts, close and close
// --kill. No control socket may appear, and no ssh may be left behind.
func TestE2ENoMux(t *testing.T) {
	e := newEnv(t)
	e.vars = append(e.vars, "JT_NO_MUX=1")

	a := e.open("hosta", "nm")
	mustAnswer(t, a.URL)
	if got := runKernel(t, a.URL); got != "2" {
		t.Fatalf("kernel through a direct tunnel: 1+1 = %q", got)
	}
	b := e.open("hostb", "nm", "--tcp")
	mustAnswer(t, b.URL)

	f, err := e.loadState()
	if err != nil {
		t.Fatal(err)
	}
	var fwdPID int
	for _, s := range f.Sessions {
		if s.Transport != "direct" || s.ForwardPID <= 0 {
			t.Errorf("session %s/%s recorded as transport %q, forward pid %d; want direct with a pid", s.Host, s.Name, s.Transport, s.ForwardPID)
		}
		if s.Host == "hosta" {
			fwdPID = s.ForwardPID
		}
	}
	if procs := forwardProcs(t, a.LocalPort); len(procs) != 1 || procs[0] != fwdPID {
		t.Errorf("ssh processes forwarding %d: %v, recorded %d", a.LocalPort, procs, fwdPID)
	}
	for _, r := range e.ls() {
		if r.State != "up" {
			t.Errorf("%s %s: %q, want up", r.Host, r.Name, r.State)
		}
	}

	// The tunnel's ssh dies (laptop sleep, network change): ls says so,
	// and jt open brings it back to the same server.
	if err := killLocal(fwdPID); err != nil {
		t.Fatal(err)
	}
	waitDead(t, fwdPID)
	mustNotAnswer(t, a.URL)
	if r := row(t, e.ls(), "hosta", "nm"); r.State != "tunnel down" || r.PID != a.PID {
		t.Errorf("after the tunnel died: %+v, want tunnel down with pid %d", r, a.PID)
	}
	again := e.open("hosta", "nm")
	if again.PID != a.PID || again.Status != "running" {
		t.Errorf("reopen: pid %d status %q, want pid %d running", again.PID, again.Status, a.PID)
	}
	mustAnswer(t, again.URL)

	// close without --kill: the tunnel's ssh ends, the server stays.
	e.jt("close", "--name", "nm", "hostb")
	if procs := forwardProcs(t, b.LocalPort); len(procs) != 0 {
		t.Errorf("ssh processes left forwarding %d after close: %v", b.LocalPort, procs)
	}
	if !remoteAlive(t, "hostb", b.PID) {
		t.Errorf("close without --kill stopped the server %d", b.PID)
	}

	e.jt("close", "--kill", "--all")
	for _, port := range []int{again.LocalPort, b.LocalPort} {
		if procs := forwardProcs(t, port); len(procs) != 0 {
			t.Errorf("ssh processes left forwarding %d after close --kill: %v", port, procs)
		}
	}
	if remoteAlive(t, "hosta", a.PID) || remoteAlive(t, "hostb", b.PID) {
		t.Error("close --kill left a server running")
	}
	if ids := screenIDs(t, "hosta", "nm"); len(ids) != 0 {
		t.Errorf("screen sessions left: %v", ids)
	}
	if socks := controlSockets(t, e); len(socks) != 0 {
		t.Errorf("control sockets created without multiplexing: %v", socks)
	}
}
