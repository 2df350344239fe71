package session

import (
	"testing"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// Whose word a session's far end needs, and what the host's answers vouch
// for: the recorded server, nothing else.
func TestFarEndVouching(t *testing.T) {
	now := time.Unix(1700000000, 0)
	plainSock := state.Session{Mode: "socket", RemoteSock: "/home/a/.local/state/jt/sessions/s/runtime/jupyter.sock", PID: 7, Token: "abc"}
	plainTCP := state.Session{Mode: "tcp", RemotePort: 8888, PID: 7, Token: "abc"}
	job := &state.Job{Scheduler: "slurm", ID: "42", Node: "node1", Nonce: "n1", End: now.Add(time.Hour)}
	batchTCP := state.Session{Mode: "tcp", RemoteHost: "10.77.0.2", RemotePort: 8888, PID: 5151, Token: "abc", Job: job}
	batchSock := state.Session{Mode: "socket", RemoteSock: "/tmp/jt-x/jupyter.sock", PID: 5151, Token: "abc", Job: job}
	if !selfProving(plainSock) || selfProving(plainTCP) || selfProving(batchTCP) || selfProving(batchSock) {
		t.Error("only a plain session's socket proves itself")
	}

	running := func(srv templates.ServerInfo) templates.Block {
		return templates.Block{Values: map[string]string{"state": "running"}, Server: &srv}
	}
	for _, c := range []struct {
		name string
		s    state.Session
		b    templates.Block
		ok   bool
		want bool
	}{
		{"the recorded server", plainTCP, running(templates.ServerInfo{PID: 7, Port: 8888, Token: "abc"}), true, true},
		{"no answer about it", plainTCP, templates.Block{}, false, false},
		{"dead", plainTCP, templates.Block{Values: map[string]string{"state": "dead"}}, true, false},
		{"another pid", plainTCP, running(templates.ServerInfo{PID: 8, Port: 8888, Token: "abc"}), true, false},
		{"another token", plainTCP, running(templates.ServerInfo{PID: 7, Port: 8888, Token: "xyz"}), true, false},
		{"another port", plainTCP, running(templates.ServerInfo{PID: 7, Port: 8889, Token: "abc"}), true, false},
		{"on a socket now", plainTCP, running(templates.ServerInfo{PID: 7, Sock: "/x.sock", Token: "abc"}), true, false},
		{"the recorded socket", plainSock, running(templates.ServerInfo{PID: 7, Sock: plainSock.RemoteSock, Token: "abc"}), true, true},
	} {
		if got := sameServer(c.s, c.b, c.ok); got != c.want {
			t.Errorf("sameServer, %s: %v, want %v", c.name, got, c.want)
		}
	}

	run := scheduler.Job{ID: "42", Nonce: "n1", Node: "node1", Phase: scheduler.Running, PID: 5151, Addr: "10.77.0.2", Port: 8888}
	moved, other, ended, noinfo, elsewhere := run, run, run, run, run
	moved.Node, moved.Addr = "node2", "10.77.1.2"
	other.Nonce = "n2"
	ended.Phase = scheduler.Ended
	noinfo.PID = 0 // the job's file is gone: Jupyter exited
	elsewhere.Port = 8889
	for _, c := range []struct {
		name string
		s    state.Session
		j    scheduler.Job
		now  time.Time
		want bool
	}{
		{"token-only, running", batchTCP, run, now, true},
		{"private, running", batchSock, run, now, true},
		{"on another node", batchSock, moved, now, false},
		{"another job with the id", batchTCP, other, now, false},
		{"ended", batchTCP, ended, now, false},
		{"Jupyter gone from the job", batchSock, noinfo, now, false},
		{"another port", batchTCP, elsewhere, now, false},
		{"past its end time", batchTCP, run, now.Add(2 * time.Hour), false},
	} {
		if got := sameJob(c.s, c.j, true, c.now); got != c.want {
			t.Errorf("sameJob, %s: %v, want %v", c.name, got, c.want)
		}
	}
	if !jobOver(batchTCP, now.Add(time.Hour)) || jobOver(batchTCP, now) || jobOver(plainTCP, now.Add(100*time.Hour)) {
		t.Error("jobOver: a job is over from its end time on; a plain session never")
	}
}
