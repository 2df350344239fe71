package sshexec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// hashLen is the length of what ssh substitutes for %C: a hex SHA-1.
const hashLen = 40

// ControlPathMax is the longest control socket path ssh can bind here. The
// master first binds PATH + "." + 16 random characters, and sun_path holds
// 108 bytes on Linux (104 on macOS and the BSDs) including the NUL.
func ControlPathMax() int { return controlPathMaxFor(runtime.GOOS) }

func controlPathMaxFor(goos string) int {
	sunPath := 108
	if goos != "linux" {
		sunPath = 104
	}
	return sunPath - 1 - 17
}

// ControlPathPattern is jt's ControlPath inside dir; ssh expands %C to a hash
// of the local host, remote host, port and user.
func ControlPathPattern(dir string) string {
	return filepath.Join(dir, "cm-%C")
}

// CheckControlPath refuses a pattern whose expansion would be too long for a
// unix socket, before ssh fails with a less helpful message.
func CheckControlPath(pattern string) error { return checkControlPathFor(runtime.GOOS, pattern) }

func checkControlPathFor(goos, pattern string) error {
	n := len(pattern) - len("%C") + hashLen
	if max := controlPathMaxFor(goos); n > max {
		return fmt.Errorf("control socket path %s would be %d bytes, more than the %d a unix socket allows: set XDG_RUNTIME_DIR to a shorter directory", pattern, n, max)
	}
	return nil
}

// ControlDir picks the directory for jt's control sockets: the first
// candidate short enough for a socket path. Candidates are tried in order;
// macOS's long $TMPDIR is never among them.
func ControlDir(candidates []string) (string, error) { return controlDirFor(runtime.GOOS, candidates) }

func controlDirFor(goos string, candidates []string) (string, error) {
	var tooLong []string
	for _, dir := range candidates {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if checkControlPathFor(goos, ControlPathPattern(dir)) != nil {
			tooLong = append(tooLong, dir)
			continue
		}
		return dir, nil
	}
	return "", fmt.Errorf("no directory for control sockets is short enough (tried %v): set XDG_RUNTIME_DIR to a short directory", tooLong)
}

// DefaultControlDirs lists where jt may keep its control sockets, best first.
func DefaultControlDirs(stateDir string) []string {
	return controlDirsFor(runtime.GOOS, os.Getenv, stateDir, os.Getuid())
}

// controlDirsFor never offers macOS's $TMPDIR (/var/folders/…/T/, too long
// for a socket path); /tmp/jt-UID is the short last resort there.
func controlDirsFor(goos string, getenv func(string) string, stateDir string, uid int) []string {
	var dirs []string
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		dirs = append(dirs, filepath.Join(d, "jt"))
	}
	if stateDir != "" {
		dirs = append(dirs, filepath.Join(stateDir, "cm"))
	}
	if goos != "windows" {
		dirs = append(dirs, "/tmp/jt-"+strconv.Itoa(uid))
	}
	return dirs
}

// ErrUnsafeDir is returned for a directory that others could use to hijack
// or observe jt's control sockets.
var ErrUnsafeDir = errors.New("unsafe directory")

// SecureDir creates dir (mode 0700) if needed and refuses one that is a
// symlink, not a directory, owned by someone else, or open to others.
func SecureDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s is a symlink; remove it and jt will create a private directory", ErrUnsafeDir, dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafeDir, dir)
	}
	return checkOwner(dir, fi)
}

// CheckControlDir refuses control paths in dir (cm-…) that are not sockets:
// ssh would fail on them, or talk to something that is not its master.
// One directory read, no ssh: the %C hash is ssh's to compute.
func CheckControlDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "cm-") {
			if err := CheckSocket(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckSocket refuses a control path that exists but is not a socket.
func CheckSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%w: %s exists but is not a socket; remove it", ErrUnsafeDir, path)
	}
	return nil
}
