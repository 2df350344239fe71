package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

// KeepRequest is what jt open --keep asks for, after the first open.
type KeepRequest struct {
	Open     OpenRequest
	Interval time.Duration // between checks of the tunnel
	// Background: no terminal to ask on. A login that would need the user
	// waits for a master instead of ending the keeper.
	Background bool
	// Notify, if set, shows a desktop notification (the warnings before a
	// batch job's end); it never fails the keeper.
	Notify func(title, body string)
}

// Keep checks the session's tunnel every interval and, when it stops
// answering, opens the session again (new master and forward; the server,
// if alive, is reattached, so its pid stays the same), with backoff while
// the host does not answer. A failed login ends it in the foreground: jt
// never loops on a password or key that does not work. It returns when
// ctx ends.
func (e *Engine) Keep(ctx context.Context, r KeepRequest) error {
	o := r.Open
	o.LocalPort = 0 // the recorded port, or any: never fail on a taken one
	o.Notebook = "" // checked by the first open
	e.warn("keeping session %s on %s open; Ctrl-C stops watching (the server keeps running)", o.Name, o.Host)
	backoff, wait := r.Interval, r.Interval
	ends := newEndWarner(o.Warn)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		e.warnEnd(ends, o.Host, o.Name, r.Notify)
		if rec, known, err := e.lookup(o.Host, o.Name); err == nil && known && e.answers(ctx, rec) {
			backoff, wait = r.Interval, r.Interval
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		e.warn("the tunnel to %s does not answer; reconnecting", o.Host)
		_, err := e.Open(ctx, o)
		login := errors.Is(err, sshexec.ErrAuth) || errors.Is(err, sshexec.ErrHostKey)
		switch {
		case ctx.Err() != nil:
			return nil
		case login && !r.Background:
			return err
		case login:
			// No terminal to ask on: say so, and wait for the user to log
			// in (jt open HOST makes a master) instead of trying again.
			e.warn("%s: %v; waiting until you log in again with: jt open %s", o.Host, err, o.Host)
			if !e.waitForMaster(ctx, o.Host, r.Interval) {
				return nil
			}
			wait = 0
			continue
		case err != nil:
			e.warn("%s: %v; trying again in %v", o.Host, err, backoff)
			wait = backoff
			backoff = min(backoff*2, time.Minute)
			continue
		}
		if s, ok, _ := e.lookup(o.Host, o.Name); ok {
			e.warn("restored: session %s on %s (pid %d) answers again on 127.0.0.1:%d", o.Name, o.Host, s.PID, s.LocalPort)
		}
		backoff, wait = r.Interval, r.Interval
	}
}

// waitForMaster waits, without logging in, until a master for host exists
// again; false when ctx ends first.
func (e *Engine) waitForMaster(ctx context.Context, host string, interval time.Duration) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(interval):
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := e.SSH.Check(cctx, host)
		cancel()
		if err == nil {
			return true
		}
	}
}

// KeeperFile is where the background keeper of host/name keeps its pid
// ("pid") or its log ("log"), next to the state file.
func (e *Engine) KeeperFile(host, name, kind string) string {
	sum := sha256.Sum256([]byte(host + "\x00" + name))
	return filepath.Join(filepath.Dir(e.Store.Path), "keep-"+hex.EncodeToString(sum[:8])+"."+kind)
}

// StopKeeper ends the background keeper of host/name, if one runs: only
// the process its pid file names, with the start time recorded there.
func (e *Engine) StopKeeper(host, name string) {
	path := e.KeeperFile(host, name, "pid")
	if pid := sshexec.RecordedPID(path); pid > 0 && pid != os.Getpid() {
		stopProcess(pid)
	}
	os.Remove(path)
}

// DropKeeperFile removes the pid file of host/name's keeper while it still
// names this process (the file is its starter's).
func (e *Engine) DropKeeperFile(host, name string) {
	if path := e.KeeperFile(host, name, "pid"); sshexec.RecordedPID(path) == os.Getpid() {
		os.Remove(path)
	}
}
