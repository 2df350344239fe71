package sshexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// RemoteShell is the only text the remote login shell ever parses: it hands
// the script on stdin to a POSIX sh, whatever the login shell (bash, zsh,
// tcsh, fish) and whatever its rc files print.
const RemoteShell = "exec /bin/sh -s"

// Client builds and runs jt's ssh calls for one local user.
type Client struct {
	Runner Runner
	// ConfigFile, when set, is passed as -F (instead of ~/.ssh/config).
	ConfigFile string
	// ControlDir holds the control sockets (see ControlDir).
	ControlDir string
	// ConnectTimeout bounds a fresh login's TCP connect (ssh ConnectTimeout).
	ConnectTimeout time.Duration
	// Options are extra ssh -o Key=Value settings from a profile.
	Options []string
}

// Forward is one local forward: 127.0.0.1:LocalPort to a remote TCP port
// or a remote unix socket.
type Forward struct {
	LocalPort  int
	RemoteHost string // "127.0.0.1" unless the server listens elsewhere
	RemotePort int
	RemoteSock string // absolute path; takes precedence over the port
}

// Spec is the -L argument. The bind address is always explicit: without it
// ssh listens on [::1] too, and GatewayPorts yes would open it to the LAN.
func (f Forward) Spec() string {
	if f.RemoteSock != "" {
		return "127.0.0.1:" + strconv.Itoa(f.LocalPort) + ":" + f.RemoteSock
	}
	host := f.RemoteHost
	if host == "" {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "127.0.0.1:" + strconv.Itoa(f.LocalPort) + ":" + host + ":" + strconv.Itoa(f.RemotePort)
}

// ControlPath is the pattern passed to ssh (ending in %C).
func (c *Client) ControlPath() string { return ControlPathPattern(c.ControlDir) }

func (c *Client) base(host string, opts ...string) []string {
	a := []string{}
	if c.ConfigFile != "" {
		a = append(a, "-F", c.ConfigFile)
	}
	for _, o := range c.Options {
		a = append(a, "-o", o)
	}
	a = append(a, "-o", "ControlPath="+c.ControlPath())
	for _, o := range opts {
		a = append(a, "-o", o)
	}
	return a
}

// client is the argv prefix of every call that rides on the master: it
// must never prompt, and never start a master of its own.
func (c *Client) client(host string) []string {
	return c.base(host, "ControlMaster=no", "BatchMode=yes", "ConnectTimeout="+c.connectTimeout())
}

func (c *Client) connectTimeout() string {
	if c.ConnectTimeout <= 0 {
		return "15"
	}
	return strconv.Itoa(int((c.ConnectTimeout + time.Second - 1) / time.Second))
}

// MasterArgs starts a persistent master that ssh daemonises (-f) once the
// user is authenticated. Keepalives let a dead network end it.
func (c *Client) MasterArgs(host string) []string {
	a := c.base(host,
		"ControlMaster=yes",
		"ControlPersist=yes",
		"ServerAliveInterval=15",
		"ServerAliveCountMax=3",
		"ConnectTimeout="+c.connectTimeout(),
		"ClearAllForwardings=yes",
		"RemoteCommand=none",
		"ExitOnForwardFailure=yes",
	)
	return append(a, "-fN", "--", host)
}

// CheckArgs asks the local master whether it runs.
func (c *Client) CheckArgs(host string) []string {
	return append(c.client(host), "-O", "check", "--", host)
}

// ExitArgs tells the master to exit (ending its forwards).
func (c *Client) ExitArgs(host string) []string {
	return append(c.client(host), "-O", "exit", "--", host)
}

// ForwardArgs adds a forward to the master; CancelArgs removes it.
func (c *Client) ForwardArgs(host string, f Forward) []string {
	return append(c.client(host), "-O", "forward", "-L", f.Spec(), "--", host)
}

// CancelArgs removes a forward from the master.
func (c *Client) CancelArgs(host string, f Forward) []string {
	return append(c.client(host), "-O", "cancel", "-L", f.Spec(), "--", host)
}

// ScriptArgs runs a script (sent on stdin) through the master.
func (c *Client) ScriptArgs(host string) []string {
	a := append(c.client(host), "-o", "ClearAllForwardings=yes", "-o", "RemoteCommand=none", "-T", "--", host)
	return append(a, RemoteShell)
}

// TerminalArgs runs a remote command with a terminal (jt attach). The
// command must be built from quoted values by the caller.
func (c *Client) TerminalArgs(host, remoteCmd string) []string {
	a := append(c.client(host), "-o", "ClearAllForwardings=yes", "-o", "RemoteCommand=none", "-t", "--", host)
	return append(a, remoteCmd)
}

// Check reports nil when a master for host answers on jt's control path.
func (c *Client) Check(ctx context.Context, host string) error {
	_, err := c.Runner.Run(ctx, Cmd{Args: c.CheckArgs(host)})
	return err
}

// StartMaster authenticates (on the user's terminal) and leaves a master.
func (c *Client) StartMaster(ctx context.Context, host string) (Result, error) {
	return c.Runner.Run(ctx, Cmd{Args: c.MasterArgs(host), Mode: Master})
}

// EnsureMaster reuses a live master or starts one. It reports whether it
// started a new one.
func (c *Client) EnsureMaster(ctx context.Context, host string, checkTimeout time.Duration) (started bool, res Result, err error) {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	err = c.Check(cctx, host)
	cancel()
	if err == nil {
		return false, Result{}, nil
	}
	if ctx.Err() != nil {
		return false, Result{}, ctx.Err()
	}
	res, err = c.StartMaster(ctx, host)
	if err != nil {
		return false, res, fmt.Errorf("connect to %s: %w", host, err)
	}
	return true, res, nil
}

// Exit stops the master for host. No master is not an error.
func (c *Client) Exit(ctx context.Context, host string) error {
	_, err := c.Runner.Run(ctx, Cmd{Args: c.ExitArgs(host)})
	if errors.Is(err, ErrNoMaster) {
		return nil
	}
	return err
}

// AddForward asks the master for a forward. ssh answers locally; whether
// the far end exists shows only when a connection is made.
func (c *Client) AddForward(ctx context.Context, host string, f Forward) error {
	_, err := c.Runner.Run(ctx, Cmd{Args: c.ForwardArgs(host, f)})
	return err
}

// CancelForward removes a forward; a forward that does not exist is not an
// error (ssh says "port not forwarded" and exits 0).
func (c *Client) CancelForward(ctx context.Context, host string, f Forward) error {
	_, err := c.Runner.Run(ctx, Cmd{Args: c.CancelArgs(host, f)})
	if errors.Is(err, ErrNoMaster) {
		return nil
	}
	return err
}

// RunScript sends script to a POSIX sh on host through the master.
func (c *Client) RunScript(ctx context.Context, host string, script io.Reader) (Result, error) {
	return c.Runner.Run(ctx, Cmd{Args: c.ScriptArgs(host), Stdin: script})
}

// StreamScript runs a script whose output goes straight to the user.
func (c *Client) StreamScript(ctx context.Context, host string, script io.Reader) error {
	_, err := c.Runner.Run(ctx, Cmd{Args: c.ScriptArgs(host), Stdin: script, Mode: Stream})
	return err
}

// RunTerminal runs remoteCmd with the user's terminal attached.
func (c *Client) RunTerminal(ctx context.Context, host, remoteCmd string) error {
	_, err := c.Runner.Run(ctx, Cmd{Args: c.TerminalArgs(host, remoteCmd), Mode: Terminal})
	return err
}

// LocalPortFree reports whether 127.0.0.1:port can be bound now.
func LocalPortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
