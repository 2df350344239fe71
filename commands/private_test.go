package commands

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

// slurmWaiting is slurm_open.sh's answer for a job that runs and waits for
// jt's word on how Jupyter is to listen.
const slurmWaiting = `@@JT-QUEUE@@ 42|RUNNING|None|1|node7|started
@@JT-SESSION@@
status=started
name=default
job=42
nonce=0a1b2c3d4e5f60718293a4b5
node=node7
addr=10.1.2.7
log=/home/a/.local/state/jt/slurm/default/0a1b2c3d4e5f60718293a4b5/log
wait=mode
@@JT-END@@
`

// slurmOnSocket is its answer once Jupyter listens on the socket.
const slurmOnSocket = `@@JT-SESSION@@
status=running
name=default
job=42
nonce=0a1b2c3d4e5f60718293a4b5
node=node7
addr=10.1.2.7
pid=5151
runtime=nbserver-5151.json
started=1700000500
left=59:50
limit=1:00:00
dir=/home/a
log=/home/a/.local/state/jt/slurm/default/0a1b2c3d4e5f60718293a4b5/log
@@JT-JSON@@
{"pid":5151,"port":0,"sock":"/tmp/jt-AbC123/jupyter.sock","token":"abc","base_url":"/"}
@@JT-END@@
`

// jt open --slurm: the job waits; jt makes the node master (the host keys
// from the login node first), gives the word "socket", forwards to the
// socket on that master and records it; jt close --kill ends it.
func TestSlurmPrivateSocket(t *testing.T) {
	e := newTestEnv(t)
	var gave []string
	e.ssh.script = func(script string) (sshexec.Result, error) {
		switch {
		case strings.Contains(script, "# jt open --slurm, on the login node"):
			if strings.Contains(script, "\ngive=''\n") {
				gave = append(gave, "")
				return sshexec.Result{Stdout: []byte(slurmWaiting)}, nil
			}
			gave = append(gave, "socket")
			if !strings.Contains(script, "\ngive='socket'\n") {
				t.Errorf("the second script gives no word socket")
			}
			return sshexec.Result{Stdout: []byte(slurmOnSocket)}, nil
		case strings.Contains(script, hostKeyScript):
			return sshexec.Result{Stdout: []byte(hostKeysAnswer("node7", true))}, nil
		case strings.Contains(script, "# jt close --kill of a Slurm session"):
			return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nname=default\njobs=42\nstate=cancelled\n@@JT-END@@\n")}, nil
		}
		t.Errorf("unexpected script:\n%s", script)
		return sshexec.Result{}, nil
	}
	o := openOptions{Host: "login1", Name: "default", Flavour: "notebook", Mux: "auto", Timeout: time.Minute, NoBrowser: true,
		Slurm: slurmOptions{Enabled: true}}
	if err := runOpen(context.Background(), e.d, o); err != nil {
		t.Fatalf("open: %v\n%s", err, e.stderr)
	}
	if !slices.Equal(gave, []string{"", "socket"}) {
		t.Errorf("scripts gave %q, want the question, then socket", gave)
	}
	if strings.Contains(e.stderr.String(), "token-only") {
		t.Errorf("stderr:\n%s", e.stderr)
	}
	var forward *call
	for _, c := range e.ssh.Calls() {
		if c.Kind == "forward" {
			forward = &c
		}
	}
	if forward == nil || !slices.Contains(forward.Args, "HostName=node7") || !slices.Contains(forward.Args, "StrictHostKeyChecking=yes") ||
		!strings.HasSuffix(forward.Args[slices.Index(forward.Args, "-L")+1], ":/tmp/jt-AbC123/jupyter.sock") {
		t.Fatalf("forward %+v, want -L to the socket on the node master", forward)
	}
	checkArgv(t, e.ssh.Calls(), "login1")
	f, _ := e.d.Engine.Store.Load()
	s, ok := f.Find("login1", "default")
	if !ok || s.Mode != "socket" || s.Exposure != "private" || s.Job.Hop == "" || s.RemoteSock != "/tmp/jt-AbC123/jupyter.sock" || s.RemoteHost != "" {
		t.Fatalf("record %+v", s)
	}
	e.ssh.Reset()
	if err := runClose(context.Background(), e.d, closeOptions{Host: "login1", Name: "default", Kill: true, Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ended := false
	for _, c := range e.ssh.Calls() {
		if c.Kind == "exit" && slices.Contains(c.Args, "HostName=node7") {
			ended = true
		}
	}
	if !ended {
		t.Errorf("close did not end the node master: %v", e.ssh.Kinds())
	}
}

// The login node vouches for no key of the node: jt does not try the node
// (no ssh to it at all), falls back to TCP and says how the user can vouch
// for the key; with private, it refuses and cancels the job it submitted.
func TestSlurmPrivateNoHostKey(t *testing.T) {
	for _, private := range []bool{false, true} {
		e := newTestEnv(t)
		var cancelled bool
		e.ssh.script = func(script string) (sshexec.Result, error) {
			switch {
			case strings.Contains(script, "# jt close --kill of a Slurm session"):
				cancelled = !strings.Contains(script, "\nnonce=''\n") // its own job only, by its nonce
				return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nname=default\njobs=42\nstate=cancelled\n@@JT-END@@\n")}, nil
			case strings.Contains(script, "# jt open --slurm, on the login node"):
				if strings.Contains(script, "\ngive=''\n") {
					return sshexec.Result{Stdout: []byte(slurmWaiting)}, nil
				}
				if !strings.Contains(script, "\ngive='tcp'\n") {
					t.Errorf("private %v: the second script gives no word tcp", private)
				}
				return sshexec.Result{Stdout: []byte(slurmAnswer)}, nil
			case strings.Contains(script, hostKeyScript):
				return sshexec.Result{Stdout: []byte(hostKeysAnswer("node7", false))}, nil
			}
			t.Errorf("unexpected script:\n%.300s", script)
			return sshexec.Result{}, nil
		}
		o := openOptions{Host: "login1", Name: "default", Flavour: "notebook", Mux: "auto", Timeout: time.Minute, NoBrowser: true,
			Slurm: slurmOptions{Enabled: true}}
		req := o.request()
		req.Batch.Private = private
		op, err := e.d.Engine.Open(context.Background(), req)
		for _, c := range e.ssh.Calls() {
			if slices.Contains(c.Args, "HostName=node7") && c.Kind != "check" && c.Kind != "exit" {
				t.Errorf("private %v: ssh to the node with no key vouched for: %s %q", private, c.Kind, c.Args)
			}
		}
		vouch := "run ssh node7 once on login1 and check the key it shows"
		if private {
			if err == nil || !strings.Contains(err.Error(), "private") || !strings.Contains(err.Error(), vouch) {
				t.Errorf("private open: %v, want a refusal that says how to vouch for the key", err)
			}
			if !cancelled {
				t.Errorf("the refused private open did not cancel its own job: %q\n%s", e.ssh.Kinds(), e.stderr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("open: %v\n%s", err, e.stderr)
		}
		if op.Session.Exposure != "token-only" || !strings.Contains(e.stderr.String(), vouch) || !strings.Contains(e.stderr.String(), "exposure token-only") {
			t.Errorf("fallback: exposure %q; stderr:\n%s", op.Session.Exposure, e.stderr)
		}
	}
}
