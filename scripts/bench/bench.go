//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/scripts/sshbox"
	"github.com/jt-sh/jt/sshexec"
)

// bench holds the running box and everything measured so far.
type bench struct {
	n, cheap int
	delay    time.Duration
	dir      string
	sshPath  string

	box       *sshbox.Box
	relay     *relay
	relayPort int
	cfg       string // ssh config jt and the floors use (the relay's in -delay mode)
	directCfg string // the box's own config
	hosts     []string
	openArgs  []string // given to every jt open (-tcp: --tcp)

	jt             *jtRunner
	wrapper        string // sshwrap, jt's JT_SSH
	jtControlPath  string // jt's ControlPath pattern
	benchCtlPath   string // the bench's own masters (floors)
	benchMasterCfg []string
	ports          portAllocator
	sessionPorts   map[string]int // host → local port of the ls session

	rows       []*row
	timeRSS    *row // /usr/bin/time's max RSS of the heaviest jt ls
	relayCheck *relayCheck
	cleaned    bool
	slurm      bool // measure a batch open too
}

// setup starts the box (and relay), builds jt and writes the ssh wrapper.
// On error the returned bench, if not nil, still needs cleanup.
func setup(ctx context.Context, o options) (*bench, error) {
	dir, err := benchDir(o.dir)
	if err != nil {
		return nil, err
	}
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		return nil, fmt.Errorf("no ssh client: %w", err)
	}
	b := &bench{
		n: o.n, cheap: 3 * o.n, delay: o.delay, dir: dir, sshPath: sshPath,
		jtControlPath: sshexec.ControlPathPattern(filepath.Join(dir, "run", "jt")),
		benchCtlPath:  filepath.Join(dir, "run", "fm-%C"),
		sessionPorts:  map[string]int{},
		slurm:         o.slurm,
	}
	if o.tcp {
		b.openArgs = []string{"--tcp"}
	}
	bin, err := jtBinary(ctx, o.jt, dir)
	if err != nil {
		return nil, err
	}
	if err := b.startBox(o.hosts); err != nil {
		return nil, err
	}
	if err := b.resetDirs(); err != nil {
		return b, err
	}
	if o.delay > 0 {
		if err := b.throughRelay(o.delay); err != nil {
			return b, err
		}
	}
	// jt's ssh goes through a wrapper that logs and times each call.
	wrapper := filepath.Join(dir, "sshwrap")
	if err := goBuild(ctx, wrapper, "./scripts/bench/sshwrap"); err != nil {
		return b, err
	}
	b.wrapper = wrapper
	b.jt = &jtRunner{bin: bin, env: b.jtEnv(), logDir: filepath.Join(dir, "logs")}
	return b, nil
}

// benchDir is -dir, absolute and created, if it is short enough.
func benchDir(d string) (string, error) {
	dir, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	// jt's ControlPath is DIR/run/jt/cm-%C: at most 90 bytes once expanded.
	if len(dir) > 40 {
		return "", fmt.Errorf("-dir %s is too long for control sockets below it: keep it under 40 bytes", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// jtBinary is the jt to measure: -jt, or jt built from this checkout into
// dir.
func jtBinary(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return filepath.Abs(bin)
	}
	bin = filepath.Join(dir, "jt")
	progress("building jt into %s", bin)
	if err := goBuild(ctx, bin, "."); err != nil {
		return "", err
	}
	return bin, nil
}

// startBox starts the box's sshd with n test users, one alias each.
func (b *bench) startBox(n int) error {
	aliases, users, hosts := sshboxUsers(n)
	b.hosts = hosts
	progress("starting sshd with %d test users (jtb01..jtb%02d)", n, n)
	box, err := sshbox.Start(sshbox.Options{Dir: filepath.Join(b.dir, "box"), Aliases: aliases, Users: users, Foreground: true})
	if err != nil {
		return err
	}
	b.box = box
	b.directCfg, b.cfg = box.ConfigPath, box.ConfigPath
	return nil
}

// resetDirs empties jt's state, runtime and log directories: the masters
// of an earlier run died with its sshd, so start from nothing.
func (b *bench) resetDirs() error {
	for _, sub := range []string{"state", "run", "logs"} {
		if err := os.RemoveAll(filepath.Join(b.dir, sub)); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(b.dir, sub), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// throughRelay starts the relay that delays each byte to the box, and
// points jt's and the floors' ssh config at it.
func (b *bench) throughRelay(delay time.Duration) error {
	r, err := startRelay("127.0.0.1:"+strconv.Itoa(b.box.Port), delay)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	b.relay, b.relayPort = r, r.Port()
	if b.cfg, err = b.writeRelayConfig(); err != nil {
		return err
	}
	return nil
}

// jtEnv is jt's environment: this one without jt's, XDG's and the
// desktop's variables, and with the bench's ssh wrapper, config and
// directories.
func (b *bench) jtEnv() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "JT_") || strings.HasPrefix(k, "XDG_") || k == "SSH_AUTH_SOCK" || k == "BROWSER" || k == "DISPLAY" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"JT_SSH="+b.wrapper,
		"JTB_SSH_REAL="+b.sshPath,
		"JT_SSH_CONFIG="+b.cfg,
		"XDG_STATE_HOME="+filepath.Join(b.dir, "state"),
		"XDG_RUNTIME_DIR="+filepath.Join(b.dir, "run"),
	)
}

// writeRelayConfig writes a copy of the box's ssh config whose aliases go
// through the relay, and a known_hosts that knows the host key there.
func (b *bench) writeRelayConfig() (string, error) {
	cfg, err := os.ReadFile(b.box.ConfigPath)
	if err != nil {
		return "", err
	}
	known := filepath.Join(b.box.Dir, "known_hosts")
	kh, err := os.ReadFile(known)
	if err != nil {
		return "", err
	}
	relayKnown := filepath.Join(b.dir, "known_hosts_relay")
	line := strings.ReplaceAll(string(kh), fmt.Sprintf("[127.0.0.1]:%d ", b.box.Port), fmt.Sprintf("[127.0.0.1]:%d ", b.relayPort))
	if err := os.WriteFile(relayKnown, []byte(line), 0o600); err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(cfg), fmt.Sprintf("  Port %d\n", b.box.Port), fmt.Sprintf("  Port %d\n", b.relayPort))
	s = strings.ReplaceAll(s, "UserKnownHostsFile "+known+"\n", "UserKnownHostsFile "+relayKnown+"\n")
	if !strings.Contains(s, strconv.Itoa(b.relayPort)) || !strings.Contains(s, relayKnown) {
		return "", errors.New("relay config: the box's ssh config has an unexpected shape")
	}
	path := filepath.Join(b.dir, "ssh_config_relay")
	return path, os.WriteFile(path, []byte(s), 0o600)
}

// goBuild builds a package of the jt module into out the way
// scripts/release builds what users install (no cgo, trimmed paths,
// stripped, the no-docs tag), so that jt and the hello-world floor are
// measured as shipped.
func goBuild(ctx context.Context, out, pkg string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, msg)
	}
	return nil
}

// cleanup closes every session jt still has, ends the bench's masters,
// and stops the relay and the box (killing the test users' processes).
func (b *bench) cleanup() error {
	if b.cleaned {
		return nil
	}
	b.cleaned = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	if b.jt != nil && b.box != nil {
		if o, err := b.jt.run(ctx, "ls", "--json"); err == nil {
			if rows, _ := parseLs(o); len(rows) > 0 {
				progress("cleanup: jt close --all --kill (%d sessions)", len(rows))
				if _, err := b.jt.run(ctx, "close", "--all", "--kill"); err != nil {
					errs = append(errs, err)
				}
			}
		}
		for _, h := range b.hosts {
			exec.CommandContext(ctx, b.sshPath, "-F", b.cfg, "-o", "ControlPath="+b.jtControlPath, "-O", "exit", "--", h).Run()
		}
	}
	for _, cfg := range b.benchMasterCfg {
		exec.CommandContext(ctx, b.sshPath, "-F", cfg, "-o", "ControlPath="+b.benchCtlPath, "-O", "exit", "--", b.hosts[0]).Run()
	}
	if b.box != nil {
		if err := b.box.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if b.relay != nil {
		b.relay.Close()
	}
	return errors.Join(errs...)
}
