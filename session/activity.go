package session

import (
	"context"
	"time"

	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// jt open --idle runs jt's idle watcher beside the server, on the host (a
// batch job's: on its node), which judges whether anything uses the
// session and releases it through Jupyter's API; its verdict is a file in
// the session's run directory. jt ls reads the verdicts with one script
// per host, through the master, beside the tunnel probes: a host with no
// watched session costs nothing more.

// watched are the sessions of recorded whose verdict jt ls reads: those
// opened with --idle, reached through a master (a session without one
// would cost a fresh login).
func watched(recorded []state.Session) []templates.ActivityOf {
	var out []templates.ActivityOf
	for _, s := range recorded {
		if s.IdleSeconds <= 0 || s.Transport == "direct" {
			continue
		}
		a := templates.ActivityOf{Name: s.Name}
		if s.Batch() {
			a.Scheduler, a.Nonce = s.Job.Scheduler, s.Job.Nonce
		}
		out = append(out, a)
	}
	return out
}

// verdicts reads the verdicts of host's watched sessions, by name; nil
// when there are none or the host does not answer (jt ls then says
// nothing of them).
func (e *Engine) verdicts(ctx context.Context, host string, of []templates.ActivityOf, timeout time.Duration) map[string]templates.Verdict {
	// No master, no read: a fresh login would cost more than the answer.
	if len(of) == 0 || e.SSH.NoMux || e.SSH.Check(ctx, host) != nil {
		return nil
	}
	script, err := templates.Render(templates.Activity{Sessions: of})
	if err != nil {
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, _, err := e.remote(hctx, remoteCall{host: host, kind: templates.KindActivity, script: script, listing: true})
	if err != nil {
		return nil
	}
	out := map[string]templates.Verdict{}
	for _, b := range reply.Blocks {
		v := templates.VerdictOf(b)
		out[v.Name] = v
	}
	return out
}

// withVerdicts gives the up rows of host their watcher's verdict: why the
// session is not idle, or for how long it has been (the watcher's own
// count: the server's last activity also counts the watcher's probes).
func withVerdicts(rows []Status, host string, vs map[string]templates.Verdict) {
	for i := range rows {
		r := &rows[i]
		v, ok := vs[r.Name]
		if !ok || r.Host != host || r.State != StateUp || v.State == "" {
			continue
		}
		r.Activity = v.Say()
		switch {
		case v.Silent() || v.State == "off":
		case v.State == "idle":
			r.Idle = v.Idle.String()
		default:
			r.Idle = "0s"
		}
	}
}
