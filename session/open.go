package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
)

// Open finds or starts the session's server, forwards it and records it;
// a session whose recorded tunnel answers needs no ssh at all. With a
// notebook, the file must be there (Opened.URL then leads to it).
func (e *Engine) Open(ctx context.Context, r OpenRequest) (Opened, error) {
	op, err := e.open(ctx, r)
	if err != nil || r.Notebook == "" {
		return op, err
	}
	return e.withNotebook(ctx, r, op)
}

func (e *Engine) open(ctx context.Context, r OpenRequest) (Opened, error) {
	if err := r.Validate(); err != nil {
		return Opened{}, err
	}
	if r.Batch.Scheduler != "" {
		return e.openBatch(ctx, r)
	}
	rec, known, err := e.lookup(r.Host, r.Name)
	if err != nil {
		return Opened{}, err
	}
	if known && rec.Batch() {
		return Opened{}, validate.Usagef("session %s on %s is %s job %s: jt open --%s reattaches to it (jt close --kill ends it; or choose another --name)", r.Name, r.Host, title(rec), rec.Job.ID, rec.Job.Scheduler)
	}
	// Warm: the recorded tunnel answers with the recorded token, so master,
	// forward and server are all up and ours. No ssh needed.
	if known && e.answers(ctx, rec) {
		return Opened{Session: rec, Status: "warm"}, nil
	}
	unlock, err := e.lockHost(ctx, r.Host, r.Timeout+30*time.Second)
	if err != nil {
		return Opened{}, err
	}
	defer unlock()
	e.cleanPending(ctx, r.Host, r.Name)
	// Another jt may have opened this session while we waited for the lock.
	if rec, known, err = e.lookup(r.Host, r.Name); err != nil {
		return Opened{}, err
	}
	if known && e.answers(ctx, rec) {
		return Opened{Session: rec, Status: "warm"}, nil
	}
	// Until the session is recorded, a pending record lets the next jt
	// undo this open if it is killed; Ctrl-C undoes it right here.
	nonce, err := e.addPending(ctx, r.Host, r.Name)
	if err != nil {
		return Opened{}, err
	}
	o := &opening{e: e, r: r, rec: rec, known: known, nonce: nonce}
	opened, err := o.steps(ctx)
	if err != nil {
		if ctx.Err() != nil {
			o.undo.run(e, "interrupted")
		}
		e.dropPending(nonce)
		return Opened{}, err
	}
	if known && len(rec.Forwards) > 0 {
		opened.Session.Forwards = o.e.restoreForwards(ctx, rec, opened.Session)
	}
	return opened, e.recordOpened(ctx, opened.Session, nonce)
}

// opening is one jt open of a plain session under way.
type opening struct {
	e     *Engine // becomes a copy without a master where ssh cannot keep one
	r     OpenRequest
	rec   state.Session // the recorded session, if known
	known bool
	nonce string
	undo  undoer
}

// steps connects, finds or starts the server, forwards and probes,
// registering the undo of each step that changes something.
func (o *opening) steps(ctx context.Context) (Opened, error) {
	e, r := o.e, o.r
	e.progress("connecting to %s", r.Host)
	if e.SSH.NoMux {
		e.noMuxNotice()
	}
	e, started, err := e.ensureMaster(ctx, r.Host)
	o.e = e
	if started {
		// Open holds the host's lock.
		o.undo.push(func(ctx context.Context) { e.exitIdleMasterLocked(ctx, r.Host) })
	}
	if err != nil {
		return Opened{}, err
	}
	// Registered before the script runs: an interrupt may come while the
	// server starts. The remote side stops it only if this open started it.
	o.undo.push(func(ctx context.Context) { e.killRemote(ctx, r.Host, r.Name, o.nonce, 20*time.Second) })
	op, err := o.startAndForward(ctx, o.known)
	if err != nil {
		return op, err
	}
	e.progress("waiting for Jupyter to answer through the tunnel")
	version := versionAlongside(ctx, op.Session)
	err = e.probeFor(ctx, op.Session, 15*time.Second)
	if err != nil && ctx.Err() == nil && op.Session.Mode == "socket" && op.Status == "started" && !r.TCP {
		op, err = o.fallBackToTCP(ctx, op, err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return op, ctx.Err()
		}
		return op, Hinted(err, "the server runs on "+r.Host+" (pid "+strconv.Itoa(op.Session.PID)+") but the tunnel does not reach it; see jt logs "+r.Host)
	}
	op.Session.Version = version(ctx, op.Session)
	return op, nil
}

// versionAlongside asks s's server for its version (GET /api: no token)
// while the probe runs, so that the two cost one round trip, not two
// (notebook 6's runtime file says no version). The returned func gives
// the version once the probe is done: asked again when the early answer
// was none, or when the tunnel moved (a fallback to TCP).
func versionAlongside(ctx context.Context, s state.Session) func(context.Context, state.Session) string {
	if s.Version != "" {
		return func(_ context.Context, after state.Session) string {
			if after.Version != "" {
				return after.Version
			}
			return s.Version
		}
	}
	early := make(chan string, 1)
	go func() { early <- serverVersion(ctx, s) }()
	return func(ctx context.Context, after state.Session) string {
		v := <-early
		if after.Version != "" {
			return after.Version
		}
		if v == "" || after.LocalPort != s.LocalPort {
			v = serverVersion(ctx, after)
		}
		if v == "" {
			return ""
		}
		return "notebook " + v
	}
}

// startAndForward finds or starts the server and adds its tunnel.
func (o *opening) startAndForward(ctx context.Context, known bool) (Opened, error) {
	op, err := o.e.findOrStart(ctx, o.r, o.nonce, nil)
	if err == nil && op.Status == "elsewhere" {
		op, err = o.openElsewhere(ctx, op.Session.Node)
	}
	if err != nil {
		return op, err
	}
	if known && !o.rec.Batch() {
		// A hop to another login node that no longer holds the tunnel
		// goes first: its forward holds the recorded local port.
		o.e.retireHop(ctx, o.rec, op.Session)
	}
	if err := o.e.forward(ctx, o.r, o.rec, known, &op.Session); err != nil {
		return op, err
	}
	s, fw := op.Session, forwardOf(op.Session)
	o.undo.push(func(ctx context.Context) { o.e.cancelTunnel(ctx, s, fw) })
	return op, nil
}

// fallBackToTCP starts over on TCP when the tunnel to the unix socket gave
// no answer. Forwards to unix sockets fail only when used: sshd may forbid
// them (AllowStreamLocalForwarding no), or Jupyter is slow to serve. It
// says why, here and in --json.
func (o *opening) fallBackToTCP(ctx context.Context, op Opened, probeErr error) (Opened, error) {
	e, r := o.e, o.r
	fallback := fmt.Sprintf("the tunnel to Jupyter's unix socket gave no answer within 15s (%v): does sshd forbid stream-local forwarding, or is Jupyter slow to serve?", probeErr)
	e.warn("%s: %s; falling back to TCP on 127.0.0.1", r.Host, fallback)
	e.cancelForward(ctx, op.Session)
	if _, err := e.killRemoteVia(ctx, r.Host, sessionHop(op.Session), r.Name, o.nonce, 30*time.Second); err != nil {
		op.Fallback = fallback
		return op, err
	}
	o.r.TCP = true
	op, err := o.startAndForward(ctx, false)
	op.Fallback = fallback
	if err != nil {
		return op, err
	}
	return op, e.probeFor(ctx, op.Session, 15*time.Second)
}

// probeFor is probeUntil within d.
func (e *Engine) probeFor(ctx context.Context, s state.Session, d time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return e.probeUntil(pctx, s)
}

// forwardOf is the tunnel of s.
func forwardOf(s state.Session) sshexec.Forward {
	return sshexec.Forward{LocalPort: s.LocalPort, RemoteHost: s.RemoteHost, RemotePort: s.RemotePort, RemoteSock: s.RemoteSock, PID: s.ForwardPID}
}

// findOrStart runs open.sh on the host (with hop, on the other login node
// it leads to): one round trip that finds the session's server or starts
// it and waits, on the host, until it is ready. Status "elsewhere": the
// server runs on another machine of the same home, Session.Node, and
// nothing was started.
func (e *Engine) findOrStart(ctx context.Context, r OpenRequest, nonce string, hop *sshexec.Hop) (Opened, error) {
	mode := "socket"
	if r.TCP || r.Port != 0 {
		mode = "tcp"
	}
	script, err := templates.Render(templates.Open{
		Name: r.Name, Dir: r.Dir, Flavour: r.Flavour, Command: r.Command, Port: r.Port,
		Mode: mode, Timeout: seconds(r.Timeout), Mux: r.Console, Nonce: nonce, Env: r.Env,
		Idle: seconds(r.Idle),
	})
	if err != nil {
		return Opened{}, err
	}
	e.progress("finding or starting Jupyter (session %s) on %s", r.Name, r.Host)
	reply, _, err := e.remote(ctx, remoteCall{host: r.Host, kind: templates.KindSession, script: script,
		what: "run jt's script on " + r.Host, timeout: r.Timeout + 20*time.Second, replace: true, hop: hop})
	if err != nil {
		if errors.Is(err, errNoReply) && len(r.Env.Setup) > 0 {
			// bash as /bin/sh keeps the setup's redirection when a setup line exits.
			return Opened{}, Hinted(err, "does a setup line of the profile run exit? jt doctor "+r.Host+" runs the setup and shows its output")
		}
		return Opened{}, err
	}
	b := reply.Blocks[0]
	if a := b.Session(); a.Status == "elsewhere" {
		if a.Name != r.Name {
			return Opened{}, answerAbout(r.Host, r.Name, a.Name)
		}
		return Opened{Status: a.Status, Session: state.Session{Host: r.Host, Name: r.Name, Node: a.Node}}, nil
	}
	sess, err := sessionFromBlock(r.Host, r.Name, e.SSH.ControlPath(), b)
	if err != nil {
		return Opened{}, err
	}
	a := b.Session()
	op := Opened{Session: sess, Status: a.Status}
	if mode == "socket" && sess.Mode == "tcp" && op.Status == "started" {
		op.Fallback = a.Fallback
		if op.Fallback == "" {
			op.Fallback = "this jupyter ignored --sock"
		}
		e.warn("%s: %s; the server listens on TCP 127.0.0.1:%d instead", r.Host, op.Fallback, sess.RemotePort)
	}
	if w := templates.KernelWarning(b); w != "" {
		e.warn("%s: %s", r.Host, w)
	}
	if rt := a.Container; rt != "" && r.Env.Container.Runtime == "auto" && op.Status == "started" {
		e.warn("%s: Jupyter runs in the container %s under %s (the first runtime the host has)", r.Host, r.Env.Container.Image, rt)
	}
	return op, nil
}

// seconds is d in whole seconds, rounded up.
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// killRemote stops a session's server and removes its remote files; with
// a nonce, only if the jt open with that nonce started it.
func (e *Engine) killRemote(ctx context.Context, host, name, nonce string, timeout time.Duration) (templates.Block, error) {
	return e.killRemoteVia(ctx, host, nil, name, nonce, timeout)
}

// killRemoteVia is killRemote on the other login node hop leads to (nil:
// on host).
func (e *Engine) killRemoteVia(ctx context.Context, host string, hop *sshexec.Hop, name, nonce string, timeout time.Duration) (templates.Block, error) {
	script, err := templates.Render(templates.Close{Name: name, Nonce: nonce})
	if err != nil {
		return templates.Block{}, err
	}
	reply, _, err := e.remote(ctx, remoteCall{host: host, kind: templates.KindClose, script: script,
		what: "stop " + name + " on " + host, timeout: timeout, replace: true, hop: hop})
	if err != nil {
		return templates.Block{}, err
	}
	return reply.Blocks[0], nil
}

// sessionFromBlock turns the remote answer (checked by templates.Read)
// about session name into a state record. The name is jt's own: an answer
// about another session is refused.
func sessionFromBlock(host, name, controlPath string, b templates.Block) (state.Session, error) {
	if b.Server == nil {
		return state.Session{}, fmt.Errorf("%s answered without server details", host)
	}
	a := b.Session()
	if a.Name != name {
		return state.Session{}, answerAbout(host, name, a.Name)
	}
	s := state.Session{
		Host: host, Name: name, ControlPath: controlPath, PID: b.Server.PID,
		Mux: a.Mux, Dir: a.Dir, Log: a.Log, Node: a.Node, BootID: a.Boot,
		Token: b.Server.Token, BaseURL: b.Server.BaseURL, Flavour: a.Flavour,
	}
	if s.Flavour == "" || s.Flavour == "custom" {
		s.Flavour = flavourOf(a.Runtime)
	}
	s.Version = versionOf(a.Runtime, b.Server.Version)
	if b.Server.Sock != "" {
		s.Mode, s.RemoteSock = "socket", b.Server.Sock
	} else {
		s.Mode, s.RemotePort = "tcp", b.Server.Port
	}
	if s.Dir == "" {
		s.Dir = b.Server.Root()
	}
	if a.Started != 0 {
		s.Started = time.Unix(a.Started, 0).UTC()
	}
	s.IdleSeconds = a.IdlePeriod
	return s, nil
}

// answerAbout refuses an answer about another session than name: names
// are jt's own, never the remote's.
func answerAbout(host, name, got string) error {
	return &templates.AnswerError{Host: host, Field: "a session name", Value: got, Why: "jt asked about session " + name}
}

// versionOf names the server that wrote the runtime file, and its version
// (checked by the gate), or "" when the file says none.
func versionOf(runtimeFile, version string) string {
	if version == "" {
		return ""
	}
	if strings.HasPrefix(runtimeFile, "nbserver-") {
		return "notebook " + version
	}
	return "jupyter_server " + version
}

// flavourOf names the server family from its runtime file name.
func flavourOf(runtimeFile string) string {
	switch {
	case strings.HasPrefix(runtimeFile, "nbserver-"):
		return "notebook"
	case strings.HasPrefix(runtimeFile, "jpserver-"):
		return "server"
	}
	return ""
}
