//go:build linux

// Package sshbox runs a throwaway OpenSSH server on 127.0.0.1, so that
// end-to-end tests, benchmarks and the sandbox script can drive jt through
// the real ssh client against a real sshd, with no remote machine.
//
// Why the real binaries: jt's behaviour depends on what OpenSSH actually
// does (ControlMaster quirks, login shells re-parsing commands, host-key
// errors). An in-process Go SSH server would hide exactly those bugs.
//
// Two modes, chosen by the effective user id:
//
//   - Root (the normal case on CI and dev machines here): sshd runs as root
//     and logs in real unix users that the box creates and resets, each
//     with its own login shell (bash, tcsh, fish...) and dotfiles. This is
//     the only way to test several users or shells: an unprivileged sshd
//     can only log in the user that runs it.
//   - Non-root: sshd runs as the current user and every alias logs in as
//     that user. The box never writes into the developer's real home, so
//     User.Shell and User.Files are ignored.
//
// The box owns the unix users it is given: Start and Stop kill every
// process of those users. Use dedicated names (jtbox1, ...), never a real
// account, and give concurrently running boxes distinct user names.
//
// Root mode is Linux-only (useradd, /proc). The ssh client config the box
// writes is meant for `ssh -F Box.ConfigPath`; it never disables host-key
// checking — known_hosts is pre-filled instead — so host-key failures that
// a test provokes (ChangeHostKey) look exactly like the real thing.
package sshbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sshdPath must be absolute: sshd re-executes itself for every connection
// and refuses to start otherwise ("sshd re-exec requires execution with an
// absolute path").
const sshdPath = "/usr/sbin/sshd"

// readyTimeout bounds how long Start waits for sshd to send its banner.
const readyTimeout = 10 * time.Second

// stopTimeout bounds how long a SIGTERM may take before SIGKILL follows.
const stopTimeout = 5 * time.Second

// File names inside Options.Dir.
const (
	sshdConfigName = "sshd_config"
	sshConfigName  = "ssh_config"
	logName        = "sshd.log"
	pidName        = "sshd.pid"
	hostKeyName    = "host_ed25519"
	clientKeyName  = "id_ed25519"
	knownHostsName = "known_hosts"
	authKeysName   = "authorized_keys" // non-root mode only
	stateName      = "box.json"
)

// User is a unix account the box logs in as (root mode).
type User struct {
	Name  string            // unix user name (root mode: created if missing)
	Shell string            // login shell, e.g. "/bin/bash", "/usr/bin/tcsh", "/usr/bin/fish"; "" = /bin/bash
	Files map[string]string // files written into the user's home (path relative to home → content), e.g. ".cshrc": "echo hello banner\n"
}

// Options configures Start.
type Options struct {
	Dir        string            // base directory for keys, config, logs; created 0700 if missing. Callers keep it short (<= 40 bytes).
	Aliases    map[string]string // ssh Host alias → unix user name (must appear in Users when root)
	Users      []User
	Foreground bool // true: sshd -D as a child process (tests); false: daemonized sshd that outlives the process (CLI)
}

// Box is a running (or stopped) throwaway sshd and the files around it.
type Box struct {
	Dir         string
	Port        int
	ConfigPath  string // generated ssh client config (use with ssh -F)
	LogPath     string // sshd log (LogLevel VERBOSE; "Accepted publickey for USER" lines)
	KeyPath     string // client private key
	HostKeyPath string
	Root        bool              // whether the box runs as root with real test users
	Users       map[string]string // alias → the effective remote user name (non-root mode: the current user for every alias)

	SSHDConfigPath string // generated sshd_config
	PidPath        string // sshd's PidFile
	Foreground     bool   // sshd runs as `sshd -D`, a child of this process

	userNames []string // unix users owned by the box (root mode); their processes die at Stop

	mu   sync.Mutex
	cmd  *exec.Cmd     // foreground sshd, nil when not running
	done chan struct{} // closed when the foreground sshd has been reaped
}

// state is what Open needs to find a daemonized box again from another
// process (the CLI's stop).
type state struct {
	Port       int
	Root       bool
	Users      map[string]string
	UserNames  []string
	Foreground bool
}

var userNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// Start creates keys and configs in opts.Dir, prepares the users (root
// mode) and starts sshd, returning once sshd answers with its banner.
// A box left running in the same Dir by an earlier run is stopped first.
func Start(opts Options) (*Box, error) {
	if opts.Dir == "" {
		return nil, errors.New("Options.Dir is empty")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	// sshd_config and ssh_config split values on whitespace; quoting rules
	// differ between versions, so refuse rather than quote.
	if strings.ContainsAny(dir, " \t\n\"'\\#") {
		return nil, fmt.Errorf("box directory %q must not contain spaces, quotes, backslashes or #", dir)
	}
	if len(opts.Aliases) == 0 {
		return nil, errors.New("no Aliases")
	}
	for alias := range opts.Aliases {
		if alias == "" || strings.ContainsAny(alias, " \t\n\"'\\#*?!,") {
			return nil, fmt.Errorf("invalid alias %q", alias)
		}
	}

	b := &Box{
		Dir:            dir,
		ConfigPath:     filepath.Join(dir, sshConfigName),
		LogPath:        filepath.Join(dir, logName),
		KeyPath:        filepath.Join(dir, clientKeyName),
		HostKeyPath:    filepath.Join(dir, hostKeyName),
		SSHDConfigPath: filepath.Join(dir, sshdConfigName),
		PidPath:        filepath.Join(dir, pidName),
		Root:           os.Geteuid() == 0,
		Foreground:     opts.Foreground,
		Users:          map[string]string{},
	}

	users := map[string]User{}
	if b.Root {
		for _, u := range opts.Users {
			if !userNameRE.MatchString(u.Name) {
				return nil, fmt.Errorf("invalid unix user name %q", u.Name)
			}
			if u.Name == "root" {
				return nil, errors.New("root cannot be a box user (PermitRootLogin no, and Stop would kill every root process)")
			}
			users[u.Name] = u
		}
		for alias, name := range opts.Aliases {
			if _, ok := users[name]; !ok {
				return nil, fmt.Errorf("alias %q maps to user %q, which is not in Options.Users", alias, name)
			}
			b.Users[alias] = name
		}
		for name := range users {
			b.userNames = append(b.userNames, name)
		}
		sort.Strings(b.userNames)
	} else {
		me, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("current user: %w", err)
		}
		for alias := range opts.Aliases {
			b.Users[alias] = me.Username
		}
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create dir: %w", err)
	}
	if err := b.killStale(); err != nil {
		return nil, err
	}
	if b.Root {
		if err := ensureDir("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("privilege separation dir: %w", err)
		}
		// screen keeps its sockets in /run/screen/S-USER and, not being
		// setuid root on Debian, cannot create them unless the parent is
		// world-writable and sticky.
		if err := ensureDir("/run/screen", 0o777|os.ModeSticky); err != nil {
			return nil, fmt.Errorf("screen dir: %w", err)
		}
	}

	if err := keygen(b.HostKeyPath, "sshbox-host"); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if err := keygen(b.KeyPath, "sshbox-client"); err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	pub, err := os.ReadFile(b.KeyPath + ".pub")
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}

	if b.Root {
		for _, name := range b.userNames {
			if err := prepareUser(users[name], pub); err != nil {
				return nil, fmt.Errorf("prepare user %s: %w", name, err)
			}
		}
	} else {
		if err := os.WriteFile(filepath.Join(dir, authKeysName), pub, 0o600); err != nil {
			return nil, fmt.Errorf("authorized_keys: %w", err)
		}
	}

	// The free port is found by binding :0 and closing it, so another
	// process can grab it before sshd binds. Retry on that race only.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		b.Port = port
		if err := b.writeConfigs(); err != nil {
			return nil, err
		}
		if err := b.TrustHostKey(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(b.LogPath, nil, 0o600); err != nil {
			return nil, fmt.Errorf("truncate log: %w", err)
		}
		err = b.StartSSHD()
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(tail(b.LogPath, 20), "Address already in use") {
			continue
		}
		if b.Root {
			b.killUsers()
		}
		return nil, err
	}
	if err := b.saveState(); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// Open finds a box started in dir by another process (typically a
// daemonized box started by the CLI), so that it can be stopped.
func Open(dir string) (*Box, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, stateName))
	if err != nil {
		return nil, fmt.Errorf("open box: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("open box: %s: %w", stateName, err)
	}
	return &Box{
		Dir:            dir,
		Port:           st.Port,
		ConfigPath:     filepath.Join(dir, sshConfigName),
		LogPath:        filepath.Join(dir, logName),
		KeyPath:        filepath.Join(dir, clientKeyName),
		HostKeyPath:    filepath.Join(dir, hostKeyName),
		SSHDConfigPath: filepath.Join(dir, sshdConfigName),
		PidPath:        filepath.Join(dir, pidName),
		Root:           st.Root,
		Users:          st.Users,
		userNames:      st.UserNames,
		// Whoever started it, this process cannot wait for it: treat it
		// as a daemon and go through the pid file.
		Foreground: false,
	}, nil
}

func (b *Box) saveState() error {
	data, err := json.MarshalIndent(state{
		Port:       b.Port,
		Root:       b.Root,
		Users:      b.Users,
		UserNames:  b.userNames,
		Foreground: b.Foreground,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, stateName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// Stop stops sshd and its open connections and, in root mode, kills every
// process of the box's users (screen sessions and jupyter servers
// included) so that nothing leaks into the next test. Files in Dir are
// kept for post-mortems. Stopping a stopped box is not an error.
func (b *Box) Stop() error {
	err := b.StopSSHD()
	if b.Root {
		if kerr := b.killUsers(); err == nil {
			err = kerr
		}
	}
	return err
}

// StopSSHD stops the listening sshd and drops its open connections (and
// so any ControlMaster using them), as if the host went away. The users'
// own processes (screen, jupyter) keep running. Connections then fail
// with "Connection refused" until StartSSHD.
func (b *Box) StopSSHD() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopLocked()
}

// StartSSHD starts sshd again on the same port and with the same config,
// after StopSSHD or ChangeHostKey. The log is appended to, not truncated.
func (b *Box) StartSSHD() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.startLocked()
}

// ChangeHostKey replaces the host key and restarts sshd on the same port,
// leaving known_hosts with the old key, so that clients fail with
// "REMOTE HOST IDENTIFICATION HAS CHANGED". TrustHostKey undoes it.
func (b *Box) ChangeHostKey() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.stopLocked(); err != nil {
		return err
	}
	if err := keygen(b.HostKeyPath, "sshbox-host"); err != nil {
		return fmt.Errorf("change host key: %w", err)
	}
	return b.startLocked()
}

// TrustHostKey (re)writes known_hosts with the current host key, so that
// ssh connects without a prompt and without StrictHostKeyChecking=no.
func (b *Box) TrustHostKey() error {
	pub, err := os.ReadFile(b.HostKeyPath + ".pub")
	if err != nil {
		return fmt.Errorf("known_hosts: %w", err)
	}
	fields := strings.Fields(string(pub)) // type, base64, comment
	if len(fields) < 2 {
		return fmt.Errorf("known_hosts: malformed %s.pub", b.HostKeyPath)
	}
	// ssh looks non-default ports up as [host]:port.
	line := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", b.Port, fields[0], fields[1])
	if err := os.WriteFile(filepath.Join(b.Dir, knownHostsName), []byte(line), 0o600); err != nil {
		return fmt.Errorf("known_hosts: %w", err)
	}
	return nil
}

// Home returns the home directory of a remote user (an alias is accepted
// too and translated), or "" if the user is unknown.
func (b *Box) Home(name string) string {
	if u, ok := b.Users[name]; ok {
		name = u
	}
	if !b.Root {
		if u, err := user.Current(); err == nil && u.Username == name {
			return u.HomeDir
		}
		return ""
	}
	pw, err := lookupPasswd(name)
	if err != nil || pw == nil {
		return ""
	}
	return pw.home
}

// AuthCount returns how many times USER logged in with the box's key, i.e.
// the number of "Accepted publickey for USER " lines in the sshd log. It
// lets tests prove that a ControlMaster was reused (no new login). An
// alias is translated to its user.
func (b *Box) AuthCount(name string) (int, error) {
	if u, ok := b.Users[name]; ok {
		name = u
	}
	data, err := os.ReadFile(b.LogPath)
	if err != nil {
		return 0, fmt.Errorf("auth count: %w", err)
	}
	// The trailing " from " keeps jtbox1 from matching jtbox10.
	return bytes.Count(data, []byte("Accepted publickey for "+name+" from ")), nil
}

// Running reports whether the box's sshd is up.
func (b *Box) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listenerPID() > 0
}

// writeConfigs writes sshd_config and the ssh client config for b.Port.
func (b *Box) writeConfigs() error {
	var s strings.Builder
	s.WriteString("# Written by sshbox: a throwaway sshd for tests. Not for real use.\n")
	fmt.Fprintf(&s, "ListenAddress 127.0.0.1\nPort %d\n", b.Port)
	fmt.Fprintf(&s, "HostKey %s\nPidFile %s\n", b.HostKeyPath, b.PidPath)
	s.WriteString(`PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel VERBOSE
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
MaxSessions 30
MaxStartups 100:30:200
Subsystem sftp internal-sftp
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
PermitUserEnvironment no
`)
	if b.Root {
		s.WriteString("PermitRootLogin no\nStrictModes yes\nAuthorizedKeysFile .ssh/authorized_keys\n")
		// Only the box's own users: a root sshd on a developer machine
		// must not become a way into real accounts.
		fmt.Fprintf(&s, "AllowUsers %s\n", strings.Join(b.userNames, " "))
	} else {
		// The key lives in Dir, not in the developer's ~/.ssh, and Dir's
		// parents (e.g. /tmp) would fail StrictModes' ownership checks.
		fmt.Fprintf(&s, "StrictModes no\nAuthorizedKeysFile %s\n", filepath.Join(b.Dir, authKeysName))
	}
	if err := os.WriteFile(b.SSHDConfigPath, []byte(s.String()), 0o600); err != nil {
		return fmt.Errorf("write sshd_config: %w", err)
	}

	aliases := make([]string, 0, len(b.Users))
	for a := range b.Users {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	var c strings.Builder
	c.WriteString("# Written by sshbox for `ssh -F` against its throwaway sshd.\n")
	for _, a := range aliases {
		fmt.Fprintf(&c, `Host %s
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  LogLevel ERROR
`, a, b.Port, b.Users[a], b.KeyPath, filepath.Join(b.Dir, knownHostsName))
	}
	if err := os.WriteFile(b.ConfigPath, []byte(c.String()), 0o600); err != nil {
		return fmt.Errorf("write ssh config: %w", err)
	}
	return nil
}

// startLocked starts sshd and waits for its banner. b.mu must be held.
func (b *Box) startLocked() error {
	if b.listenerPID() > 0 {
		return errors.New("start sshd: already running")
	}
	logf, err := os.OpenFile(b.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	defer logf.Close()
	args := []string{"-f", b.SSHDConfigPath, "-E", b.LogPath}
	if b.Foreground {
		args = append([]string{"-D"}, args...)
	}
	cmd := exec.Command(sshdPath, args...)
	// A file, not a pipe: a daemonizing sshd would otherwise keep the
	// pipe open and make Wait hang. Early errors (before -E applies) land
	// in the log this way too.
	cmd.Stdout, cmd.Stderr = logf, logf

	if b.Foreground {
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start sshd: %w", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		b.cmd, b.done = cmd, done
		if err := waitReady(b.Port, done); err != nil {
			b.stopLocked()
			return fmt.Errorf("start sshd: %w\n%s", err, tail(b.LogPath, 20))
		}
		select {
		case <-done: // the banner came from someone else on this port
			b.cmd, b.done = nil, nil
			return fmt.Errorf("start sshd: sshd exited\n%s", tail(b.LogPath, 20))
		default:
		}
		return nil
	}

	// Daemon: the process we start forks, and the parent exits at once.
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start sshd: %w\n%s", err, tail(b.LogPath, 20))
	}
	if err := waitReady(b.Port, nil); err != nil {
		b.stopLocked()
		return fmt.Errorf("start sshd: %w\n%s", err, tail(b.LogPath, 20))
	}
	// The pid file is written right after bind; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for b.listenerPID() <= 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("start sshd: no live sshd in %s\n%s", b.PidPath, tail(b.LogPath, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// stopLocked stops the listener and its per-connection children.
// b.mu must be held.
func (b *Box) stopLocked() error {
	pid := b.listenerPID()
	if pid <= 0 {
		b.cmd, b.done = nil, nil
		return nil
	}
	// sshd's listener exits on SIGTERM without touching the connections
	// it forked; collect them first, while they are still its children.
	kids := childPIDs(pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop sshd: %w", err)
	}
	if b.cmd != nil && b.cmd.Process != nil && b.cmd.Process.Pid == pid {
		select {
		case <-b.done:
		case <-time.After(stopTimeout):
			b.cmd.Process.Kill()
			<-b.done
		}
		b.cmd, b.done = nil, nil
	} else if !waitGone(pid, stopTimeout) {
		syscall.Kill(pid, syscall.SIGKILL)
		if !waitGone(pid, stopTimeout) {
			return fmt.Errorf("stop sshd: pid %d survives SIGKILL", pid)
		}
	}
	// A per-connection monitor forwards SIGTERM to its session child,
	// which closes the TCP connection: clients see the host go away.
	for _, k := range kids {
		syscall.Kill(k, syscall.SIGTERM)
	}
	for _, k := range kids {
		if !waitGone(k, 2*time.Second) {
			syscall.Kill(k, syscall.SIGKILL)
		}
	}
	os.Remove(b.PidPath) // sshd removes it on SIGTERM, not on SIGKILL
	return nil
}

// listenerPID returns the pid of the box's listening sshd, or 0.
func (b *Box) listenerPID() int {
	if b.cmd != nil && b.done != nil {
		select {
		case <-b.done:
			b.cmd, b.done = nil, nil
		default:
			return b.cmd.Process.Pid
		}
	}
	data, err := os.ReadFile(b.PidPath)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !alive(pid) {
		return 0
	}
	// A stale pid file may name a recycled pid: only signal a process
	// that is our sshd (where /proc can tell).
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		if !bytes.Contains(cmdline, []byte(b.SSHDConfigPath)) {
			return 0
		}
	}
	return pid
}

// killStale stops an sshd left running by an earlier box in the same Dir
// (a crashed test, or `sshbox start` twice), so that its port and pid
// file do not get in the way.
func (b *Box) killStale() error {
	old := &Box{SSHDConfigPath: b.SSHDConfigPath, PidPath: b.PidPath}
	if err := old.stopLocked(); err != nil {
		return fmt.Errorf("stop previous box in %s: %w", b.Dir, err)
	}
	return nil
}

// killUsers kills every process of the box's users.
func (b *Box) killUsers() error {
	var first error
	for _, name := range b.userNames {
		pw, err := lookupPasswd(name)
		if err != nil || pw == nil {
			continue
		}
		if err := killUser(name, pw.uid); err != nil && first == nil {
			first = fmt.Errorf("stop: %w", err)
		}
	}
	return first
}

// waitReady waits until 127.0.0.1:port greets with an SSH-2.0 banner, the
// only proof that sshd (not just a socket) is up. exited, if non-nil, is
// closed when the sshd process dies, which ends the wait early.
func waitReady(port int, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("sshd exited")
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if strings.HasPrefix(line, "SSH-2.0") {
				return nil
			}
			err = fmt.Errorf("no SSH banner (got %q): %v", line, rerr)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("sshd not ready on %s after %v: %v", addr, readyTimeout, last)
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// keygen writes a fresh passphrase-less ed25519 key pair at path (0600),
// replacing any old one (ssh-keygen would otherwise ask to overwrite).
func keygen(path, comment string) error {
	os.Remove(path)
	os.Remove(path + ".pub")
	out, err := exec.Command("ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen: %w: %s", err, bytes.TrimSpace(out))
	}
	// sshd ignores a host key and ssh a client key that others can read.
	return os.Chmod(path, 0o600)
}

// ensureDir creates dir with mode if missing and fixes its mode if not.
func ensureDir(dir string, mode os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&(os.ModePerm|os.ModeSticky) != mode {
		return os.Chmod(dir, mode)
	}
	return nil
}

// passwd is the part of a passwd entry the box needs.
type passwd struct {
	uid, gid    int
	home, shell string
}

// lookupPasswd returns name's passwd entry, or nil if there is none.
// getent rather than os/user: the login shell is needed too.
func lookupPasswd(name string) (*passwd, error) {
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 2 { // key not found
			return nil, nil
		}
		return nil, fmt.Errorf("getent passwd %s: %w", name, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	if len(f) < 7 {
		return nil, fmt.Errorf("getent passwd %s: malformed entry %q", name, out)
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("getent passwd %s: malformed entry %q", name, out)
	}
	return &passwd{uid: uid, gid: gid, home: f[5], shell: f[6]}, nil
}

// run runs a command and folds its output into the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// prepareUser creates or fixes the account and resets its home to a known
// state, so that each test starts from the same remote machine.
func prepareUser(u User, pubKey []byte) error {
	shell := u.Shell
	if shell == "" {
		shell = "/bin/bash"
	}
	if _, err := os.Stat(shell); err != nil {
		return fmt.Errorf("login shell: %w", err)
	}
	pw, err := lookupPasswd(u.Name)
	if err != nil {
		return err
	}
	if pw == nil {
		if err := run("useradd", "-m", "-s", shell, u.Name); err != nil {
			return err
		}
	} else if pw.shell != shell {
		if err := run("usermod", "-s", shell, u.Name); err != nil {
			return err
		}
	}
	// useradd leaves the account locked ("!"), and with UsePAM no sshd
	// refuses a locked account even with a valid key. "*" means "no
	// password can match" without "locked".
	if err := run("usermod", "-p", "*", u.Name); err != nil {
		return err
	}
	if pw, err = lookupPasswd(u.Name); err != nil {
		return err
	} else if pw == nil {
		return errors.New("user missing after useradd")
	}
	if err := killUser(u.Name, pw.uid); err != nil {
		return err
	}

	home := pw.home
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	// StrictModes refuses a home writable by group or others, or owned
	// by someone else.
	fi, err := os.Stat(home)
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		if err := os.Chmod(home, perm&^0o022); err != nil {
			return fmt.Errorf("home: %w", err)
		}
	}
	if err := os.Chown(home, pw.uid, pw.gid); err != nil {
		return fmt.Errorf("home: %w", err)
	}

	// Leftovers of earlier runs: jupyter runtime files, screen and tmux
	// sockets, jupyter/ipython config, and the files about to be written.
	stale := []string{
		filepath.Join(home, ".local"),
		filepath.Join(home, ".screen"),
		filepath.Join(home, ".jupyter"),
		filepath.Join(home, ".ipython"),
		filepath.Join(home, ".ssh"),
		filepath.Join("/run/screen", "S-"+u.Name),
		filepath.Join("/tmp", fmt.Sprintf("tmux-%d", pw.uid)), // tmux ignores $TMPDIR
	}
	rels := make([]string, 0, len(u.Files))
	for rel := range u.Files {
		clean := filepath.Clean(rel)
		if filepath.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("file %q: must be relative to the home directory", rel)
		}
		stale = append(stale, filepath.Join(home, clean))
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, p := range stale {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("reset home: %w", err)
		}
	}

	sshDir := filepath.Join(home, ".ssh")
	if err := mkdirOwned(home, ".ssh", 0o700, pw); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	if err := writeOwned(filepath.Join(sshDir, "authorized_keys"), pubKey, 0o600, pw); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	for _, rel := range rels {
		clean := filepath.Clean(rel)
		if err := mkdirOwned(home, filepath.Dir(clean), 0o755, pw); err != nil {
			return fmt.Errorf("file %s: %w", rel, err)
		}
		if err := writeOwned(filepath.Join(home, clean), []byte(u.Files[rel]), 0o644, pw); err != nil {
			return fmt.Errorf("file %s: %w", rel, err)
		}
	}
	return nil
}

// mkdirOwned creates home/rel and any missing parents below home, owned
// by the user, so that the user can later write there.
func mkdirOwned(home, rel string, mode os.FileMode, pw *passwd) error {
	if rel == "." {
		return nil
	}
	p := home
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if err := os.Mkdir(p, mode); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return err
		}
		if err := os.Chmod(p, mode); err != nil { // umask
			return err
		}
		if err := os.Chown(p, pw.uid, pw.gid); err != nil {
			return err
		}
	}
	return nil
}

// writeOwned writes a file with exactly mode (not mode&^umask), owned by
// the user.
func writeOwned(path string, data []byte, mode os.FileMode, pw *passwd) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(path, mode); err != nil {
		return err
	}
	return os.Chown(path, pw.uid, pw.gid)
}

// killUser SIGKILLs every process of the user and waits until none is
// left alive. Zombies do not count: on machines whose init does not reap
// orphans they never go away.
func killUser(name string, uid int) error {
	out, err := exec.Command("pkill", "-KILL", "-u", name).CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 { // 1 = no process matched
			return fmt.Errorf("pkill -u %s: %w: %s", name, err, bytes.TrimSpace(out))
		}
	}
	deadline := time.Now().Add(stopTimeout)
	for {
		left := userPIDs(uid)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of %s survive SIGKILL: %v", name, left)
		}
		for _, pid := range left { // forked after pkill looked
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStat returns a process's parent pid and state letter from
// /proc/PID/stat; ok is false without /proc or without the process.
func procStat(pid int) (ppid int, st byte, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may itself contain spaces
	// or parentheses; the fields after the last ')' are fixed.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0], true
}

// alive reports whether pid is a live process. A zombie is not alive:
// it can no longer do anything, and it holds no ports.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if _, st, ok := procStat(pid); ok && (st == 'Z' || st == 'X') {
		return false
	}
	return true
}

// waitGone waits until pid is no longer alive.
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// pids lists the processes in /proc (empty where there is no /proc).
func pids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// childPIDs lists the live children of pid.
func childPIDs(parent int) []int {
	var out []int
	for _, pid := range pids() {
		if ppid, st, ok := procStat(pid); ok && ppid == parent && st != 'Z' && st != 'X' {
			out = append(out, pid)
		}
	}
	return out
}

// userPIDs lists the live processes whose real uid is uid.
func userPIDs(uid int) []int {
	var out []int
	for _, pid := range pids() {
		if _, st, ok := procStat(pid); !ok || st == 'Z' || st == 'X' {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
				// real, effective: pkill -u matches the effective one.
				if f[1] == strconv.Itoa(uid) || f[2] == strconv.Itoa(uid) {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "sshd log " + path + ":\n" + strings.Join(lines, "\n")
}
