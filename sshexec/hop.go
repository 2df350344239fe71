package sshexec

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/visible"
)

// Hop is a master of its own to a batch job's compute node that rides on
// the login node's master: its ProxyCommand is `ssh -W %h:%p` through
// that master, so reaching the node asks for nothing (no second password,
// no second 2FA prompt, no new login to the login node). It logs in as the
// login does (the login's destination, user and identities, with HostName
// set to the node), and checks the node's host key strictly against
// KnownHosts, a file of jt's own that holds the key the login node vouched
// for (see WriteKnownHosts).
type Hop struct {
	Login string // the login node, as jt was given it
	Node  string // the node's host name, as the scheduler names it (checked)
	Name  string // the session: each has a hop of its own
}

// (A length bound as a counted repetition, {0,252}, would cost milliseconds
// to compile at every start: the bound is checked apart.)
var hopNodeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`) })

// CheckHopNode refuses a node name that could be anything but a host name
// in an ssh argv or a ProxyCommand.
func CheckHopNode(node string) error {
	if len(node) > 253 || !hopNodeRE().MatchString(node) || strings.Contains(node, "..") {
		return fmt.Errorf("node name %s is not a plain host name", visible.Quote(node))
	}
	return nil
}

// NodeHop is hop h through client c: the master to a job's node, and the
// Tunnel of a session whose server is private there.
type NodeHop struct {
	c *Client
	Hop
}

// NodeHop is h's master, through c.
func (c *Client) NodeHop(h Hop) NodeHop { return NodeHop{c, h} }

func (n NodeHop) key() string {
	sum := sha256.Sum256([]byte(n.c.Dest(n.Login) + "\x00" + n.Node + "\x00" + n.Name))
	return hex.EncodeToString(sum[:8])
}

// ControlPath is the hop's control socket in jt's control directory.
func (n NodeHop) ControlPath() string {
	return filepath.Join(n.c.ControlDir, "nd-"+n.key())
}

// KnownHostsPath is jt's known_hosts file for the hop's node (0600, in
// jt's 0700 control directory).
func (n NodeHop) KnownHostsPath() string {
	return filepath.Join(n.c.ControlDir, "kh-"+n.key())
}

// proxyQuote quotes a word for the shell ssh runs a ProxyCommand with (the
// user's: sh, bash, zsh, fish or tcsh), with ssh's own % tokens escaped.
// Words that no shell reads the same way inside single quotes are refused.
func proxyQuote(s string) (string, error) {
	if strings.ContainsAny(s, "'\\!\n\r\x00") {
		return "", fmt.Errorf("%s cannot go into a ProxyCommand", visible.Quote(s))
	}
	return "'" + strings.ReplaceAll(s, "%", "%%") + "'", nil
}

// ProxyCommand is the hop's ProxyCommand: stdio forwarding (-W) through
// the login node's master, never a login of its own.
func (c *Client) ProxyCommand(login string) (string, error) {
	bin := "ssh"
	if r, ok := c.Runner.(*ExecRunner); ok && r.Path != "" {
		bin = r.Path
	}
	words := []string{bin}
	words = append(words, c.client(login)...)
	words = append(words, "-W", "%h:%p", "--", c.Dest(login))
	out := make([]string, len(words))
	for i, w := range words {
		if w == "%h:%p" {
			out[i] = w
			continue
		}
		q, err := proxyQuote(w)
		if err != nil {
			return "", err
		}
		out[i] = q
	}
	return strings.Join(out, " "), nil // ssh runs it as exec …
}

// base is the argv prefix of every call about the hop: jt's options
// first (ssh keeps the first value it sees), so that nothing in the user's
// config can turn the node's host-key check off or send the hop elsewhere.
func (n NodeHop) base(opts ...string) ([]string, error) {
	if err := CheckHopNode(n.Node); err != nil {
		return nil, err
	}
	proxy, err := n.c.ProxyCommand(n.Login)
	if err != nil {
		return nil, err
	}
	a := []string{}
	if n.c.ConfigFile != "" {
		a = append(a, "-F", n.c.ConfigFile)
	}
	for _, o := range append([]string{
		"ControlPath=" + n.ControlPath(),
		"HostName=" + n.Node,
		"Port=22",
		"ProxyCommand=" + proxy,
		"HostKeyAlias=" + n.Node,
		"UserKnownHostsFile=" + n.KnownHostsPath(),
		"GlobalKnownHostsFile=none",
		"StrictHostKeyChecking=yes",
		"UpdateHostKeys=no",
		"CheckHostIP=no",
		"BatchMode=yes",
		// What the user's config says for the login node is not for a
		// node the login node vouched for: no agent or X11 there, no other
		// source of host keys, no local command.
		"ForwardAgent=no",
		"ForwardX11=no",
		"VerifyHostKeyDNS=no",
		"PermitLocalCommand=no",
	}, opts...) {
		a = append(a, "-o", o)
	}
	if n.c.knowsKnownHostsCommand() {
		a = append(a, "-o", "KnownHostsCommand=none")
	}
	for _, o := range n.c.Options {
		a = append(a, "-o", o)
	}
	for _, o := range n.c.Routes[n.Login].Options {
		a = append(a, "-o", o)
	}
	return a, nil
}

// khcSSH memoises, per ssh binary, whether it takes KnownHostsCommand.
var khcSSH sync.Map

// knowsKnownHostsCommand reports whether this ssh takes KnownHostsCommand:
// OpenSSH 8.5 and later. An older one refuses the option (and the user's
// config cannot hold it either). ssh -V is asked once per binary.
func (c *Client) knowsKnownHostsCommand() bool {
	r, ok := c.Runner.(*ExecRunner)
	if !ok {
		return true // a test's runner: argv is what it records
	}
	if v, ok := khcSSH.Load(r.Path); ok {
		return v.(bool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	line, err := c.Version(ctx)
	major, minor, isOpenSSH := OpenSSHVersion(line)
	knows := err == nil && isOpenSSH && (major > 8 || major == 8 && minor >= 5)
	khcSSH.Store(r.Path, knows)
	return knows
}

// MasterArgs starts the hop's master (daemonised once logged in).
func (n NodeHop) MasterArgs() ([]string, error) {
	a, err := n.base("ControlMaster=auto", "ControlPersist=yes", "ServerAliveInterval=15", "ServerAliveCountMax=3",
		"ConnectTimeout="+n.c.connectTimeout(), "ClearAllForwardings=yes", "RemoteCommand=none", "ExitOnForwardFailure=yes")
	if err != nil {
		return nil, err
	}
	return append(a, "-fN", "--", n.c.Dest(n.Login)), nil
}

// op is a -O operation on the hop's master.
func (n NodeHop) op(op ...string) ([]string, error) {
	a, err := n.base("ControlMaster=no")
	if err != nil {
		return nil, err
	}
	a = append(a, "-O")
	a = append(a, op...)
	return append(a, "--", n.c.Dest(n.Login)), nil
}

// ForwardArgs adds forward f to the hop's master.
func (n NodeHop) ForwardArgs(f Forward) ([]string, error) {
	return n.op("forward", "-L", f.Spec())
}

// CancelArgs removes forward f from the hop's master.
func (n NodeHop) CancelArgs(f Forward) ([]string, error) {
	return n.op("cancel", "-L", f.Spec())
}

// CancelForward removes forward f from the hop's master; no master is
// not an error.
func (n NodeHop) CancelForward(ctx context.Context, f Forward) error {
	a, err := n.CancelArgs(f)
	_, err = n.run(ctx, a, err, Capture)
	if errors.Is(err, ErrNoMaster) {
		return nil
	}
	return err
}

func (n NodeHop) run(ctx context.Context, args []string, err error, mode Mode) (Result, error) {
	if err != nil {
		return Result{}, err
	}
	return n.c.Runner.Run(ctx, Cmd{Args: args, Mode: mode})
}

// Check reports nil when the hop's master answers.
func (n NodeHop) Check(ctx context.Context) error {
	a, err := n.op("check")
	_, err = n.run(ctx, a, err, Capture)
	return err
}

// Start starts the hop's master. It asks nothing (BatchMode): a node
// that wants a password, or whose key jt was not given, refuses.
func (n NodeHop) Start(ctx context.Context) (Result, error) {
	a, err := n.MasterArgs()
	return n.run(ctx, a, err, Master)
}

// AddForward asks the hop's master for forward f.
func (n NodeHop) AddForward(ctx context.Context, f Forward) (int, error) {
	a, err := n.ForwardArgs(f)
	_, err = n.run(ctx, a, err, Capture)
	return 0, err
}

// Exit ends the hop's master (and its forwards) and removes jt's
// known_hosts file for it. No master is not an error.
func (n NodeHop) Exit(ctx context.Context) error {
	a, err := n.op("exit")
	_, err = n.run(ctx, a, err, Capture)
	os.Remove(n.KnownHostsPath())
	if err != nil && !errors.Is(err, ErrNoMaster) {
		return err
	}
	return nil
}

// HostKey is one host key a login node vouches for.
type HostKey struct {
	Revoked bool // a @revoked line: ssh refuses this key
	// CertAuthority: a @cert-authority line whose patterns match the node:
	// ssh accepts a host certificate it signed for the node's name.
	CertAuthority bool
	Type          string // ssh-ed25519, ecdsa-sha2-nistp256, …
	Key           string // base64
}

var keyTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true, "ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true,
	"ecdsa-sha2-nistp521": true, "sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// CheckHostKey holds a key to the grammar of a known_hosts key: a known
// type, and base64 whose decoded blob starts with that same type, as every
// ssh public key blob does.
func CheckHostKey(typ, key string) error {
	if !keyTypes[typ] {
		return fmt.Errorf("key type %s is not one ssh uses for host keys", visible.Quote(typ))
	}
	if len(key) > 16384 {
		return fmt.Errorf("a %s key of %d bytes is too long", typ, len(key))
	}
	blob, err := base64.StdEncoding.Strict().DecodeString(key)
	if err != nil || len(blob) < 4 {
		return fmt.Errorf("the %s key is not base64", typ)
	}
	n := binary.BigEndian.Uint32(blob)
	if int(n) != len(typ) || len(blob) < 4+len(typ) || string(blob[4:4+len(typ)]) != typ {
		return fmt.Errorf("the %s key's blob names another type", typ)
	}
	return nil
}

// WriteKnownHosts writes jt's known_hosts file for the hop: the keys the
// login node vouched for, under the node's name (the hop's HostKeyAlias).
// 0600, written to a temporary file and renamed.
func (n NodeHop) WriteKnownHosts(keys []HostKey) error {
	if err := CheckHopNode(n.Node); err != nil {
		return err
	}
	var b strings.Builder
	for _, k := range keys {
		if err := CheckHostKey(k.Type, k.Key); err != nil {
			return err
		}
		switch {
		case k.Revoked:
			b.WriteString("@revoked ")
		case k.CertAuthority:
			b.WriteString("@cert-authority ")
		}
		fmt.Fprintf(&b, "%s %s %s\n", n.Node, k.Type, k.Key)
	}
	path := n.KnownHostsPath()
	tmp, err := os.CreateTemp(n.c.ControlDir, ".kh-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// PID asks the hop's master for its process id (-O check).
func (n NodeHop) PID(ctx context.Context) (int, error) {
	a, err := n.op("check")
	res, err := n.run(ctx, a, err, Capture)
	if err != nil {
		return 0, err
	}
	m := masterPIDRE().FindSubmatch(append(res.Stderr, res.Stdout...))
	if m == nil {
		return 0, errors.New("the node's master did not tell its pid")
	}
	pid, _ := strconv.Atoi(string(m[1]))
	return pid, nil
}

// ListenerOwned is Client.ListenerOwned for a tunnel the hop's master holds.
func (n NodeHop) ListenerOwned(ctx context.Context, localPort int) error {
	if localPort < 1 || localPort > 65535 {
		return fmt.Errorf("local port %d out of range", localPort)
	}
	ls, err := listenersOn(localPort)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	pid, err := n.PID(cctx)
	switch {
	case err == nil:
	case errors.Is(err, ErrTimeout), ctx.Err() != nil:
		return fmt.Errorf("127.0.0.1:%d: %w", localPort, err)
	default:
		return fmt.Errorf("127.0.0.1:%d: %w (%v)", localPort, ErrPortTaken, err)
	}
	return ls.heldBy(pid)
}

// TerminalArgs runs remoteCmd on the hop's node with the user's
// terminal attached, on the hop's master.
func (n NodeHop) TerminalArgs(remoteCmd string) ([]string, error) {
	a, err := n.base("ControlMaster=no", "ClearAllForwardings=yes", "RemoteCommand=none")
	if err != nil {
		return nil, err
	}
	return append(a, "-t", "--", n.c.Dest(n.Login), remoteCmd), nil
}

// RunTerminal runs remoteCmd on the hop's node with the user's
// terminal attached (jt attach to a batch session).
func (n NodeHop) RunTerminal(ctx context.Context, remoteCmd string) error {
	a, err := n.TerminalArgs(remoteCmd)
	_, err = n.run(ctx, a, err, Terminal)
	return err
}

// ScriptArgs runs one of jt's scripts (on stdin) on the hop's node,
// on the hop's master.
func (n NodeHop) ScriptArgs() ([]string, error) {
	a, err := n.base("ControlMaster=no", "ClearAllForwardings=yes", "RemoteCommand=none")
	if err != nil {
		return nil, err
	}
	return append(a, "-T", "--", n.c.Dest(n.Login), RemoteShell), nil
}

// RunScript runs script on the hop's node.
func (n NodeHop) RunScript(ctx context.Context, script io.Reader) (Result, error) {
	a, err := n.ScriptArgs()
	if err != nil {
		return Result{}, err
	}
	return n.c.Runner.Run(ctx, Cmd{Args: a, Stdin: script, AnswerWithin: n.c.AnswerWithin, MaxStdout: MaxScriptOutput})
}
