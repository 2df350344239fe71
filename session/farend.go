package session

// The far end of a session's tunnel. A 200 on the local port proves that
// something answers there, not that it is the recorded server: after a
// TCP server on a shared host died, or a token-only job ended, another
// user may listen on that remote port; after a job's tidy, another user
// may make its socket directory under the node's /tmp again. So before
// jt calls a session warm or up, or sends it the token, the host vouches
// for the server (one remote check per host, over the master, run while
// a token-less GET /api goes through the tunnel), except where only the
// user can listen at the far end at all.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// errNotVouched: the host says that what s's tunnel leads to is not the
// recorded server (dead, or another one); no token was sent.
var errNotVouched = errors.New("the host does not vouch for the recorded server; no token sent")

// selfProving reports whether only the user can listen at s's far end: a
// plain session's unix socket, in a 0700 directory of the user's home on
// the host (made by open.sh, under directories only the user can write).
// Whatever answers there is the user's own, so the token probe itself is
// the proof. TCP on a host (--tcp, the fallback) and every batch session
// (the node's address, or a socket under the node's world-writable /tmp)
// need the host's word first.
func selfProving(s state.Session) bool { return !s.Batch() && s.Mode == "socket" }

// jobOver reports whether s's job has passed its end time: such a session
// is never warm, whatever answers its tunnel.
func jobOver(s state.Session, now time.Time) bool {
	return s.Batch() && !s.Job.End.IsZero() && !now.Before(s.Job.End)
}

// sameServer reports whether b, the host's answer about session s (ok:
// the host answered about it), vouches that s's recorded server runs:
// Jupyter's own runtime file, for a pid the host checked is that Jupyter
// (common.sh's ours), with the recorded token and place.
func sameServer(s state.Session, b templates.Block, ok bool) bool {
	if !ok || b.Session().State != "running" || b.Server == nil {
		return false
	}
	srv := b.Server
	if srv.PID != s.PID || srv.Token != s.Token || srv.Sock != s.RemoteSock {
		return false
	}
	return s.RemoteSock != "" || srv.Port == s.RemotePort
}

// sameJob reports whether j, the scheduler's answer about s's job (ok:
// it answered about it), vouches that s's recorded server runs in it:
// the job runs, is this session's (nonce), on the recorded node, before
// its end, and the file the job keeps while Jupyter runs names the
// recorded pid (and, on TCP, address and port).
func sameJob(s state.Session, j scheduler.Job, ok bool, now time.Time) bool {
	if !ok || j.Phase != scheduler.Running || j.Nonce != s.Job.Nonce || j.Node != s.Job.Node || j.PID != s.PID || jobOver(s, now) {
		return false
	}
	return s.Mode == "socket" || (j.Addr == s.RemoteHost && j.Port == s.RemotePort)
}

// vouched asks s's host, over its master and never prompting, whether
// s's recorded server still runs (one remote check). false with a nil
// error: the host says it does not.
func (e *Engine) vouched(ctx context.Context, s state.Session) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, vouchWithin)
	defer cancel()
	se := e.forSession(s).batch()
	if s.Batch() {
		sch, err := scheduler.Named(s.Job.Scheduler)
		if err != nil {
			return false, err
		}
		jobs, err := se.jobStatus(ctx, sch, s.Host, []string{s.Job.ID})
		if err != nil {
			return false, err
		}
		j, ok := jobsByID(jobs)[s.Job.ID]
		return sameJob(s, j, ok, e.Now()), nil
	}
	blocks, err := se.remoteSessions(ctx, s.Host, 0, []string{s.Name})
	if err != nil {
		return false, err
	}
	b, ok := blocksByName(blocks)[s.Name]
	return sameServer(s, b, ok), nil
}

// jobStatus runs sch's status script on host: the user's jt jobs, and
// what the scheduler still knows of ids.
func (e *Engine) jobStatus(ctx context.Context, sch scheduler.Scheduler, host string, ids []string) ([]scheduler.Job, error) {
	script := sch.Status(ids)
	reply, _, err := e.remote(ctx, remoteCall{host: host, kind: script.Kind, script: script.Text, listing: true})
	if err != nil {
		return nil, err
	}
	return sch.Jobs(reply.Blocks), nil
}

// jobsByID are jobs by id.
func jobsByID(jobs []scheduler.Job) map[string]scheduler.Job {
	m := map[string]scheduler.Job{}
	for _, j := range jobs {
		m[j.ID] = j
	}
	return m
}

// blocksByName are list.sh's answers by session name.
func blocksByName(blocks []templates.Block) map[string]templates.Block {
	m := map[string]templates.Block{}
	for _, b := range blocks {
		m[b.Session().Name] = b
	}
	return m
}

// proveFarEnd is the proof before the token goes to s's tunnel: the
// host's word (vouch, which may wait for an answer shared by a host's
// sessions) while a token-less GET /api goes through the tunnel. A
// server the host says is gone takes its tunnels with it.
func (e *Engine) proveFarEnd(ctx context.Context, s state.Session, vouch func() (bool, error)) error {
	if selfProving(s) {
		return nil
	}
	if jobOver(s, e.Now()) {
		e.dropTunnels(ctx, s)
		return fmt.Errorf("job %s of session %s passed its end time (%s)", s.Job.ID, s.Name, s.Job.End.Local().Format("15:04 Mon 2 Jan"))
	}
	reached := make(chan error, 1)
	go func() {
		pctx, cancel := context.WithTimeout(ctx, probeStep)
		defer cancel()
		reached <- probeOpen(pctx, s.LocalPort, s.BaseURL)
	}()
	alive, err := vouch()
	perr := <-reached
	switch {
	case err != nil:
		return fmt.Errorf("no token sent: %s could not say whether session %s's server still runs: %w", s.Host, s.Name, err)
	case !alive:
		e.dropTunnels(ctx, s)
		return errNotVouched
	}
	return perr
}

// dropTunnels removes the tunnels of s, whose server or job is known to
// be gone, at once: its own and, for a batch session (the node is no
// longer the user's), its extra forwards and its ssh master to the node.
// The record keeps them: the next jt open restores what still applies.
func (e *Engine) dropTunnels(ctx context.Context, s state.Session) {
	if s.LocalPort == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	e.forSession(s).cancelForward(cctx, s)
	if !s.Batch() {
		return
	}
	e.cancelForwards(cctx, s)
	if viaHop(s) {
		e.SSH.NodeHop(hopOf(s)).Exit(cctx)
	}
}
