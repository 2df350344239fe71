package session

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
)

// The live states of a session, as jt ls shows them.
const (
	StateUp         = "up"
	StateTunnelDown = "tunnel down"
	// StatePortTaken: the server runs, but another program listens on the
	// tunnel's local port (it is sent no token; jt open moves the tunnel).
	StatePortTaken   = "port taken"
	StateServerDead  = "server dead"
	StateUnreachable = "unreachable"
	// StateElsewhere is what the remote scripts say of a session whose
	// server runs on another machine that shares the home (its node);
	// jt then asks that machine through a hop (elsewhere.go), and shows a
	// node it cannot reach as unreachable.
	StateElsewhere = "elsewhere"
	// A batch session's job waits in the queue, or is over.
	StateQueued   = "queued"
	StateJobEnded = "job ended"
	// StateIdleStopped: jt's watcher shut Jupyter down after --idle without
	// activity (and its batch job ended with it).
	StateIdleStopped = "stopped (idle)"
)

// Status is one session, checked live.
type Status struct {
	state.Session
	State    string   `json:"state"`
	URL      string   `json:"url,omitempty"`
	Recorded bool     `json:"recorded"`
	Uptime   string   `json:"uptime,omitempty"`
	Error    string   `json:"error,omitempty"`
	LogTail  []string `json:"log_tail,omitempty"`
	// Of a batch session's job, from the scheduler.
	JobState  string `json:"job_state,omitempty"`  // RUNNING, PENDING, TIMEOUT, CANCELLED…
	JobReason string `json:"job_reason,omitempty"` // the scheduler's reason: Priority, Resources, TimeLimit…
	TimeLeft  string `json:"time_left,omitempty"`  // of a running job, e.g. "59m10s", or "unlimited"
	// JobStart: of a queued job, the scheduler's start estimate ("in
	// 4m10s", "now") or "no estimate".
	JobStart string `json:"job_start,omitempty"`
	// Resources: what the job got, "name=value" pairs in the scheduler's
	// words ("cpus=2 mem=1G time=10:00 partition=debug").
	Resources string `json:"resources,omitempty"`
	// Idle: how long an up server has seen no activity (its /api/status
	// last_activity).
	Idle string `json:"idle,omitempty"`
	// Activity: of an up session opened with --idle, its idle watcher's
	// verdict: "busy: kernel computing", "busy: client connected", "idle
	// for 12s"… (templates.Verdict.Say).
	Activity string `json:"activity,omitempty"`
	// EndsSoon: a running job has less than EndsSoon left.
	EndsSoon bool `json:"ends_soon,omitempty"`
	// ForwardStates are the session's extra forwards (jt forward), checked.
	ForwardStates []ForwardStatus `json:"forwards,omitempty"`
}

// ListRequest is what jt ls asks for.
type ListRequest struct {
	// Hosts to check, also for sessions started elsewhere; none: every
	// recorded session.
	Hosts    []string
	LogLines int // log lines of dead servers
	Timeout  time.Duration
}

// List checks sessions, hosts in parallel. It never asks for a password.
func (e *Engine) List(ctx context.Context, r ListRequest) ([]Status, error) {
	for _, h := range r.Hosts {
		if err := validHost(h); err != nil {
			return nil, err
		}
	}
	if r.LogLines < 0 || r.LogLines > 10000 {
		return nil, validate.Usagef("--logs %d is out of range: use 0-10000", r.LogLines)
	}
	if r.Timeout <= 0 {
		return nil, validate.Usagef("--timeout must be positive, like 8s")
	}
	f, err := e.Store.Load()
	if err != nil {
		return nil, err
	}
	e = e.batch()
	byHost := map[string][]state.Session{}
	discover := map[string]bool{}
	for _, h := range r.Hosts {
		byHost[h] = nil
		discover[h] = true
	}
	for _, s := range f.Sessions {
		if len(r.Hosts) == 0 || discover[s.Host] {
			byHost[s.Host] = append(byHost[s.Host], s)
		}
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	results := make([][]Status, len(hosts))
	activity := make([]map[string]templates.Verdict, len(hosts))
	var wg sync.WaitGroup
	slot := make(chan struct{}, parallelChecks)
	for i, h := range hosts {
		wg.Add(2)
		go func() {
			defer wg.Done()
			slot <- struct{}{}
			defer func() { <-slot }()
			results[i] = e.checkHosts(ctx, h, byHost[h], discover[h], r.LogLines, r.Timeout)
		}()
		go func() {
			defer wg.Done()
			activity[i] = e.verdicts(ctx, h, watched(byHost[h]), r.Timeout)
		}()
	}
	wg.Wait()
	var rows []Status
	for i, r := range results {
		withVerdicts(r, hosts[i], activity[i])
		rows = append(rows, r...)
	}
	e.finish(rows)
	e.checkForwards(ctx, rows)
	return rows, nil
}

// finish adds the URL of sessions that are up, and their uptime.
func (e *Engine) finish(rows []Status) {
	now := e.Now()
	for i := range rows {
		r := &rows[i]
		if r.State == StateUp && r.LocalPort > 0 {
			r.URL = URL(r.Session)
		}
		if r.Batch() && (r.State == StateUp || r.State == StateTunnelDown || r.State == StatePortTaken) {
			if d, err := time.ParseDuration(r.TimeLeft); err == nil && d < EndsSoon {
				r.EndsSoon = true
			}
		}
		if !r.Started.IsZero() && (r.State == StateUp || r.State == StateTunnelDown || r.State == StatePortTaken) {
			r.Uptime = now.Sub(r.Started).Round(time.Second).String()
		}
	}
}

// checkHosts is jt ls for one host: batch sessions are asked of their
// scheduler, the others of the host's session directories.
func (e *Engine) checkHosts(ctx context.Context, host string, recorded []state.Session, discover bool, lines int, timeout time.Duration) []Status {
	var plain []state.Session
	batch := map[string][]state.Session{}
	for _, s := range recorded {
		if s.Batch() {
			batch[s.Job.Scheduler] = append(batch[s.Job.Scheduler], s)
		} else {
			plain = append(plain, s)
		}
	}
	var rows []Status
	if len(plain) > 0 || discover {
		rows = e.checkHost(ctx, host, plain, discover, lines, timeout)
	}
	for _, sch := range schedulersFor(batch, discover) {
		brows := e.checkBatchHost(ctx, sch, host, batch[sch.Name()], discover, timeout)
		if len(brows) > 0 && len(rows) == 1 && rows[0].Name == "" {
			rows = nil // the host's "unreachable" row: the batch rows say it
		}
		rows = append(rows, brows...)
	}
	return rows
}

// remoteSessions asks host for the jt sessions of the remote user (only
// names, if given), with lines of log each. It runs over the master when
// there is one, else over a fresh non-interactive login (BatchMode: it
// never prompts).
func (e *Engine) remoteSessions(ctx context.Context, host string, lines int, names []string) ([]templates.Block, error) {
	script, err := templates.Render(templates.List{LogLines: lines, Names: names})
	if err != nil {
		return nil, err
	}
	reply, _, err := e.remote(ctx, remoteCall{host: host, kind: templates.KindSession, script: script, listing: true})
	return reply.Blocks, err
}

// hostWord is one remote answer about a host's sessions, asked once and
// waited for by every probe that needs it (see proveFarEnd).
type hostWord[T any] struct {
	done   chan struct{}
	answer T
	err    error
}

// ask starts the question in the background.
func ask[T any](f func() (T, error)) *hostWord[T] {
	w := &hostWord[T]{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.answer, w.err = f()
	}()
	return w
}

// wait is the answer, once it came.
func (w *hostWord[T]) wait() (T, error) {
	<-w.done
	return w.answer, w.err
}

// probeAll probes the tunnels of recorded sessions, in parallel, with the
// host's word on each (vouch: see proveFarEnd).
func (e *Engine) probeAll(ctx context.Context, recorded []state.Session, vouch func(state.Session) (bool, error)) []Status {
	rows := make([]Status, len(recorded))
	var wg sync.WaitGroup
	for i, s := range recorded {
		rows[i] = Status{Session: s, Recorded: true}
		if s.LocalPort == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each step bounded (probeVouched), the host's word by the
			// host's deadline in ctx.
			switch last, err := e.probeVouched(ctx, s, func() (bool, error) { return vouch(s) }); {
			case err == nil:
				rows[i].State, rows[i].Idle = StateUp, idleFor(last, e.Now())
			case errors.Is(err, sshexec.ErrPortTaken):
				rows[i].State = StatePortTaken
			}
		}()
	}
	wg.Wait()
	return rows
}

// unreachable marks the rows that are not up with what kept the host from
// answering.
func unreachable(rows []Status, err error, hctx context.Context, timeout time.Duration) {
	msg := err.Error()
	if errors.Is(hctx.Err(), context.DeadlineExceeded) {
		msg = fmt.Sprintf("no answer within %v", timeout)
	}
	for i := range rows {
		if rows[i].State != StateUp {
			rows[i].State, rows[i].Error = StateUnreachable, msg
		}
	}
}

// checkHost decides the live state of each recorded session of host and,
// when discover is set, adds the host's sessions jt has no record of. The
// host is asked once, while the tunnels are probed, when a session's far
// end needs its word or when discovering; else only if one is not up.
func (e *Engine) checkHost(ctx context.Context, host string, recorded []state.Session, discover bool, lines int, timeout time.Duration) []Status {
	// One deadline for the whole host, probes included: a dead host costs
	// --timeout, never more.
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var names []string
	for _, s := range recorded {
		names = append(names, s.Name)
	}
	if discover {
		names = nil // all of them
	}
	// Sessions on another login node of the home are asked there (read
	// once the answer is waited for).
	var unreached map[string]error
	question := func() ([]templates.Block, error) {
		blocks, err := e.remoteSessions(hctx, host, lines, names)
		if err != nil {
			return blocks, err
		}
		blocks, unreached = e.listElsewhere(hctx, host, blocks, lines)
		return blocks, nil
	}
	var word *hostWord[[]templates.Block]
	if discover || !allSelfProving(recorded) {
		word = ask(question)
	}
	rows := e.probeAll(hctx, recorded, func(s state.Session) (bool, error) {
		blocks, err := word.wait()
		if err != nil {
			return false, err
		}
		b, ok := blocksByName(blocks)[s.Name]
		return sameServer(s, b, ok), nil
	})
	// The tunnel answering with the session's own token proves master,
	// forward and server at once; ask the host only when something is not up.
	if allUp(rows) && !discover {
		return rows
	}
	if word == nil {
		word = ask(question)
	}
	blocks, err := word.wait()
	if err != nil {
		unreachable(rows, err, hctx, timeout)
		if len(rows) == 0 {
			rows = append(rows, Status{Session: state.Session{Host: host}, State: StateUnreachable})
			unreachable(rows, err, hctx, timeout)
		}
		return rows
	}
	remote := blocksByName(blocks)
	for i := range rows {
		b, ok := remote[rows[i].Name]
		delete(remote, rows[i].Name)
		if rows[i].State != StateUp {
			was := rows[i].Session
			e.judge(host, &rows[i], b, ok, unreached)
			if !sameServer(was, b, ok) && b.Session().State != StateElsewhere {
				e.dropTunnels(ctx, was) // its server is gone: nothing may answer in its place
			}
		}
	}
	if discover {
		for _, b := range blocks {
			if _, still := remote[b.Session().Name]; still {
				rows = append(rows, e.discovered(host, b, unreached))
			}
		}
	}
	return rows
}

// allSelfProving reports whether no session of ss needs the host's word.
func allSelfProving(ss []state.Session) bool {
	for _, s := range ss {
		if !selfProving(s) && s.LocalPort != 0 {
			return false
		}
	}
	return true
}

// errText is err's message, or "" without one.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func allUp(rows []Status) bool {
	for _, r := range rows {
		if r.State != StateUp {
			return false
		}
	}
	return len(rows) > 0
}

// judge decides a recorded session's state from what the host answered
// of it (ok: the host knows the session; unreached: why the other login
// node of the sessions that run there could not be asked).
func (e *Engine) judge(host string, r *Status, b templates.Block, ok bool, unreached map[string]error) {
	a := b.Session()
	switch {
	case !ok:
		r.State = StateServerDead
	case a.State == StateElsewhere:
		r.State, r.Node, r.Error = StateUnreachable, a.Node, errText(unreached[a.Name])
	case a.State != "running" || b.Server == nil:
		r.State, r.LogTail = StateServerDead, b.Log
		if a.Idle {
			r.State = StateIdleStopped
		}
	default:
		taken := r.State == StatePortTaken
		r.State = StateTunnelDown
		if b.Server.PID != r.PID || b.Server.Token != r.Token {
			// Another server now runs under this name (started elsewhere).
			if live, err := sessionFromBlock(host, a.Name, e.SSH.ControlPath(), b); err == nil {
				live.LocalPort = 0
				r.Session = live
			}
		}
		if taken && r.LocalPort != 0 {
			r.State = StatePortTaken
		}
	}
}

// discovered is the row of a session jt has no record of.
func (e *Engine) discovered(host string, b templates.Block, unreached map[string]error) Status {
	a := b.Session()
	r := Status{Session: state.Session{Host: host, Name: a.Name}, State: StateServerDead, LogTail: b.Log}
	if a.Idle {
		r.State = StateIdleStopped
	}
	if a.State == StateElsewhere {
		r.State, r.Node, r.Error = StateUnreachable, a.Node, errText(unreached[a.Name])
	}
	if a.State == "running" && b.Server != nil {
		if live, err := sessionFromBlock(host, a.Name, e.SSH.ControlPath(), b); err == nil {
			r.Session = live
			r.State = StateTunnelDown
		}
	}
	return r
}
