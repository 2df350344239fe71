package commands

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

// elsewhereAnswer is what open.sh and list.sh say of a session whose
// server runs on login1, another machine of the same home.
const elsewhereAnswer = "@@JT-SESSION@@\nstatus=elsewhere\nname=default\nboot=0b6d5c8e\nnode=login1\nstate=elsewhere\nhere=login2\n@@JT-END@@\n"

// onLogin1 is openAnswer as login1 gives it, for a server it runs.
var onLogin1 = strings.Replace(strings.Replace(openAnswer, "node=gpu1", "node=login1", 1), "status=started", "status=running", 1)

// viaLogin1 reports whether c went to login1 through the node hop.
func viaLogin1(c call) bool { return slices.Contains(c.Args, "HostName=login1") }

// loginPairSSH makes e's fake host two login nodes of one home: the
// master reaches login2, the session runs on login1 (keys: whether
// login2 vouches for login1's host key).
func loginPairSSH(e *testEnv, keys bool) {
	e.ssh.script = func(script string) (sshexec.Result, error) {
		calls := e.ssh.Calls()
		hop := viaLogin1(calls[len(calls)-1])
		switch {
		case strings.Contains(script, hostKeyScript):
			return sshexec.Result{Stdout: []byte(hostKeysAnswer("login1", keys))}, nil
		case strings.Contains(script, "# jt ls:") && hop:
			return sshexec.Result{Stdout: []byte(strings.Replace(onLogin1, "status=running\n", "", 1) + "@@JT-DONE@@\n")}, nil
		case strings.Contains(script, "# jt ls:"):
			return sshexec.Result{Stdout: []byte(strings.Replace(elsewhereAnswer, "status=elsewhere\n", "", 1) + "@@JT-DONE@@\n")}, nil
		case hop:
			return sshexec.Result{Stdout: []byte(onLogin1)}, nil
		}
		return sshexec.Result{Stdout: []byte(elsewhereAnswer)}, nil
	}
}

// jt open of a session that runs on the other login node: open.sh there,
// through a hop to login1 on the login's master, which then holds the
// tunnel; the record keeps the node and the hop.
func TestOpenElsewhereGoesThroughTheHop(t *testing.T) {
	e := newTestEnv(t)
	loginPairSSH(e, true)
	if err := runOpen(context.Background(), e.d, openOpts()); err != nil {
		t.Fatalf("open: %v", err)
	}
	var kinds []string
	for _, c := range e.ssh.Calls() {
		k := c.Kind
		if viaLogin1(c) {
			k += "@login1"
		}
		kinds = append(kinds, k)
	}
	// The login, open.sh (elsewhere), the hop (host keys from login2, its
	// master), open.sh on login1, the forward on the hop, proved
	// to be held by the hop's master (its pid).
	want := []string{"check", "master", "script", "check@login1", "script", "master@login1", "script@login1", "forward@login1", "check@login1"}
	if got := without(kinds, "version", "resolve"); !slices.Equal(got, want) {
		t.Errorf("ssh calls %q, want %q", got, want)
	}
	f, err := e.d.Engine.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Find("gpu1", "default")
	if !ok || s.Node != "login1" || s.Hop == "" || s.PID != 4242 {
		t.Errorf("record %+v, want node login1, a hop, pid 4242", s)
	}
}

// Where login2 vouches for no host key of login1, jt says so, naming
// login1, and starts nothing: no hop master, no open.sh there, no record.
func TestOpenElsewhereUnreachable(t *testing.T) {
	e := newTestEnv(t)
	loginPairSSH(e, false)
	err := runOpen(context.Background(), e.d, openOpts())
	if err == nil || !strings.Contains(err.Error(), "runs on login1") || !strings.Contains(err.Error(), "knows no host key of login1") {
		t.Fatalf("open: %v, want an error naming login1 and why", err)
	}
	for _, c := range e.ssh.Calls() {
		if viaLogin1(c) && c.Kind != "check" {
			t.Errorf("a %s call to login1: %q", c.Kind, c.Args)
		}
	}
	f, _ := e.d.Engine.Store.Load()
	if len(f.Sessions) != 0 || len(f.Pending) != 0 {
		t.Errorf("state %+v, want nothing recorded", f)
	}
}

// jt ls HOST of a session on the other login node asks login1 through a
// hop made for the listing, and ends it: the row names login1.
func TestLsElsewhereAsksTheNode(t *testing.T) {
	e := newTestEnv(t)
	loginPairSSH(e, true)
	e.ssh.master = true
	if err := runLs(context.Background(), e.d, lsOptions{Hosts: []string{"gpu1"}, JSON: true, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if out := e.stdout.String(); !strings.Contains(out, `"node": "login1"`) || !strings.Contains(out, `"state": "tunnel down"`) || !strings.Contains(out, `"pid": 4242`) {
		t.Errorf("jt ls --json printed %s, want the server on login1, tunnel down", out)
	}
	exited := slices.ContainsFunc(e.ssh.Calls(), func(c call) bool { return c.Kind == "exit" && viaLogin1(c) })
	if !exited || e.ssh.hopMaster {
		t.Errorf("the listing's hop to login1 was not ended (exit sent: %v)", exited)
	}
}
