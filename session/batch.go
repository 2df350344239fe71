package session

// A batch session: Jupyter as a job on a compute node, reached through the
// login node's master (-L 127.0.0.1:LP:NODE-ADDRESS:PORT). The login node
// is the session's host; the job's files live in the user's home, which
// the compute nodes share. What is particular to each scheduler is behind
// scheduler.Scheduler.

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

// title is the name of s's scheduler in messages.
func title(s state.Session) string {
	if s.Job == nil {
		return ""
	}
	if sch, err := scheduler.Named(s.Job.Scheduler); err == nil {
		return sch.Title()
	}
	return s.Job.Scheduler
}

// batchOpening is one batch open under way.
type batchOpening struct {
	e     *Engine
	r     OpenRequest
	sch   scheduler.Scheduler
	rec   state.Session
	known bool
	nonce string
	undo  undoer
	relay *queueRelay
	// waiting is the job that runs and waits for jt's word on how its
	// Jupyter is to listen (see private).
	waiting *scheduler.Started
}

// openBatch reattaches to the session's job or submits one, waits while it
// is queued, forwards to the node, probes and records.
func (e *Engine) openBatch(ctx context.Context, r OpenRequest) (Opened, error) {
	sch, err := scheduler.Named(r.Batch.Scheduler)
	if err != nil {
		return Opened{}, err
	}
	rec, known, err := e.lookup(r.Host, r.Name)
	if err != nil {
		return Opened{}, err
	}
	if known && !rec.Batch() && rec.PID > 0 {
		return Opened{}, validate.Usagef("session %s on %s runs on the login node, not in %s: jt close --kill --name %s %s first, or choose another --name", r.Name, r.Host, sch.Title(), r.Name, r.Host)
	}
	if known && rec.Token != "" && e.answers(ctx, rec) {
		return Opened{Session: rec, Status: "warm"}, nil
	}
	// The wait in the queue may be long: it holds this session's lock, and
	// the host's only while the master is made (batchOpening.connect), so
	// that other sessions of the host, and jt close, go on meanwhile.
	unlock, err := e.lockSession(ctx, r.Host, r.Name, r.Timeout+30*time.Second)
	if err != nil {
		return Opened{}, err
	}
	defer unlock()
	nonce, err := e.addPending(ctx, r.Host, r.Name)
	if err != nil {
		return Opened{}, err
	}
	o := &batchOpening{e: e, r: r, sch: sch, rec: rec, known: known, nonce: nonce, relay: &queueRelay{e: e, host: r.Host}}
	op, err := o.steps(ctx)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			o.undo.run(o.e, "interrupted")
		case o.relay.lastLine().Job != "" && !o.relay.ended:
			// This open's job must not hold a node that jt cannot use; a
			// job found queued or running is left alone (another nonce).
			o.undo.run(o.e, "failed")
		default:
			o.e.ExitIdleMaster(context.Background(), r.Host)
		}
		e.dropPending(nonce)
		return Opened{}, err
	}
	if known && len(rec.Forwards) > 0 {
		op.Session.Forwards = o.e.restoreForwards(ctx, rec, op.Session)
	}
	if known && rec.Batch() {
		o.e.retireHop(ctx, rec, op.Session)
	}
	if err := e.recordOpened(ctx, op.Session, nonce); err != nil {
		return Opened{}, err
	}
	if op.Status == "started" || op.Status == "running" {
		j := op.Session.Job
		until := "no time limit"
		if !j.End.IsZero() {
			until = "until " + j.End.Local().Format("15:04 Mon 2 Jan") + " (limit " + j.Limit + ")"
		}
		e.progress("job %s runs on %s, %s", j.ID, j.Node, until)
	}
	return op, nil
}

// steps connects, runs the waiting script (relaying its queue lines),
// forwards to the node and probes, registering the undo of each step.
func (o *batchOpening) steps(ctx context.Context) (Opened, error) {
	r := o.r
	if err := o.connect(ctx); err != nil {
		return Opened{}, err
	}
	// Registered before the script runs: the interrupt may come while the
	// job is submitted. Only the job with this open's nonce is touched.
	o.undo.push(func(uctx context.Context) { o.cancelOwn(uctx, r.Batch.KeepQueued && ctx.Err() != nil) })
	op, err := o.waitForJob(ctx, "")
	if err != nil {
		return op, err
	}
	if op, err = o.private(ctx, op); err != nil {
		return op, err
	}
	e := o.e
	if err := e.forward(ctx, r, o.rec, o.known && o.rec.Batch(), &op.Session); err != nil {
		return op, err
	}
	s0 := op.Session
	o.undo.push(func(ctx context.Context) { e.cancelForward(ctx, s0) })
	s := op.Session
	e.progress("waiting for Jupyter on %s to answer through the tunnel", s.Job.Node)
	version := versionAlongside(ctx, s)
	if err := e.probeFor(ctx, s, 15*time.Second); err != nil {
		if ctx.Err() != nil {
			return op, ctx.Err()
		}
		if viaHop(s) {
			return op, Hinted(fmt.Errorf("jupyter runs in job %s on %s (socket %s) but the tunnel through jt's ssh to %s does not reach it: %w", s.Job.ID, s.Job.Node, s.RemoteSock, s.Job.Node, err),
				"does the sshd of "+s.Job.Node+" allow forwarding to a unix socket? (AllowStreamLocalForwarding; OpenSSH also refuses it under AllowTcpForwarding no)")
		}
		return op, Hinted(fmt.Errorf("jupyter runs in job %s on %s (%s:%d) but the tunnel through %s does not reach it: %w", s.Job.ID, s.Job.Node, s.RemoteHost, s.RemotePort, r.Host, err),
			"can "+r.Host+" connect to "+s.RemoteHost+":"+strconv.Itoa(s.RemotePort)+"? (sshd's AllowTcpForwarding, a firewall between login and compute nodes)")
	}
	op.Session.Version = version(ctx, op.Session)
	return op, nil
}

// connect makes the login node's master under the host's lock, and undoes
// interrupted opens of the host meanwhile.
func (o *batchOpening) connect(ctx context.Context) error {
	e, host := o.e, o.r.Host
	e.progress("connecting to %s", host)
	if e.SSH.NoMux {
		e.noMuxNotice()
	}
	unlockHost, err := e.lockHost(ctx, host, o.r.Timeout+30*time.Second)
	if err != nil {
		return err
	}
	e, started, err := e.ensureMaster(ctx, host)
	if err == nil {
		e.cleanPending(ctx, host, o.r.Name)
	}
	unlockHost()
	o.e = e
	if started {
		o.undo.push(func(ctx context.Context) { e.ExitIdleMaster(ctx, host) })
	}
	return err
}

// cancelOwn is the undo of the job this open submitted (keep: only stop
// its waiting script), saying what became of it.
func (o *batchOpening) cancelOwn(ctx context.Context, keep bool) {
	e, r := o.e, o.r
	c, err := e.cancelJobs(ctx, o.sch, r.Host, scheduler.Cancel{Name: r.Name, Nonce: o.nonce, KeepQueued: keep})
	last := o.relay.lastLine()
	flag := "--" + o.sch.Name()
	switch {
	case err != nil:
		e.warn("could not cancel the job of session %s on %s: %v; see the queue there (job name jt-%s)", r.Name, r.Host, err, r.Name)
	case keep && last.Job != "":
		e.warn("job %s stays in the queue: jt open %s --name %s %s reattaches to it, jt close --kill --name %s %s cancels it", last.Job, flag, r.Name, r.Host, r.Name, r.Host)
	case c.Jobs != "":
		e.warn("cancelled job %s", c.Jobs)
	case last.Job != "" && last.Status == "running":
		e.warn("job %s was queued before this jt open: it stays (jt close --kill --name %s %s cancels it)", last.Job, r.Name, r.Host)
	}
}

// waitForJob runs the scheduler's submit script: one long-running script
// on the login node that submits (or finds) the job and watches the queue
// there, printing a queue line on each change, and answers once Jupyter
// is ready.
func (o *batchOpening) waitForJob(ctx context.Context, give string) (Opened, error) {
	e, r := o.e, o.r
	listen := "ask"
	if r.TCP || r.Port != 0 {
		listen = "tcp"
	}
	script, err := o.sch.Submit(scheduler.Submit{
		Name: r.Name, Nonce: o.nonce, Dir: r.Dir, Flavour: r.Flavour, Command: r.Command, Port: r.Port, Env: r.Env,
		Args: r.Batch.Args, Timeout: seconds(r.Timeout), Idle: seconds(r.Idle),
		Listen: listen, Give: give, Console: batchConsole(r.Console),
	})
	if err != nil {
		return Opened{}, err
	}
	e.progress("looking for job jt-%s on %s, or submitting it", r.Name, r.Host)
	o.relay.again()
	reply, _, err := e.remote(ctx, remoteCall{host: r.Host, kind: script.Kind, script: script.Text,
		what: "run jt's " + o.sch.Title() + " script on " + r.Host, stream: o.relay})
	if ctx.Err() != nil {
		return Opened{}, ctx.Err()
	}
	if err != nil {
		if len(reply.Blocks) > 0 && reply.Blocks[0].Error {
			o.relay.ended = reply.Blocks[0].BatchOpen().Ended
		}
		return Opened{}, err
	}
	b := reply.Blocks[0]
	if got := b.BatchOpen().Name; got != r.Name {
		return Opened{}, answerAbout(r.Host, r.Name, got)
	}
	st, err := o.sch.Started(b, e.Now())
	if err != nil {
		return Opened{}, fmt.Errorf("%s %w", r.Host, err)
	}
	if st.KernelWarning != "" {
		e.warn("%s: %s", r.Host, st.KernelWarning)
	}
	if st.WaitsForWord {
		o.waiting = &st
		return Opened{Status: st.Status}, nil
	}
	s := batchSession(r, o.sch, e.SSH.ControlPath(), st)
	if s.Mode == "socket" {
		s.Job.Hop = e.SSH.NodeHop(hopOf(s)).ControlPath()
	}
	return Opened{Session: s, Status: st.Status}, nil
}

// batchSession is the record of a batch session whose Jupyter runs.
func batchSession(r OpenRequest, sch scheduler.Scheduler, controlPath string, st scheduler.Started) state.Session {
	j := st.Job
	s := state.Session{
		Host: r.Host, Name: r.Name, ControlPath: controlPath, Mode: "tcp", Exposure: ExposureTokenOnly,
		RemoteHost: j.Addr, RemotePort: j.Port, PID: st.Server.PID, Flavour: flavourOf(st.Runtime), Version: versionOf(st.Runtime, st.Server.Version),
		Mux: sch.Name(), Dir: j.Dir, Log: st.Log, Node: j.Node, Token: st.Server.Token, BaseURL: st.Server.BaseURL,
		Started: j.Started, IdleSeconds: seconds(r.Idle),
		Job: &state.Job{Scheduler: sch.Name(), ID: j.ID, Node: j.Node, Addr: j.Addr, Nonce: j.Nonce, Limit: j.Limit, End: st.End},
	}
	if st.Server.Sock != "" {
		s.Mode, s.Exposure, s.RemoteSock, s.RemoteHost, s.RemotePort = "socket", ExposurePrivate, st.Server.Sock, "", 0
	}
	if s.Dir == "" {
		s.Dir = st.Server.Root()
	}
	if s.Flavour == "" {
		s.Flavour = r.Flavour
	}
	return s
}

// cancelJobs runs sch's cancel script on host.
func (e *Engine) cancelJobs(ctx context.Context, sch scheduler.Scheduler, host string, c scheduler.Cancel) (scheduler.Cancelled, error) {
	script := sch.Cancel(c)
	reply, _, err := e.remote(ctx, remoteCall{host: host, kind: script.Kind, script: script.Text,
		what: "cancel the job of " + c.Name + " on " + host, timeout: 45 * time.Second})
	if err != nil {
		return scheduler.Cancelled{}, err
	}
	return sch.Cancelled(reply.Blocks[0]), nil
}

// batchConsole is the console of a batch job's Jupyter: a screen window
// on the node unless the user asked for none (tmux is refused by
// OpenRequest.Validate: a job cannot wait on a tmux server, which leaves
// its parent).
func batchConsole(console string) string {
	if console == "none" {
		return "none"
	}
	return "screen"
}
