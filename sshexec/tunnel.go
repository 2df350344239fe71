package sshexec

import (
	"context"
	"io"
	"time"
)

// Tunnel is the ssh connection that holds a session's forwards: the
// login's master (with NoMux, an ssh of its own for each forward), or the
// master of a batch job's node hop. The session picks one for a session
// (Client.Tunnel, Client.NodeHop) and then asks it, never which it is.
type Tunnel interface {
	// AddForward adds forward f; with NoMux it is an ssh of its own, whose
	// pid comes back (0 otherwise).
	AddForward(ctx context.Context, f Forward) (pid int, err error)
	// CancelForward removes f; one that is not there is not an error.
	CancelForward(ctx context.Context, f Forward) error
	// ListenerOwned proves that the tunnel's own process holds local
	// port localPort: it is not another program's listener.
	ListenerOwned(ctx context.Context, localPort int) error
	// RunScript runs a remote sh script (on stdin) through the tunnel.
	RunScript(ctx context.Context, script io.Reader) (Result, error)
	// Exit ends the tunnel's master, its forwards with it.
	Exit(ctx context.Context) error
}

// Tunnel is host's: the master jt keeps for it (or, with NoMux, the
// forwards' own ssh).
func (c *Client) Tunnel(host string) Tunnel { return masterTunnel{c, host} }

type masterTunnel struct {
	c    *Client
	host string
}

func (t masterTunnel) AddForward(ctx context.Context, f Forward) (int, error) {
	return t.c.AddForwardPID(ctx, t.host, f)
}

func (t masterTunnel) CancelForward(ctx context.Context, f Forward) error {
	return t.c.CancelForward(ctx, t.host, f)
}

func (t masterTunnel) ListenerOwned(ctx context.Context, localPort int) error {
	return t.c.ListenerOwned(ctx, t.host, localPort, 0, time.Time{})
}

func (t masterTunnel) RunScript(ctx context.Context, script io.Reader) (Result, error) {
	return t.c.RunScript(ctx, t.host, script)
}

func (t masterTunnel) Exit(ctx context.Context) error { return t.c.Exit(ctx, t.host) }

var (
	_ Tunnel = masterTunnel{}
	_ Tunnel = NodeHop{}
)
