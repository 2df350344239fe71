package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
)

// lockHost serialises jt commands that change one host's master and
// servers, so two concurrent opens make one master and one server.
func (e *Engine) lockHost(ctx context.Context, host string, timeout time.Duration) (func(), error) {
	// By destination: a profile and its host share a master and a remote user.
	return e.lock(ctx, "lock-", e.SSH.Dest(host), timeout, func() error {
		return fmt.Errorf("another jt is working on %s (waited %v); try again", host, timeout)
	})
}

// lockSession serialises jt opens of one session, so that two of them
// submit one job.
func (e *Engine) lockSession(ctx context.Context, host, name string, timeout time.Duration) (func(), error) {
	return e.lock(ctx, "lock-session-", host+"\x00"+name, timeout, func() error {
		return fmt.Errorf("another jt open of session %s on %s is running (waited %v); try again", name, host, timeout)
	})
}

func (e *Engine) lock(ctx context.Context, prefix, key string, timeout time.Duration, busy func() error) (func(), error) {
	sum := sha256.Sum256([]byte(key))
	l := flock.New(filepath.Join(e.LocalDir, prefix+hex.EncodeToString(sum[:8])))
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := l.TryLockContext(lctx, 25*time.Millisecond)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, busy()
	}
	return func() { l.Unlock() }, nil
}

var loginMu sync.Mutex

// ensureMaster reuses or starts the master for host, showing what ssh
// said, and reports whether it started one (a start that failed leaves no
// master: nothing for the caller to undo). It returns the Engine to go
// on with: e itself, or where ssh cannot keep a master, a copy whose
// client logs in for each step (e is shared, and never changed).
func (e *Engine) ensureMaster(ctx context.Context, host string) (*Engine, bool, error) {
	// One login at a time: ssh may ask on the terminal (password, 2FA,
	// host key), and two prompts at once cannot be answered.
	loginMu.Lock()
	started, res, err := e.SSH.EnsureMaster(ctx, host)
	loginMu.Unlock()
	if err != nil && started && (ctx.Err() != nil || sshexec.Interrupted(err)) {
		// An interrupted login may have left a master: one daemonised
		// just before the user's Ctrl-C ended the ssh jt waited on. (The
		// terminal's signal can reach that ssh before jt has noted it:
		// ctx alone cannot tell.) Nothing uses a master whose login
		// failed. A login that failed by itself left none. Callers that
		// do not hold the host's lock (close, exec) are safe too: another
		// jt's open of the host has a live pending record, which keeps it.
		e.exitIdleMasterLocked(context.WithoutCancel(ctx), host)
		started = false
	}
	if err != nil && ctx.Err() != nil {
		return e, started, err
	}
	if err != nil && sshexec.MuxUnsupported(err) {
		e.warn("ssh cannot keep a master connection here (%v); going on without one", err)
		ee := e.direct()
		ee.noMuxNotice()
		return ee, false, nil
	}
	if err != nil {
		return e, false, sshHinted(err, host)
	}
	if started {
		if msg := strings.TrimSpace(string(res.Stderr)); msg != "" {
			e.Report.SSH(msg)
		}
	}
	return e, started, nil
}

// noMuxNotice tells a user without a key agent what no multiplexing costs.
func (e *Engine) noMuxNotice() {
	if os.Getenv("SSH_AUTH_SOCK") == "" {
		e.progress("without a master connection each step logs in again, and may ask for your password each time; a key with ssh-agent avoids that (ssh-keygen, ssh-copy-id HOST, ssh-add)")
	}
}

// ExitIdleMaster ends host's master when none of its recorded sessions
// still has a working tunnel. It decides under the host's lock, which
// every jt open holds from its login to its record: "the last session is
// closed" and "a new session is opening" cannot interleave.
func (e *Engine) ExitIdleMaster(ctx context.Context, host string) {
	unlock, err := e.lockHost(ctx, host, 60*time.Second)
	if err != nil {
		e.warn("%s: ssh master left running: %v", host, err)
		return
	}
	defer unlock()
	e.exitIdleMasterLocked(ctx, host)
}

// exitIdleMasterLocked is ExitIdleMaster for a caller that holds host's
// lock. A profile and its destination share a master, so the sessions of
// both count.
func (e *Engine) exitIdleMasterLocked(ctx context.Context, host string) {
	f, err := e.Store.Load()
	if err != nil {
		return
	}
	// Another jt open still works through it (jt open --slurm waits in
	// the queue for as long as it takes).
	for _, p := range f.Pending {
		if e.SSH.SameMaster(p.Host, host) && p.PID != os.Getpid() && processAlive(p.PID) {
			return
		}
	}
	for _, s := range f.Sessions {
		if e.SSH.SameMaster(s.Host, host) && e.tunnelInUse(ctx, s) {
			return
		}
	}
	if e.kernelsRide(host) {
		return // jt kernel run carries a kernel's channels over it
	}
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.SSH.Exit(ectx, host); err != nil {
		e.warn("%s: could not stop the ssh master: %v", host, err)
	}
}

// lookup finds the recorded session, if any.
func (e *Engine) lookup(host, name string) (state.Session, bool, error) {
	f, err := e.Store.Load()
	if err != nil {
		return state.Session{}, false, err
	}
	s, ok := f.Find(host, name)
	return s, ok, nil
}

// stale reports whether a pending record was left by a jt open that no
// longer runs (or has run for an hour: its pid may be another's now).
func (e *Engine) stale(p state.Pending) bool {
	return !processAlive(p.PID) || e.Now().Sub(p.Since) >= time.Hour
}

// addPending records that an open of host/name is under way, under a new
// nonce that marks what it starts; see cleanPending.
func (e *Engine) addPending(ctx context.Context, host, name string) (string, error) {
	nonce := newNonce()
	return nonce, e.Store.Update(ctx, func(f *state.File) error {
		f.Pending = append(f.Pending, state.Pending{Host: host, Name: name, Nonce: nonce, PID: os.Getpid(), Since: e.Now().UTC()})
		return nil
	})
}

// recordOpened records an opened session in place of its pending record.
func (e *Engine) recordOpened(ctx context.Context, sess state.Session, nonce string) error {
	return e.Store.Update(ctx, func(f *state.File) error {
		f.Put(sess)
		f.RemovePending(nonce)
		return nil
	})
}

// dropPending removes the pending record of an open that ended without a
// session (its undo, if any, has run); it works after a Ctrl-C too.
func (e *Engine) dropPending(nonce string) {
	e.Store.Update(context.Background(), func(f *state.File) error { f.RemovePending(nonce); return nil })
}

// cleanPending undoes the opens of host that were killed before they
// finished (their pending record remains). One for name is only dropped:
// the caller is about to open it and adopts whatever it started.
func (e *Engine) cleanPending(ctx context.Context, host, name string) {
	f, err := e.Store.Load()
	if err != nil {
		return
	}
	for _, p := range f.Pending {
		if p.Host != host || !e.stale(p) {
			continue // another host, or that jt still runs
		}
		if p.Name != name {
			e.warn("undoing an interrupted jt open of %s on %s", p.Name, p.Host)
			if _, err := e.killRemote(ctx, p.Host, p.Name, p.Nonce, 20*time.Second); err != nil {
				continue
			}
		}
		e.Store.Update(ctx, func(f *state.File) error { f.RemovePending(p.Nonce); return nil })
	}
}

func newNonce() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// undoer collects how to take back each step of an open, newest first.
type undoer struct{ steps []func(context.Context) }

func (u *undoer) push(f func(context.Context)) { u.steps = append(u.steps, f) }

// run undoes in reverse order, with time of its own: the command's context
// is already cancelled.
func (u *undoer) run(e *Engine, why string) {
	if len(u.steps) == 0 {
		return
	}
	e.warn("%s: undoing what this jt open started", why)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(u.steps) - 1; i >= 0; i-- {
		u.steps[i](ctx)
	}
}
