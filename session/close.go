package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

// CloseRequest is what jt close asks for.
type CloseRequest struct {
	Host    string // "": the one recorded session, or every host with All
	Name    string
	Kill    bool // also stop the server (cancel the job) and remove its files
	All     bool // every session of Host, or everywhere
	Timeout time.Duration
}

// Close removes sessions' tunnels and, with Kill, stops their servers.
// Hosts are closed in parallel, each host's sessions in order (they share
// its master); logins that must ask take turns (ensureMaster).
func (e *Engine) Close(ctx context.Context, r CloseRequest) error {
	if r.Host != "" {
		if err := validHost(r.Host); err != nil {
			return err
		}
	}
	if err := validName(r.Name); err != nil {
		return err
	}
	targets, pendingHosts, err := e.closeTargets(ctx, r)
	if err != nil {
		return err
	}
	if len(targets) == 0 && len(pendingHosts) == 0 {
		e.warn("nothing to close")
		return nil
	}
	for h := range pendingHosts {
		if unlock, err := e.lockHost(ctx, h, r.Timeout); err == nil {
			e.cleanPending(ctx, h, "")
			unlock()
		}
	}
	byHost := map[string][]state.Session{}
	var order []string
	for _, s := range targets {
		if _, seen := byHost[s.Host]; !seen {
			order = append(order, s.Host)
		}
		byHost[s.Host] = append(byHost[s.Host], s)
	}
	quiet := r.Kill && len(order) > 1
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		slot = make(chan struct{}, parallelHosts)
	)
	for _, h := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot <- struct{}{}
			defer func() { <-slot }()
			if quiet {
				e.preLogin(ctx, h, byHost[h], r.Timeout)
			}
			for _, s := range byHost[h] {
				if err := e.closeOne(ctx, r, s); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
			e.ExitIdleMaster(ctx, h)
		}()
	}
	wg.Wait()
	for h := range pendingHosts {
		if _, done := byHost[h]; !done {
			e.ExitIdleMaster(ctx, h)
		}
	}
	return errors.Join(errs...)
}

// parallelHosts bounds the hosts whose logins and scripts a command runs
// at once; parallelChecks, the hosts jt ls checks at once (mostly an HTTP
// probe each, through a tunnel that is up).
const (
	parallelHosts  = 16
	parallelChecks = 64
)

// preLogin starts the master that closing host's sessions will need,
// asking nothing, when jt closes the sessions of several hosts side by
// side: a login that would ask (a password, a 2FA code, a host key) fails
// at once and is made later by ensureMaster, when the logins that ask
// take turns. Each host goes on to its close as soon as its own login is
// done. Sessions opened without a master need none.
func (e *Engine) preLogin(ctx context.Context, host string, sessions []state.Session, timeout time.Duration) {
	if e.SSH.NoMux || !slices.ContainsFunc(sessions, func(s state.Session) bool { return s.Transport != "direct" }) {
		return
	}
	unlock, err := e.lockHost(ctx, host, timeout)
	if err != nil {
		return
	}
	defer unlock()
	e.SSH.EnsureMasterQuiet(ctx, host)
}

// closeTargets are the sessions r means, and the hosts with opens that
// were interrupted hard (their pending records are undone too).
func (e *Engine) closeTargets(ctx context.Context, r CloseRequest) ([]state.Session, map[string]bool, error) {
	f, err := e.Store.Load()
	if err != nil {
		return nil, nil, err
	}
	var targets []state.Session
	switch {
	case r.All:
		for _, s := range f.Sessions {
			if r.Host == "" || s.Host == r.Host {
				targets = append(targets, s)
			}
		}
	case r.Host != "":
		s, ok := f.Find(r.Host, r.Name)
		if !ok {
			s = state.Session{Host: r.Host, Name: r.Name}
		}
		targets = []state.Session{s}
	default:
		if len(f.Sessions) != 1 {
			return nil, nil, validate.Usagef("close needs a HOST (jt has %d sessions; see jt ls), or --all", len(f.Sessions))
		}
		targets = f.Sessions
	}
	if r.All && r.Kill && r.Host != "" {
		// What jt ls HOST shows, recorded here or not: a new laptop, or a
		// wiped home, can still stop the servers it finds.
		found, err := e.discoverSessions(ctx, r.Host, targets, r.Timeout)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, found...)
	}
	pendingHosts := map[string]bool{}
	for _, p := range f.Pending {
		if (r.Host == "" || p.Host == r.Host) && e.stale(p) {
			pendingHosts[p.Host] = true
		}
	}
	return targets, pendingHosts, nil
}

func (e *Engine) closeOne(ctx context.Context, r CloseRequest, s state.Session) error {
	// A session opened without a master is closed without one.
	e = e.forSession(s)
	unlock, err := e.lockHost(ctx, s.Host, r.Timeout)
	if err != nil {
		return err
	}
	defer unlock()
	// A background keeper would only open it again.
	e.StopKeeper(s.Host, s.Name)
	// Read again under the lock: an open may have just recorded it.
	if f, err := e.Store.Load(); err == nil {
		if cur, ok := f.Find(s.Host, s.Name); ok {
			s = cur
		}
	}
	if s.LocalPort > 0 {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := e.cancelForward(cctx, s)
		e.endHop(cctx, s)
		cancel()
		if err != nil && !errors.Is(err, sshexec.ErrNoMaster) {
			e.warn("%s %s: could not remove the forward: %v", s.Host, s.Name, err)
		}
	}
	e.cancelForwards(ctx, s)
	if !r.Kill {
		return e.closeTunnel(ctx, s)
	}
	if s.Batch() {
		return e.closeBatch(ctx, s)
	}
	return e.kill(ctx, r, s)
}

// closeTunnel is jt close without --kill: the record keeps the server.
func (e *Engine) closeTunnel(ctx context.Context, s state.Session) error {
	switch {
	case s.PID == 0:
		e.warn("%s %s: no such session recorded; nothing to close", s.Host, s.Name)
		return nil
	case s.Batch():
		e.warn("%s %s: tunnel closed; job %s keeps running (jt open --%s %s reattaches, jt close --kill cancels it)", s.Host, s.Name, s.Job.ID, s.Job.Scheduler, s.Host)
	default:
		e.warn("%s %s: tunnel closed; the server keeps running (jt open %s reattaches, jt close --kill stops it)", s.Host, s.Name, s.Host)
	}
	return e.Store.Update(ctx, func(f *state.File) error {
		if cur, ok := f.Find(s.Host, s.Name); ok {
			cur.LocalPort, cur.ForwardPID, cur.Forwards = 0, 0, nil
			f.Put(cur)
		}
		return nil
	})
}

// kill stops a plain session's server and removes its files.
func (e *Engine) kill(ctx context.Context, r CloseRequest, s state.Session) error {
	e, _, err := e.ensureMaster(ctx, s.Host)
	if err != nil {
		return err
	}
	e.cleanPending(ctx, s.Host, "")
	b, err := e.killRemote(ctx, s.Host, s.Name, "", r.Timeout)
	if err != nil {
		return err
	}
	if a := b.Close(); a.State == StateElsewhere {
		// On another login node of the same home: stopped there.
		if b, err = e.killElsewhere(ctx, s, a.Node, r.Timeout); err != nil {
			return err
		}
	}
	// Not recorded here: it may be a job queued by a batch open.
	a := b.Close()
	if s.PID == 0 && e.closeUnrecordedJobs(ctx, s) && a.State != "stopped" {
		return nil
	}
	switch a.State {
	case "stopped":
		e.warn("%s %s: stopped jupyter (pid %d) and removed its files", s.Host, s.Name, a.PID)
	default:
		e.warn("%s %s: no server was running; removed what was left", s.Host, s.Name)
	}
	return e.Store.Update(ctx, func(f *state.File) error {
		f.Remove(s.Host, s.Name)
		return nil
	})
}

// closeBatch is jt close --kill of a batch session: cancel its jobs, wait
// until they have left the queue, remove their files, drop the record.
func (e *Engine) closeBatch(ctx context.Context, s state.Session) error {
	sch, err := scheduler.Named(s.Job.Scheduler)
	if err != nil {
		return err
	}
	e, _, err = e.ensureMaster(ctx, s.Host)
	if err != nil {
		return err
	}
	c, err := e.cancelJobs(ctx, sch, s.Host, scheduler.Cancel{Name: s.Name})
	if err != nil {
		return err
	}
	switch c.State {
	case "cancelled":
		e.warn("%s %s: cancelled job %s and removed its files", s.Host, s.Name, c.Jobs)
	case "stuck":
		return fmt.Errorf("%s %s: cancelled %s, but job %s is still in the queue; see the queue there", s.Host, s.Name, c.Jobs, c.Stuck)
	case "absent":
		e.warn("%s %s: no %s commands on %s; nothing to cancel", s.Host, s.Name, sch.Title(), s.Host)
	default:
		e.warn("%s %s: no job was queued or running; removed what was left", s.Host, s.Name)
	}
	return e.Store.Update(ctx, func(f *state.File) error {
		if cur, ok := f.Find(s.Host, s.Name); ok && cur.Batch() {
			f.Remove(s.Host, s.Name)
		}
		return nil
	})
}

// closeUnrecordedJobs cancels the jobs of a session jt has no record of
// (queued by an interrupted open with --keep-queued, or from another
// machine), under every scheduler jt knows, and reports whether there
// were any.
func (e *Engine) closeUnrecordedJobs(ctx context.Context, s state.Session) bool {
	any := false
	for _, name := range scheduler.Names() {
		sch, _ := scheduler.Named(name)
		c, err := e.cancelJobs(ctx, sch, s.Host, scheduler.Cancel{Name: s.Name})
		if err != nil || c.Jobs == "" {
			continue
		}
		e.warn("%s %s: cancelled job %s and removed its files", s.Host, s.Name, c.Jobs)
		any = true
	}
	return any
}

// discoverSessions lists host's jt sessions that are not among recorded,
// as jt ls HOST finds them (plain servers and batch jobs).
func (e *Engine) discoverSessions(ctx context.Context, host string, recorded []state.Session, timeout time.Duration) ([]state.Session, error) {
	e, _, err := e.ensureMaster(ctx, host)
	if err != nil {
		return nil, err
	}
	var found []state.Session
	for _, r := range e.checkHosts(ctx, host, recorded, true, 0, timeout) {
		switch {
		case r.Recorded:
		case r.Name == "":
			return nil, fmt.Errorf("list the sessions on %s: %s", host, r.Error)
		case r.State == StateUnreachable && r.Node != "":
			e.warn("%s %s: runs on %s, which jt does not reach from %s (%s); left alone", host, r.Name, r.Node, host, r.Error)
		default:
			found = append(found, r.Session)
		}
	}
	return found, nil
}
