package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

// keeperEnv marks the background jt open --keep that a foreground one
// started (--background).
const keeperEnv = "JT_KEEPER"

// keeperFile is where the background keeper of host/name keeps its pid
// ("pid") or its log ("log"), next to the state file.
func keeperFile(d *Deps, host, name, kind string) string {
	sum := sha256.Sum256([]byte(host + "\x00" + name))
	return filepath.Join(filepath.Dir(d.Store.Path), "keep-"+hex.EncodeToString(sum[:8])+"."+kind)
}

// keepInBackground starts this same jt open --keep detached, its output to
// a 0600 log: the open already happened here, with the terminal at hand for
// any password, so the keeper starts from a working tunnel.
func keepInBackground(d *Deps, o openOptions) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find jt itself: %w", err)
	}
	stopKeeper(d, o.Host, o.Name)
	logPath := keeperFile(d, o.Host, o.Name, "log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	var args []string
	for _, a := range os.Args[1:] {
		if a != "--background" && a != "-background" {
			args = append(args, a)
		}
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), keeperEnv+"=1", "BROWSER=")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = detachedAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the keeper: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	d.warn("keeping session %s on %s open from the background (pid %d, log %s); jt close %s stops it", o.Name, o.Host, pid, logPath, o.Host)
	return nil
}

// stopKeeper ends the background keeper of host/name, if one runs.
func stopKeeper(d *Deps, host, name string) {
	path := keeperFile(d, host, name, "pid")
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid > 0 && pid != os.Getpid() && processAlive(pid) {
		if p, err := os.FindProcess(pid); err == nil {
			p.Signal(os.Interrupt)
		}
	}
	os.Remove(path)
}

// waitForMaster waits, without logging in, until a master for host exists
// again; false when ctx ends first.
func waitForMaster(ctx context.Context, d *Deps, host string, interval time.Duration) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(interval):
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := d.SSH.Check(cctx, host)
		cancel()
		if err == nil {
			return true
		}
	}
}

// keepOpen is jt open --keep: it checks the session's tunnel every interval
// and, when it stops answering, opens the session again (new master and
// forward; the server, if alive, is reattached, so its pid stays the same),
// with backoff while the host does not answer. A failed login ends it: jt
// never loops on a password or key that does not work.
func keepOpen(ctx context.Context, d *Deps, o openOptions, interval time.Duration) error {
	background := os.Getenv(keeperEnv) != ""
	if background {
		os.WriteFile(keeperFile(d, o.Host, o.Name, "pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
		defer os.Remove(keeperFile(d, o.Host, o.Name, "pid"))
	}
	d.warn("keeping session %s on %s open; Ctrl-C stops watching (the server keeps running)", o.Name, o.Host)
	o.quiet, o.NoBrowser, o.LocalPort = true, true, 0
	backoff := interval
	wait := interval
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if rec, known, err := lookup(d, o.Host, o.Name); err == nil && known && answers(ctx, d, rec) {
			backoff, wait = interval, interval
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		d.warn("the tunnel to %s does not answer; reconnecting", o.Host)
		err := runOpen(ctx, d, o)
		switch {
		case ctx.Err() != nil:
			return nil
		case (errors.Is(err, sshexec.ErrAuth) || errors.Is(err, sshexec.ErrHostKey)) && !background:
			return err
		case errors.Is(err, sshexec.ErrAuth), errors.Is(err, sshexec.ErrHostKey):
			// No terminal to ask on: say so, and wait for the user to log
			// in (jt open HOST makes a master) instead of trying again.
			d.warn("%s: %v; waiting until you log in again with: jt open %s", o.Host, err, o.Host)
			if !waitForMaster(ctx, d, o.Host, interval) {
				return nil
			}
			wait = 0
			continue
		case err != nil:
			d.warn("%s: %v; trying again in %v", o.Host, err, backoff)
			wait = backoff
			backoff = min(backoff*2, time.Minute)
			continue
		}
		if s, ok, _ := lookup(d, o.Host, o.Name); ok {
			d.warn("restored: session %s on %s (pid %d) answers again on 127.0.0.1:%d", o.Name, o.Host, s.PID, s.LocalPort)
		}
		backoff, wait = interval, interval
	}
}
