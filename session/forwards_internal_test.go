package session

import (
	"testing"

	"github.com/jt-sh/jt/state"
)

// An extra forward of a batch session goes to its node's address from the
// login node; a private session's (its tunnel held by the node hop) goes
// through the hop to the node's loopback, or to the address it was found
// on, and may lead to a unix socket there.
func TestForwardTarget(t *testing.T) {
	port := state.Forward{LocalPort: 9001, RemotePort: 6006}
	job := func(addr string) *state.Job {
		return &state.Job{Scheduler: "slurm", ID: "42", Node: "node1", Addr: addr}
	}
	private := state.Session{Mode: "socket", RemoteSock: "/tmp/jt.x/s", Job: &state.Job{Scheduler: "slurm", ID: "42", Node: "node1", Addr: "10.77.0.2", Hop: "/c/nd-1"}}
	moved := private
	moved.Job = &state.Job{Scheduler: "slurm", ID: "43", Node: "node2", Addr: "10.77.1.2", Hop: "/c/nd-2"}
	cases := []struct {
		name string
		s    state.Session
		f    state.Forward
		host string
	}{
		{"plain host", state.Session{Mode: "socket", RemoteSock: "/tmp/s"}, port, ""},
		{"batch on TCP", state.Session{Mode: "tcp", RemoteHost: "10.77.0.2", Job: job("10.77.0.2")}, port, "10.77.0.2"},
		{"private batch", private, port, "127.0.0.1"},
		{"private batch, on the node's address", private, state.Forward{LocalPort: 9001, RemotePort: 6006, At: state.AtNodeAddress}, "10.77.0.2"},
		// The job moved to node2: its forwards lead to node2, whatever an
		// older jt recorded of node1.
		{"private batch moved, on the node's address", moved, state.Forward{LocalPort: 9001, RemotePort: 6006, At: state.AtNodeAddress}, "10.77.1.2"},
		{"private batch moved, an address an older jt recorded", moved, state.Forward{LocalPort: 9001, RemotePort: 6006, RemoteHost: "10.77.0.2"}, "10.77.1.2"},
		{"token-only batch moved, an address an older jt recorded", state.Session{Mode: "tcp", RemoteHost: "10.77.1.2", Job: job("10.77.1.2")}, state.Forward{LocalPort: 9001, RemotePort: 6006, RemoteHost: "10.77.0.2"}, "10.77.1.2"},
		{"private batch, a socket of the node", private, state.Forward{LocalPort: 9001, RemoteSock: "/tmp/x.sock"}, ""},
		{"batch on TCP, an address left from a private one", state.Session{Mode: "tcp", RemoteHost: "10.77.0.3", Job: job("10.77.0.3")}, state.Forward{LocalPort: 9001, RemotePort: 6006, RemoteHost: "127.0.0.1"}, "10.77.0.3"},
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
