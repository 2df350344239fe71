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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
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
	dir, err := checkOptions(opts)
	if err != nil {
		return nil, err
	}
	b := boxIn(dir)
	b.Root = os.Geteuid() == 0
	b.Foreground = opts.Foreground
	b.Users = map[string]string{}
	users, err := b.assignUsers(opts)
	if err != nil {
		return nil, err
	}
	if err := b.prepareDirs(); err != nil {
		return nil, err
	}
	pub, err := b.makeKeys()
	if err != nil {
		return nil, err
	}
	if err := b.authorize(users, pub); err != nil {
		return nil, err
	}
	if err := b.listen(); err != nil {
		return nil, err
	}
	if err := b.saveState(); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// checkOptions returns the absolute Dir of opts, or what is wrong with opts.
func checkOptions(opts Options) (string, error) {
	if opts.Dir == "" {
		return "", errors.New("Options.Dir is empty")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return "", fmt.Errorf("%w", err)
	}
	// sshd_config and ssh_config split values on whitespace; quoting rules
	// differ between versions, so refuse rather than quote.
	if strings.ContainsAny(dir, " \t\n\"'\\#") {
		return "", fmt.Errorf("box directory %q must not contain spaces, quotes, backslashes or #", dir)
	}
	if len(opts.Aliases) == 0 {
		return "", errors.New("no Aliases")
	}
	for alias := range opts.Aliases {
		if alias == "" || strings.ContainsAny(alias, " \t\n\"'\\#*?!,") {
			return "", fmt.Errorf("invalid alias %q", alias)
		}
	}
	return dir, nil
}

// boxIn is a Box with the paths of its files in dir.
func boxIn(dir string) *Box {
	return &Box{
		Dir:            dir,
		ConfigPath:     filepath.Join(dir, sshConfigName),
		LogPath:        filepath.Join(dir, logName),
		KeyPath:        filepath.Join(dir, clientKeyName),
		HostKeyPath:    filepath.Join(dir, hostKeyName),
		SSHDConfigPath: filepath.Join(dir, sshdConfigName),
		PidPath:        filepath.Join(dir, pidName),
	}
}

// assignUsers fills b.Users (alias → user) and, in root mode, b.userNames;
// it returns the users to prepare, by name (none when not root).
func (b *Box) assignUsers(opts Options) (map[string]User, error) {
	users := map[string]User{}
	if !b.Root {
		me, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("current user: %w", err)
		}
		for alias := range opts.Aliases {
			b.Users[alias] = me.Username
		}
		return users, nil
	}
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
	return users, nil
}

// prepareDirs creates Dir, stops a box left running there, and in root
// mode makes the system directories sshd and screen need.
func (b *Box) prepareDirs() error {
	if err := os.MkdirAll(b.Dir, 0o700); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	if err := b.killStale(); err != nil {
		return err
	}
	if b.Root {
		if err := ensureDir("/run/sshd", 0o755); err != nil {
			return fmt.Errorf("privilege separation dir: %w", err)
		}
		// screen keeps its sockets in /run/screen/S-USER and, not being
		// setuid root on Debian, cannot create them unless the parent is
		// world-writable and sticky.
		if err := ensureDir("/run/screen", 0o777|os.ModeSticky); err != nil {
			return fmt.Errorf("screen dir: %w", err)
		}
	}
	return nil
}

// makeKeys writes fresh host and client keys and returns the client's
// public key.
func (b *Box) makeKeys() ([]byte, error) {
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
	return pub, nil
}

// authorize lets the client key log in: each user prepared (root mode), or
// the box's own authorized_keys.
func (b *Box) authorize(users map[string]User, pub []byte) error {
	if b.Root {
		for _, name := range b.userNames {
			if err := prepareUser(users[name], pub); err != nil {
				return fmt.Errorf("prepare user %s: %w", name, err)
			}
		}
		return nil
	}
	if err := os.WriteFile(filepath.Join(b.Dir, authKeysName), pub, 0o600); err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	return nil
}

// listen picks a free port, writes the configs for it and starts sshd.
// The free port is found by binding :0 and closing it, so another
// process can grab it before sshd binds. Retry on that race only.
func (b *Box) listen() error {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return fmt.Errorf("free port: %w", err)
		}
		b.Port = port
		if err := b.writeConfigs(); err != nil {
			return err
		}
		if err := b.TrustHostKey(); err != nil {
			return err
		}
		if err := os.WriteFile(b.LogPath, nil, 0o600); err != nil {
			return fmt.Errorf("truncate log: %w", err)
		}
		err = b.StartSSHD()
		if err == nil {
			return nil
		}
		if attempt < 3 && strings.Contains(tail(b.LogPath, 20), "Address already in use") {
			continue
		}
		if b.Root {
			b.killUsers()
		}
		return err
	}
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
	b := boxIn(dir)
	b.Port = st.Port
	b.Root = st.Root
	b.Users = st.Users
	b.userNames = st.UserNames
	// Whoever started it, this process cannot wait for it: treat it
	// as a daemon and go through the pid file.
	b.Foreground = false
	return b, nil
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
