package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/sshexec"
)

// keeperEnv carries the open options (JSON) from the jt open --keep
// --background that starts a keeper to the keeper itself, which then sets
// it to "1": a mark on the keeper and on everything it runs.
const keeperEnv = "JT_KEEPER"

// keeperCommandName is the hidden command a keeper runs as. Its argv is
// built from the options, never copied from the jt open that started it.
const keeperCommandName = "__keeper"

// keeperFile is where the background keeper of host/name keeps its pid
// ("pid") or its log ("log"), next to the state file.
func keeperFile(d *Deps, host, name, kind string) string {
	sum := sha256.Sum256([]byte(host + "\x00" + name))
	return filepath.Join(filepath.Dir(d.Store.Path), "keep-"+hex.EncodeToString(sum[:8])+"."+kind)
}

// keeperCommand is the background keeper: jt open --keep without the
// first open (done in the foreground), without stdout (where the URL and
// its token would go) and without a browser.
func keeperCommand() *cli.Command {
	return &cli.Command{
		Name:   keeperCommandName,
		Usage:  "the background keeper started by jt open --keep --background",
		Hidden: true,
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			o, err := keeperOptions(os.Getenv(keeperEnv))
			if err != nil {
				return err
			}
			os.Setenv(keeperEnv, "1")
			d.Browser = nil
			return keepOpen(ctx, d, o, 3*time.Second)
		}),
	}
}

// keeperOptions reads the options a keeper was started with.
func keeperOptions(req string) (openOptions, error) {
	var o openOptions
	if req == "" || req == "1" {
		return o, usageErrorf("%s is started by jt open --keep --background, not by hand", keeperCommandName)
	}
	if err := json.Unmarshal([]byte(req), &o); err != nil {
		return o, fmt.Errorf("read the keeper's options: %w", err)
	}
	if err := o.validate(); err != nil {
		return o, err
	}
	o.Keep, o.NoBrowser, o.JSON = true, true, false
	return o, nil
}

// keeperArgs is the keeper's argv after the program: the global settings
// this jt runs with, then the hidden command.
func keeperArgs(d *Deps) []string {
	var args []string
	if d.SSH.ConfigFile != "" {
		args = append(args, "--ssh-config", d.SSH.ConfigFile)
	}
	if d.SSH.NoMux {
		args = append(args, "--no-master")
	}
	return append(args, keeperCommandName)
}

// keepInBackground starts a keeper for the session just opened, detached,
// its stderr to a 0600 log: the open already happened here, with the
// terminal at hand for any password, so the keeper starts from a working
// tunnel.
func keepInBackground(d *Deps, o openOptions) error {
	if os.Getenv(keeperEnv) != "" {
		return fmt.Errorf("this jt runs under a keeper (%s is set), and a keeper never starts another", keeperEnv)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find jt itself: %w", err)
	}
	req, err := json.Marshal(o)
	if err != nil {
		return err
	}
	stopKeeper(d, o.Host, o.Name)
	logPath := keeperFile(d, o.Host, o.Name, "log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(self, keeperArgs(d)...)
	cmd.Env = append(withoutVar(os.Environ(), keeperEnv), keeperEnv+"="+string(req))
	cmd.Stderr = logFile // stdin and stdout: the null device
	cmd.SysProcAttr = detachedAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the keeper: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	if err := sshexec.WritePIDFile(keeperFile(d, o.Host, o.Name, "pid"), pid); err != nil {
		d.warn("could not record the keeper's pid (%v): jt close cannot stop it; end pid %d yourself", err, pid)
	}
	d.warn("keeping session %s on %s open from the background (pid %d, log %s); jt close %s stops it", o.Name, o.Host, pid, logPath, o.Host)
	return nil
}

// withoutVar is env without the variable name.
func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	return out
}

// stopKeeper ends the background keeper of host/name, if one runs: only
// the process its pid file names, with the start time recorded there.
func stopKeeper(d *Deps, host, name string) {
	path := keeperFile(d, host, name, "pid")
	if pid := sshexec.RecordedPID(path); pid > 0 && pid != os.Getpid() {
		stopProcess(pid)
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
		// The pid file is its starter's; a keeper removes it only while
		// it still names this process.
		defer func() {
			if path := keeperFile(d, o.Host, o.Name, "pid"); sshexec.RecordedPID(path) == os.Getpid() {
				os.Remove(path)
			}
		}()
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
