package session

import (
	"testing"

	"github.com/jt-sh/jt/state"
)

// An extra forward of a batch session goes to its node's address from the
// login node, whether the session's own tunnel goes there on TCP or, for a
// private session, to a socket through the node hop.
func TestForwardTarget(t *testing.T) {
	port := state.Forward{LocalPort: 9001, RemotePort: 6006}
	job := func(addr string) *state.Job {
		return &state.Job{Scheduler: "slurm", ID: "42", Node: "node1", Addr: addr}
	}
	cases := []struct {
		name string
		s    state.Session
		f    state.Forward
		host string
	}{
		{"plain host", state.Session{Mode: "socket", RemoteSock: "/tmp/s"}, port, ""},
		{"batch on TCP", state.Session{Mode: "tcp", RemoteHost: "10.77.0.2", Job: job("10.77.0.2")}, port, "10.77.0.2"},
		{"private batch", state.Session{Mode: "socket", RemoteSock: "/tmp/jt.x/s", Job: &state.Job{Scheduler: "slurm", ID: "42", Node: "node1", Addr: "10.77.0.2", Hop: "/c/nd-1"}}, port, "10.77.0.2"},
		{"batch on TCP, recorded without addr", state.Session{Mode: "tcp", RemoteHost: "10.77.0.2", Job: job("")}, port, "10.77.0.2"},
		{"private batch, recorded without addr", state.Session{Mode: "socket", RemoteSock: "/tmp/jt.x/s", Job: job("")}, port, "node1"},
		{"a socket of the host", state.Session{Mode: "socket"}, state.Forward{LocalPort: 9001, RemoteSock: "/run/x.sock"}, ""},
	}
	for _, c := range cases {
		fw := forwardTarget(c.s, c.f)
		if fw.RemoteHost != c.host || fw.LocalPort != c.f.LocalPort || fw.RemotePort != c.f.RemotePort || fw.RemoteSock != c.f.RemoteSock {
			t.Errorf("%s: %+v; want remote host %q", c.name, fw, c.host)
		}
	}
}
