package session

import (
	"context"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/state"
)

// schedulersFor are the schedulers to ask about a host: those of its
// recorded batch sessions or, when discovering, every one jt knows.
func schedulersFor(recorded map[string][]state.Session, discover bool) []scheduler.Scheduler {
	var out []scheduler.Scheduler
	for _, name := range scheduler.Names() {
		if sch, err := scheduler.Named(name); err == nil && (discover || len(recorded[name]) > 0) {
			out = append(out, sch)
		}
	}
	return out
}

// checkBatchHost decides the live state of host's sessions under sch: up
// when the scheduler vouches for the job's server and the tunnel answers
// (asked at once, while the tunnels are probed), else what the scheduler
// says of the job.
func (e *Engine) checkBatchHost(ctx context.Context, sch scheduler.Scheduler, host string, recorded []state.Session, discover bool, timeout time.Duration) []Status {
	ids := make([]string, 0, len(recorded))
	for _, s := range recorded {
		ids = append(ids, s.Job.ID)
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var order []scheduler.Job // as the scheduler listed them
	word := ask(func() (map[string]scheduler.Job, error) {
		jobs, err := e.jobStatus(hctx, sch, host, ids)
		order = jobs
		return jobsByID(jobs), err
	})
	now := e.Now()
	rows := e.probeAll(hctx, recorded, func(s state.Session) (bool, error) {
		jobs, err := word.wait()
		j, ok := jobs[s.Job.ID]
		return sameJob(s, j, ok, now), err
	})
	for i, s := range recorded {
		if rows[i].State == StateUp {
			rows[i].JobState, rows[i].TimeLeft = "RUNNING", timeLeft(s.Job.End, now)
			if s.Job.Limit == "UNLIMITED" {
				rows[i].TimeLeft = "unlimited"
			}
		}
	}
	byID, err := word.wait()
	if err != nil {
		if discover && len(recorded) == 0 {
			return nil // no such scheduler there, or not reachable: checkHost says so
		}
		unreachable(rows, err, hctx, timeout)
		return rows
	}
	known := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		known[r.Job.ID] = true
		if j, ok := byID[r.Job.ID]; ok && (j.Nonce == "" || j.Nonce == r.Job.Nonce) {
			r.Resources = j.Resources
		}
		if r.State == StateUp {
			continue
		}
		j, ok := byID[r.Job.ID]
		// The same job id with another nonce is another job: ids restart
		// when a cluster's state is wiped.
		if ok && j.Nonce != "" && j.Nonce != r.Job.Nonce {
			ok = false
		}
		if !sameJob(recorded[i], j, ok, now) {
			e.dropTunnels(ctx, recorded[i]) // the job or its server is gone
		}
		judgeJob(sch, r, j, ok)
	}
	if discover {
		for _, j := range order {
			if j.Name != "" && !known[j.ID] && (j.Phase == scheduler.Running || j.Phase == scheduler.Queued) {
				rows = append(rows, discoveredJob(sch, host, j))
			}
		}
	}
	return rows
}

// judgeJob decides a recorded batch session's state from its job.
func judgeJob(sch scheduler.Scheduler, r *Status, j scheduler.Job, ok bool) {
	if !ok {
		j = scheduler.Job{Phase: scheduler.Gone}
	}
	// Over because jt's watcher shut Jupyter down (jt open --idle): say so.
	if ok && j.Idle && j.Phase != scheduler.Running && j.Phase != scheduler.Queued {
		r.State, r.JobState, r.JobReason = StateIdleStopped, j.State, j.Reason
		return
	}
	switch j.Phase {
	case scheduler.Running:
		r.State = StateTunnelDown
		if j.PID > 0 {
			r.PID = j.PID
		}
		r.JobState, r.TimeLeft = j.State, j.Left
	case scheduler.Queued:
		r.State, r.JobState, r.JobReason, r.JobStart = StateQueued, j.State, j.Reason, estimate(j)
	case scheduler.Ended:
		r.State, r.JobState, r.JobReason = StateJobEnded, j.State, j.Reason
	default:
		r.State, r.JobReason = StateJobEnded, "no longer known to "+sch.Title()
	}
}

// discoveredJob is the row of a job of jt's that it has no record of.
func discoveredJob(sch scheduler.Scheduler, host string, j scheduler.Job) Status {
	r := Status{Session: state.Session{Host: host, Name: j.Name, Mux: sch.Name(), Node: j.Node,
		Job: &state.Job{Scheduler: sch.Name(), ID: j.ID, Node: j.Node, Addr: j.Addr, Nonce: j.Nonce, Limit: j.Limit}},
		Resources: j.Resources}
	if j.Phase == scheduler.Running {
		r.State = StateTunnelDown
		r.RemoteHost, r.RemotePort, r.Dir, r.PID, r.Started = j.Addr, j.Port, j.Dir, j.PID, j.Started
		r.JobState, r.TimeLeft = j.State, j.Left
	} else {
		r.State, r.JobState, r.JobReason, r.JobStart = StateQueued, j.State, j.Reason, estimate(j)
	}
	return r
}

// estimate is a queued job's start estimate; a scheduler that gives none
// leaves it empty, which jt ls says as NoEstimate.
func estimate(j scheduler.Job) string {
	if j.Estimate == "" {
		return scheduler.NoEstimate
	}
	return j.Estimate
}

// timeLeft is the time from now to end, or "" without an end.
func timeLeft(end, now time.Time) string {
	if end.IsZero() {
		return ""
	}
	return max(end.Sub(now), 0).Round(time.Second).String()
}
