//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// freshOnce times one new login (no master) into r.
func (b *bench) freshOnce(ctx context.Context, cfg string, r *row) error {
	o, err := timed(ctx, nil, b.sshPath, "-F", cfg, "-o", "ControlMaster=no", "-o", "ControlPath=none", "--", b.hosts[0], "true")
	if err != nil {
		return err
	}
	o.Calls = []string{"ssh true"}
	r.add(o)
	return nil
}

// floorMaster times a command over an existing master of the bench's
// own; wrapped, through the wrapper jt's ssh calls go through here.
func (b *bench) floorMaster(ctx context.Context, cfg, op string, wrapped bool) (float64, error) {
	host := b.hosts[0]
	if !slices.Contains(b.benchMasterCfg, cfg) {
		if err := startMaster(ctx, b.sshPath, cfg, b.benchCtlPath, host); err != nil {
			return 0, err
		}
		b.benchMasterCfg = append(b.benchMasterCfg, cfg)
	}
	r := b.add(op, false)
	r.counted = true
	bin, env := b.sshPath, []string(nil)
	if wrapped {
		bin, env = b.wrapper, append(os.Environ(), "JTB_SSH_REAL="+b.sshPath)
	}
	for range b.cheap {
		o, err := timed(ctx, env, bin, "-F", cfg, "-o", "ControlPath="+b.benchCtlPath, "-o", "ControlMaster=no", "--", host, "true")
		if err != nil {
			return 0, err
		}
		o.Calls = []string{"ssh true"}
		r.add(o)
	}
	return r.Median, nil
}

// startMaster starts a persistent master; its stdio is /dev/null so that
// waiting for the forking ssh never waits for the daemon.
func startMaster(ctx context.Context, sshPath, cfg, controlPath, host string) error {
	cmd := exec.CommandContext(ctx, sshPath, "-F", cfg, "-o", "ControlPath="+controlPath, "-o", "ControlMaster=yes",
		"-o", "ControlPersist=yes", "-o", "BatchMode=yes", "-fN", "--", host)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start the bench's master for %s: %w", host, err)
	}
	return nil
}

// exitMaster ends jt's master for host, as a dropped connection would, and
// waits until it is gone and its forward's port (if any) is free again.
func (b *bench) exitMaster(ctx context.Context, host string, port int) error {
	exec.CommandContext(ctx, b.sshPath, "-F", b.cfg, "-o", "ControlPath="+b.jtControlPath, "-O", "exit", "--", host).Run()
	return b.waitNoMaster(ctx, host, port)
}

// waitNoMaster waits until jt's master for host no longer answers and
// the local port is free.
func (b *bench) waitNoMaster(ctx context.Context, host string, port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := exec.CommandContext(ctx, b.sshPath, "-F", b.cfg, "-o", "ControlPath="+b.jtControlPath, "-O", "check", "--", host).Run()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && (port == 0 || portFree(port)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jt's master for %s still runs (or port %d is held) 10s after -O exit", host, port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// parallelLogins times a fresh `ssh true` to every host at once: what
// asking each host anything costs when no master is up.
func (b *bench) parallelLogins(ctx context.Context) (time.Duration, error) {
	errs := make([]error, len(b.hosts))
	var wg sync.WaitGroup
	start := time.Now()
	for i, h := range b.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = timed(ctx, nil, b.sshPath, "-F", b.cfg, "-o", "ControlMaster=no", "-o", "ControlPath=none", "--", h, "true")
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// timeMaxRSS runs jt under /usr/bin/time, whose own RSS is small, so
// that its %M (wait4's ru_maxrss) is jt's peak or its largest child's.
func (b *bench) timeMaxRSS(ctx context.Context, args ...string) error {
	tbin, err := exec.LookPath("time")
	if err != nil {
		tbin = "/usr/bin/time"
	}
	if _, err := os.Stat(tbin); err != nil {
		return nil // no GNU time: the VmHWM row stands alone
	}
	env := append(append([]string{}, b.jt.env...), "JTB_SSH_LOG=/dev/null")
	t, err := timed(ctx, env, tbin, append([]string{"-f", "JTB-MAXRSS %M", b.jt.bin}, args...)...)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(t.Stderr)), "\n")
	kb, err := strconv.ParseFloat(strings.TrimPrefix(lines[len(lines)-1], "JTB-MAXRSS "), 64)
	if err != nil {
		return fmt.Errorf("/usr/bin/time printed %q", t.Stderr)
	}
	b.timeRSS = &row{Operation: opTimeRSS, Unit: "MB", Samples: []float64{kb / 1024}, Median: kb / 1024,
		Note: "GNU time %M (wait4 ru_maxrss: jt or an ssh it waited for) of jt " + strings.Join(args, " ") + " with every tunnel down"}
	return nil
}
