package sshexec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
	// NoMux selects the transport without ControlMaster (Windows, or
	// configurations where multiplexing does not work): every script is its
	// own ssh login, every forward a detached `ssh -fN -L` of its own.
	NoMux bool
	// Batch forbids prompts even without a master (jt ls checks hosts; it
	// must never stop to ask for a password).
	Batch bool
	// AnswerWithin bounds the wait for a script's first output (see
	// Cmd.AnswerWithin); 0 waits as long as the context allows.
	AnswerWithin time.Duration
	// Routes maps names jt was given for hosts (profiles) to the ssh
	// destination and options of their calls (see Route).
	Routes map[string]Route
}

// Forward is one local forward: 127.0.0.1:LocalPort to a remote TCP port
// or a remote unix socket.
type Forward struct {
	LocalPort  int
	RemoteHost string // "127.0.0.1" unless the server listens elsewhere
	RemotePort int
	RemoteSock string // absolute path; takes precedence over the port
	PID        int    // without a master: the ssh holding it, as recorded
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
	// ssh keeps the first value it sees for an option: jt's own come first
	// so that no profile option can redirect the control path or prompt.
	if c.NoMux {
		a = append(a, "-o", "ControlPath=none", "-o", "ControlMaster=no")
	} else {
		a = append(a, "-o", "ControlPath="+c.ControlPath())
	}
	for _, o := range opts {
		a = append(a, "-o", o)
	}
	for _, o := range c.Options {
		a = append(a, "-o", o)
	}
	for _, o := range c.Routes[host].Options {
		a = append(a, "-o", o)
	}
	return a
}

// client is the argv prefix of every call that rides on the master: it
// must never prompt, and never start a master of its own.
func (c *Client) client(host string) []string {
	if c.NoMux {
		// Each call logs in by itself; it may have to ask, unless told not to.
		if c.Batch {
			return c.base(host, "BatchMode=yes", "ConnectTimeout="+c.connectTimeout())
		}
		return c.base(host, "ConnectTimeout="+c.connectTimeout())
	}
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
		// auto, not yes: a stale socket left by a killed master is unlinked
		// and replaced; yes would keep it and fall back to a plain
		// connection ("disabling multiplexing"). Callers hold the host lock
		// and have checked that no live master exists.
		"ControlMaster=auto",
		"ControlPersist=yes",
		"ServerAliveInterval=15",
		"ServerAliveCountMax=3",
		"ConnectTimeout="+c.connectTimeout(),
		"ClearAllForwardings=yes",
		"RemoteCommand=none",
		"ExitOnForwardFailure=yes",
	)
	return append(a, "-fN", "--", c.Dest(host))
}

// DirectForwardArgs is a forward without a master: an ssh of its own that
// daemonises (-f) once the login is done and the port is bound.
func (c *Client) DirectForwardArgs(host string, f Forward) []string {
	return c.directForwardArgs(host, f, "-fN")
}

func (c *Client) directForwardArgs(host string, f Forward, mode string) []string {
	a := c.base(host,
		"ServerAliveInterval=15",
		"ServerAliveCountMax=3",
		"ConnectTimeout="+c.connectTimeout(),
		"ExitOnForwardFailure=yes",
		"RemoteCommand=none",
	)
	return append(a, mode, "-L", f.Spec(), "--", c.Dest(host))
}

// CheckArgs asks the local master whether it runs.
func (c *Client) CheckArgs(host string) []string {
	return append(c.client(host), "-O", "check", "--", c.Dest(host))
}

// ExitArgs tells the master to exit (ending its forwards).
func (c *Client) ExitArgs(host string) []string {
	return append(c.client(host), "-O", "exit", "--", c.Dest(host))
}

// ForwardArgs adds a forward to the master; CancelArgs removes it.
func (c *Client) ForwardArgs(host string, f Forward) []string {
	return append(c.client(host), "-O", "forward", "-L", f.Spec(), "--", c.Dest(host))
}

// CancelArgs removes a forward from the master.
func (c *Client) CancelArgs(host string, f Forward) []string {
	return append(c.client(host), "-O", "cancel", "-L", f.Spec(), "--", c.Dest(host))
}

// ScriptArgs runs a script (sent on stdin) through the master.
func (c *Client) ScriptArgs(host string) []string {
	a := append(c.client(host), "-o", "ClearAllForwardings=yes", "-o", "RemoteCommand=none", "-T", "--", c.Dest(host))
	return append(a, RemoteShell)
}

// TerminalArgs runs a remote command with a terminal (jt attach). The
// command must be built from quoted values by the caller.
func (c *Client) TerminalArgs(host, remoteCmd string) []string {
	a := append(c.client(host), "-o", "ClearAllForwardings=yes", "-o", "RemoteCommand=none", "-t", "--", c.Dest(host))
	return append(a, remoteCmd)
}

// Check reports nil when a master for host answers on jt's control path.
func (c *Client) Check(ctx context.Context, host string) error {
	_, err := c.MasterPID(ctx, host)
	return err
}

var masterPIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Master running \(pid=([0-9]+)\)`) })

// MasterPID asks the master for its process id (-O check).
func (c *Client) MasterPID(ctx context.Context, host string) (int, error) {
	res, err := c.Runner.Run(ctx, Cmd{Args: c.CheckArgs(host)})
	if err != nil {
		return 0, err
	}
	m := masterPIDRE().FindSubmatch(append(res.Stderr, res.Stdout...))
	if m == nil {
		return 0, nil
	}
	pid, _ := strconv.Atoi(string(m[1]))
	return pid, nil
}

// StartMaster authenticates (on the user's terminal) and leaves a master.
func (c *Client) StartMaster(ctx context.Context, host string) (Result, error) {
	return c.Runner.Run(ctx, Cmd{Args: c.MasterArgs(host), Mode: Master})
}

// EnsureMaster reuses a live master or starts one, and reports whether it
// started one. -O check is answered by the local master alone, even when
// the network behind it is dead: the scripts that follow prove the link
// (see AnswerWithin and ReplaceMaster), at no extra round trip.
func (c *Client) EnsureMaster(ctx context.Context, host string) (started bool, res Result, err error) {
	if c.NoMux {
		return false, Result{}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	pid, err := c.MasterPID(cctx, host)
	cancel()
	switch {
	case err == nil:
		if pid > 0 {
			// Remembered for the day this master hangs (see killMaster);
			// learning it here costs no extra ssh process.
			WritePIDFile(c.pidFile(host), pid)
		}
		return false, Result{}, nil
	case errors.Is(err, ErrTimeout):
		// A master that does not even answer -O check (stopped, hung)
		// would also hang the next ssh that tries its socket.
		c.killMaster(host, 0)
	}
	if ctx.Err() != nil {
		return false, Result{}, ctx.Err()
	}
	return c.startMaster(ctx, host)
}

// ReplaceMaster ends host's master, whose link is dead, and starts anew.
func (c *Client) ReplaceMaster(ctx context.Context, host string) (Result, error) {
	if c.NoMux {
		return Result{}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	pid, _ := c.MasterPID(cctx, host)
	xerr := c.Exit(cctx, host)
	cancel()
	if xerr != nil || pid > 0 {
		c.killMaster(host, pid)
	}
	_, res, err := c.startMaster(ctx, host)
	return res, err
}

// startMaster reports started=true also when ssh failed: it may have
// daemonised a master just before it was interrupted, which the caller
// must undo. (The Ctrl-C that ends ssh may reach it before this process's
// context is cancelled, so ctx.Err() cannot tell.) Undoing a master that
// never started costs nothing.
func (c *Client) startMaster(ctx context.Context, host string) (bool, Result, error) {
	res, err := c.StartMaster(ctx, host)
	if err != nil {
		return true, res, fmt.Errorf("connect to %s: %w", host, err)
	}
	return true, res, nil
}

// pidFile records the pid of the master jt started for host, so that a
// master too hung to answer -O check can still be ended.
func (c *Client) pidFile(host string) string {
	sum := sha256.Sum256([]byte(c.Dest(host)))
	return filepath.Join(c.ControlDir, "master-"+hex.EncodeToString(sum[:8])+".pid")
}

// killMaster ends host's master: pid if known, else the recorded one. Once
// it is gone its socket is stale, and ControlMaster=auto replaces it.
func (c *Client) killMaster(host string, pid int) {
	if pid <= 0 {
		pid = RecordedPID(c.pidFile(host))
	}
	if pid <= 0 || !isOurMaster(pid, c.ControlDir) {
		pid = findMaster(c.ControlDir, c.Dest(host))
	}
	if pid <= 0 || !isOurMaster(pid, c.ControlDir) {
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
		time.Sleep(50 * time.Millisecond) // let the kernel close its socket
	}
	os.Remove(c.pidFile(host))
}

// Exit stops the master for host. No master is not an error.
func (c *Client) Exit(ctx context.Context, host string) error {
	if c.NoMux {
		return nil
	}
	_, err := c.Runner.Run(ctx, Cmd{Args: c.ExitArgs(host)})
	if err != nil && !errors.Is(err, ErrNoMaster) {
		return err
	}
	c.reapMaster(ctx, host)
	return nil
}

// reapMaster makes sure no master for host outlives Exit: one whose login
// was interrupted may hold the control socket without answering it yet, or
// be about to daemonise. It waits a moment for the master to leave, then
// ends it, and looks again: the first process with a master's argv may be
// a JT_SSH wrapper around ssh, not the daemonised master itself.
func (c *Client) reapMaster(ctx context.Context, host string) {
	deadline := time.Now().Add(2 * time.Second)
	for kills := 0; kills < 8; {
		pid := findMaster(c.ControlDir, c.Dest(host))
		if pid <= 0 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.killMaster(host, pid)
			kills++
			continue
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// AddForwardPID asks the master for a forward (ssh answers locally;
// whether the far end exists shows only when a connection is made) and,
// without a master, returns the pid of the ssh that holds it (to record,
// check and stop it later).
func (c *Client) AddForwardPID(ctx context.Context, host string, f Forward) (int, error) {
	if !c.NoMux {
		_, err := c.Runner.Run(ctx, Cmd{Args: c.ForwardArgs(host, f)})
		return 0, err
	}
	if runtime.GOOS == "windows" {
		// Windows' ssh cannot daemonise (-f): start it detached ourselves
		// and wait for the local port to be bound.
		res, err := c.Runner.Run(ctx, Cmd{Args: c.directForwardArgs(host, f, "-N"), Mode: Detach})
		if err != nil {
			return 0, err
		}
		// Windows shows no argv to find this ssh by later: its pid and
		// start time are what CancelForward checks before a kill.
		WritePIDFile(c.forwardPIDFile(host, f), res.PID)
		for !LocalPortListening(f.LocalPort) {
			select {
			case <-ctx.Done():
				killProcess(res.PID)
				return 0, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return res.PID, nil
	}
	if _, err := c.Runner.Run(ctx, Cmd{Args: c.DirectForwardArgs(host, f), Mode: Master}); err != nil {
		return 0, err
	}
	return c.ForwardPID(host, f), nil
}

// LocalPortListening reports whether something accepts on 127.0.0.1:port.
func LocalPortListening(port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// CancelForward removes a forward; a forward that does not exist is not an
// error (ssh says "port not forwarded" and exits 0).
func (c *Client) CancelForward(ctx context.Context, host string, f Forward) error {
	if c.NoMux {
		pid := c.ForwardPID(host, f)
		if runtime.GOOS == "windows" {
			// No argv to check there: only the ssh jt started for this
			// forward, with the start time it had then, is ended.
			path := c.forwardPIDFile(host, f)
			if pid = RecordedPID(path); pid > 0 && f.PID > 0 && pid != f.PID {
				pid = 0
			}
			os.Remove(path)
		}
		if pid > 0 {
			return killProcess(pid)
		}
		return nil
	}
	_, err := c.Runner.Run(ctx, Cmd{Args: c.CancelArgs(host, f)})
	if errors.Is(err, ErrNoMaster) {
		return nil
	}
	return err
}

// MaxScriptOutput bounds what jt keeps of a script's output: far more than
// any answer (those are refused above 1 MiB), enough for jt logs.
const MaxScriptOutput = 64 << 20

// forwardPIDFile records the ssh that holds forward f to host without a
// master, where its argv cannot be read (Windows).
func (c *Client) forwardPIDFile(host string, f Forward) string {
	sum := sha256.Sum256([]byte(c.Dest(host) + "\x00" + f.Spec()))
	return filepath.Join(c.ControlDir, "forward-"+hex.EncodeToString(sum[:8])+".pid")
}

// RunScript sends script to a POSIX sh on host through the master.
func (c *Client) RunScript(ctx context.Context, host string, script io.Reader) (Result, error) {
	return c.Runner.Run(ctx, Cmd{Args: c.ScriptArgs(host), Stdin: script, AnswerWithin: c.AnswerWithin, MaxStdout: MaxScriptOutput})
}

// StreamScript runs a script whose output goes to out as it comes.
func (c *Client) StreamScript(ctx context.Context, host string, script io.Reader, out io.Writer) error {
	_, err := c.Runner.Run(ctx, Cmd{Args: c.ScriptArgs(host), Stdin: script, Mode: Stream, Stdout: out})
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

// ForwardPID finds the detached ssh that holds forward f to host without a
// master (0 if none): its argv ends like jt's with the exact -L spec, and
// only one process can hold the local port.
func (c *Client) ForwardPID(host string, f Forward) int {
	want := c.DirectForwardArgs(host, f)
	if runtime.GOOS == "windows" {
		want = c.directForwardArgs(host, f, "-N")
	}
	return findProcess(func(args []string) bool {
		return len(args) > len(want) && equalTail(args, want)
	})
}

func equalTail(args, want []string) bool {
	tail := args[len(args)-len(want):]
	for i := range want {
		if tail[i] != want[i] {
			return false
		}
	}
	return true
}

// MuxUnsupported reports whether a master failed because this ssh cannot
// multiplex (Windows' OpenSSH, or a ControlPath the system refuses).
func MuxUnsupported(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	s := strings.ToLower(e.Stderr)
	for _, sign := range []string{"multiplex", "controlpath", "control socket", "unix domain socket", "getsockname failed", "not supported"} {
		if strings.Contains(s, sign) {
			return true
		}
	}
	return false
}
