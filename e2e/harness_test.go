package e2e

// Package e2e holds the end-to-end tests (layer 4 of STYLE.md "Tests, in
// layers"): the built jt binary against a real sshd (scripts/sshbox), real
// screen, tmux and Jupyter. One box serves every test; it is started on
// first use and stopped by TestMain.
//
// This file is the harness: the box, its users, the build of jt and the
// lock that serialises runs on one machine. The helpers the tests share
// are in helpers_test.go (the local side: jt runs, its answers, its state
// file and masters), background_test.go (jt as a background job),
// terminal_test.go (jt attach in a terminal), remote_test.go (the host),
// jupyter_test.go (the server, through the tunnel) and proc_test.go
// (local processes).
//
// Requirements: root (several remote users, each with its own login
// shell), /usr/sbin/sshd, screen and jupyter. Without them the tests skip,
// unless JT_E2E=require (CI), which makes every missing piece a failure.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/jt-sh/jt/scripts/sshbox"
)

// jtTimeout bounds one run of the jt binary.
const jtTimeout = 120 * time.Second

// Remote users and the ssh aliases that log in as them. Each worker of a
// parallel run (JT_E2E_SLOT, see shard.go) has users of its own.
var (
	userA    = slotUser("jtu1")
	userB    = slotUser("jtu2")
	userCsh  = slotUser("jtcsh")
	userFish = slotUser("jtfish")
	userZsh  = slotUser("jtzsh")
)

const (
	hostA    = "hosta"
	hostB    = "hostb"
	hostCsh  = "hostcsh"
	hostFish = "hostfish"
	hostZsh  = "hostzsh"
)

// A second unix user on the same host, who never owns a session: the
// other users of a shared login node (security_test.go).
var userOther = slotUser("jtother")

const hostOther = "hostother"

// A user whose login shell lies (hostile_test.go): it runs the real
// /bin/sh, and pipes what it prints through $HOME/filter when there is one.
var userHostile = slotUser("jthostile")

const hostHostile = "hosthostile"

// hostileShell is that login shell.
const hostileShell = `#!/bin/sh
# The hostile test user's login shell: the real /bin/sh runs the command,
# and the filter a test chose rewrites everything it prints.
if [ -f "$HOME/filter" ]; then
	/bin/sh "$@" | /bin/sh "$HOME/filter"
	exit 0
fi
exec /bin/sh "$@"
`

// Banners the tcsh, fish and zsh users' rc files print on stdout at every login.
const (
	cshBanner  = "Welcome to the cluster (tcsh)"
	fishBanner = "Welcome to the cluster (fish)"
	zshBanner  = "Welcome to the cluster (zsh)"
)

var e2e struct {
	once     sync.Once
	setupErr error  // a setup step failed: every e2e test fails
	missing  string // a requirement is missing: skip (or fail with JT_E2E=require)
	dir      string // short base directory (box, binary)
	jt       string // the built binary
	box      *sshbox.Box
	tcsh     string // login shells found, "" if missing
	fish     string
	zsh      string
	lock     *flock.Flock // held until the process exits (see lockE2E)
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopTrixieUsers()
	stopCondorUsers()
	if e2e.box != nil {
		if err := e2e.box.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stop sshbox: %v\n", err)
		}
	}
	if e2e.dir != "" {
		os.RemoveAll(e2e.dir)
	}
	os.Exit(code)
}

// required reports whether missing requirements are failures (CI).
func required() bool { return os.Getenv("JT_E2E") == "require" }

// needE2E skips or fails the test when the harness cannot run, and starts
// the box on first use.
func needE2E(t *testing.T) {
	t.Helper()
	claim(t)
	e2e.once.Do(setupE2E)
	if e2e.setupErr != nil {
		t.Fatalf("e2e setup: %v", e2e.setupErr)
	}
	if e2e.missing != "" {
		missingReq(t, e2e.missing)
	}
	if !e2e.box.Running() {
		// A failed test that stopped sshd must not take the others down.
		if err := e2e.box.StartSSHD(); err != nil {
			t.Fatalf("restart sshd: %v", err)
		}
	}
}

// missingReq skips, or fails under JT_E2E=require.
func missingReq(t *testing.T, what string) {
	t.Helper()
	if required() {
		t.Fatalf("JT_E2E=require, but %s", what)
	}
	t.Skipf("end-to-end test skipped: %s (set JT_E2E=require to make this a failure)", what)
}

func setupE2E() {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "not running as root (the box needs real test users)")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		missing = append(missing, "no /usr/sbin/sshd (apt install openssh-server)")
	}
	for _, bin := range []string{"ssh", "screen", "jupyter"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" not found on PATH")
		}
	}
	if len(missing) > 0 {
		e2e.missing = strings.Join(missing, "; ")
		return
	}
	if p, err := exec.LookPath("tcsh"); err == nil {
		e2e.tcsh = p
	}
	if p, err := exec.LookPath("fish"); err == nil {
		e2e.fish = p
	}
	if p, err := exec.LookPath("zsh"); err == nil {
		e2e.zsh = p
	}

	dir, err := os.MkdirTemp("/tmp", "jte")
	if err != nil {
		e2e.setupErr = err
		return
	}
	e2e.dir = dir
	if e2e.jt, err = buildJT(dir); err != nil {
		e2e.setupErr = err
		return
	}

	opts := sshbox.Options{
		Dir:        filepath.Join(dir, "box"),
		Foreground: true,
		Aliases:    map[string]string{hostA: userA, hostB: userB, hostOther: userOther},
		Users:      []sshbox.User{{Name: userA, Shell: "/bin/bash"}, {Name: userB, Shell: "/bin/bash"}, {Name: userOther, Shell: "/bin/bash"}},
	}
	if e2e.tcsh != "" {
		opts.Aliases[hostCsh] = userCsh
		opts.Users = append(opts.Users, sshbox.User{Name: userCsh, Shell: e2e.tcsh,
			Files: map[string]string{".cshrc": "echo \"" + cshBanner + "\"\n"}})
	}
	if e2e.fish != "" {
		opts.Aliases[hostFish] = userFish
		opts.Users = append(opts.Users, sshbox.User{Name: userFish, Shell: e2e.fish,
			Files: map[string]string{".config/fish/config.fish": "echo \"" + fishBanner + "\"\n"}})
	}
	if e2e.zsh != "" {
		// .zshenv: the one file zsh reads for ssh HOST CMD too.
		opts.Aliases[hostZsh] = userZsh
		opts.Users = append(opts.Users, sshbox.User{Name: userZsh, Shell: e2e.zsh,
			Files: map[string]string{".zshenv": "echo \"" + zshBanner + "\"\n"}})
	}
	// The hostile user's shell lives in dir: others may pass through it.
	shell := filepath.Join(dir, "hostile-shell")
	if err := os.WriteFile(shell, []byte(hostileShell), 0o755); err != nil {
		e2e.setupErr = err
		return
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		e2e.setupErr = err
		return
	}
	opts.Aliases[hostHostile] = userHostile
	opts.Users = append(opts.Users, sshbox.User{Name: userHostile, Shell: shell})
	if err := lockE2E(); err != nil {
		e2e.setupErr = err
		return
	}
	box, err := sshbox.Start(opts)
	if err != nil {
		e2e.setupErr = fmt.Errorf("start sshbox: %w", err)
		return
	}
	e2e.box = box
}

// e2eLockPath serialises end-to-end runs on one machine: every run's box
// resets the same unix users (their keys and processes), which would break
// a run going on at the same time.
const e2eLockPath = "/tmp/jt-e2e.lock"

func lockE2E() error {
	path := slotLockPath()
	l := flock.New(path)
	ok, err := l.TryLock()
	if err == nil && !ok {
		fmt.Fprintf(os.Stderr, "e2e: another end-to-end run holds %s; waiting for it\n", path)
		err = l.Lock()
	}
	if err != nil {
		return fmt.Errorf("e2e lock %s: %w", path, err)
	}
	e2e.lock = l
	return nil
}

// buildJT builds the jt binary into dir, or takes the one a parallel run
// built for all its workers (JT_E2E_BIN).
func buildJT(dir string) (string, error) {
	if bin := os.Getenv("JT_E2E_BIN"); bin != "" {
		if !filepath.IsAbs(bin) {
			return "", fmt.Errorf("JT_E2E_BIN=%q is not an absolute path", bin)
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("JT_E2E_BIN: %w", err)
		}
		return bin, nil
	}
	jt := filepath.Join(dir, "jt")
	args := []string{"build", "-o", jt}
	if os.Getenv("JT_E2E_RACE") != "" {
		// The races a user's laptop meets, found by the race detector.
		args = append(args, "-race")
	}
	// The module path, not a directory: the build does not depend on where
	// go test runs this package.
	build := exec.Command("go", append(args, "github.com/jt-sh/jt")...)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return jt, nil
}
