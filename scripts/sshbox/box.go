//go:build linux

package sshbox

import (
	"bytes"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

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
