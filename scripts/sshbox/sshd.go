//go:build linux

package sshbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
