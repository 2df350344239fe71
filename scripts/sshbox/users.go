//go:build linux

package sshbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
	pw, err := ensureAccount(u)
	if err != nil {
		return err
	}
	if err := killUser(u.Name, pw.uid); err != nil {
		return err
	}
	home := pw.home
	if err := fixHome(home, pw); err != nil {
		return err
	}
	rels, err := resetHome(u, home, pw)
	if err != nil {
		return err
	}
	return fillHome(u, home, rels, pubKey, pw)
}

// ensureAccount creates the account, or sets its login shell, and unlocks
// it for key logins; it returns the account's passwd entry.
func ensureAccount(u User) (*passwd, error) {
	shell := u.Shell
	if shell == "" {
		shell = "/bin/bash"
	}
	if _, err := os.Stat(shell); err != nil {
		return nil, fmt.Errorf("login shell: %w", err)
	}
	pw, err := lookupPasswd(u.Name)
	if err != nil {
		return nil, err
	}
	if pw == nil {
		if err := run("useradd", "-m", "-s", shell, u.Name); err != nil {
			return nil, err
		}
	} else if pw.shell != shell {
		if err := run("usermod", "-s", shell, u.Name); err != nil {
			return nil, err
		}
	}
	// useradd leaves the account locked ("!"), and with UsePAM no sshd
	// refuses a locked account even with a valid key. "*" means "no
	// password can match" without "locked".
	if err := run("usermod", "-p", "*", u.Name); err != nil {
		return nil, err
	}
	if pw, err = lookupPasswd(u.Name); err != nil {
		return nil, err
	} else if pw == nil {
		return nil, errors.New("user missing after useradd")
	}
	return pw, nil
}

// fixHome makes the home directory exist, owned by the user and writable
// by no one else: StrictModes refuses a home writable by group or others,
// or owned by someone else.
func fixHome(home string, pw *passwd) error {
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("home: %w", err)
	}
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
	return nil
}

// resetHome removes the leftovers of earlier runs: jupyter runtime files,
// screen and tmux sockets, jupyter/ipython config, and the files about to
// be written. It returns u.Files' paths, checked and sorted.
func resetHome(u User, home string, pw *passwd) ([]string, error) {
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
			return nil, fmt.Errorf("file %q: must be relative to the home directory", rel)
		}
		stale = append(stale, filepath.Join(home, clean))
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, p := range stale {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("reset home: %w", err)
		}
	}
	return rels, nil
}

// fillHome writes ~/.ssh/authorized_keys and the user's Files (rels, in
// order), owned by the user.
func fillHome(u User, home string, rels []string, pubKey []byte, pw *passwd) error {
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
