package session

import (
	"context"
	"fmt"

	"github.com/jt-sh/jt/sshexec"
)

// private decides how the job's Jupyter listens, and readies the node hop.
// A job that waits for jt's word is told "socket" when jt reaches its node
// by ssh (the hop is made first), else "tcp": said on stderr and in the
// answer, or refused when the request demands privacy. A server found on
// a socket needs its hop; one found on TCP is token-only.
func (o *batchOpening) private(ctx context.Context, op Opened) (Opened, error) {
	e, r := o.e, o.r
	if w := o.waiting; w != nil {
		give, why := "tcp", ""
		if !r.TCP && r.Port == 0 {
			h := sshexec.Hop{Login: r.Host, Node: w.Job.Node, Name: r.Name}
			e.progress("job %s runs on %s: reaching it by ssh through %s", w.Job.ID, w.Job.Node, r.Host)
			started, err := e.ensureHop(ctx, h)
			if started {
				o.undo.push(func(ctx context.Context) { e.SSH.NodeHop(h).Exit(ctx) })
			}
			if ctx.Err() != nil {
				return op, ctx.Err()
			}
			if err == nil {
				give = "socket"
			} else {
				why = err.Error()
			}
		}
		if give == "tcp" && r.Batch.Private {
			return op, o.refusePrivate(w.Job.Node, why)
		}
		status := op.Status
		o.waiting = nil
		next, err := o.waitForJob(ctx, give)
		if err != nil {
			return next, err
		}
		if o.waiting != nil {
			return next, fmt.Errorf("job %s on %s still waits for jt's word on how Jupyter is to listen", w.Job.ID, w.Job.Node)
		}
		next.Status = status
		op = next
		if why != "" {
			s := op.Session
			op.Fallback = fmt.Sprintf("no ssh to %s (%s): Jupyter listens on TCP %s:%d, where anyone on the cluster's network can reach it and only the token keeps them out (exposure token-only)",
				s.Job.Node, why, s.RemoteHost, s.RemotePort)
			e.warn("%s", op.Fallback)
		}
	}
	s := op.Session
	switch {
	case s.Mode == "socket":
		started, err := e.ensureHop(ctx, hopOf(s))
		if started {
			o.undo.push(func(ctx context.Context) { e.SSH.NodeHop(hopOf(s)).Exit(ctx) })
		}
		if err != nil {
			return op, Hinted(fmt.Errorf("job %s's Jupyter listens on a private socket on %s, which jt cannot reach by ssh from here: %w", s.Job.ID, s.Job.Node, err),
				"jt doctor --"+s.Job.Scheduler+" "+r.Host+" says what the cluster needs; jt close --kill --name "+r.Name+" "+r.Host+" ends the job")
		}
	case r.Batch.Private:
		return op, fmt.Errorf("private: job %s's Jupyter already listens on TCP %s:%d, which anyone on the cluster's network can reach with the token", s.Job.ID, s.RemoteHost, s.RemotePort)
	case op.Fallback == "" && !r.TCP && r.Port == 0:
		e.warn("job %s's Jupyter listens on TCP %s:%d: anyone on the cluster's network can reach it, only the token keeps them out (exposure token-only)", s.Job.ID, s.RemoteHost, s.RemotePort)
	}
	return op, nil
}

// refusePrivate is the one error of an open that demands privacy and
// cannot have it.
func (o *batchOpening) refusePrivate(node, why string) error {
	return fmt.Errorf("private: no ssh to %s (%s), and jt does not fall back to a server anyone on the cluster's network can reach with the token", node, why)
}
