package session

// A session's extra tunnels (jt forward): 127.0.0.1:LP to another port or
// unix socket of the host (a batch session: of its node), through the
// session's master. They are recorded with the session, checked by jt ls,
// restored by every jt open that reattaches (so by the keeper too), and
// removed by jt close.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// The live states of an extra forward.
const (
	ForwardUp         = "up"
	ForwardDown       = "tunnel down"
	ForwardPortTaken  = "port taken"
	ForwardNoListener = "nothing listens"
)

// ForwardRequest is what jt forward asks for.
type ForwardRequest struct {
	Host, Name string
	// Remote is a port on the host (the node) or an absolute unix socket path.
	Remote    string
	LocalPort int  // 0: the remote port if free, else the next free one
	Cancel    bool // remove the forward of Remote (or of LocalPort)
}

// ForwardStatus is an extra forward, checked live.
type ForwardStatus struct {
	state.Forward
	Remote string `json:"remote"`
	State  string `json:"state"`
	URL    string `json:"url,omitempty"`
}

// ErrNothingListens: the tunnel works, but nothing accepts on the far end.
var ErrNothingListens = errors.New("nothing listens there")

// ParseRemote reads jt forward's REMOTE: a port, or an absolute unix
// socket path plain enough for ssh -L.
func ParseRemote(remote string) (state.Forward, error) {
	if n, err := strconv.Atoi(remote); err == nil && strconv.Itoa(n) == remote {
		if n < 1 || n > 65535 {
			return state.Forward{}, validate.Usagef("remote port %d is out of range: use 1-65535", n)
		}
		return state.Forward{RemotePort: n}, nil
	}
	if why := templates.CheckSocketPath(remote); why != "" {
		return state.Forward{}, validate.Usagef("%s is neither a port nor a unix socket path jt can forward to: %s", visible.Quote(remote), why)
	}
	return state.Forward{RemoteSock: remote}, nil
}

// forwardTarget is where extra forward f of session s leads: the host
// itself, or the node s's job runs on now (a node's address is always
// the current job's, never one recorded with the forward). The one place
// that knows how a session's node is reached.
func forwardTarget(s state.Session, f state.Forward) sshexec.Forward {
	f = f.Norm()
	fw := sshexec.Forward{LocalPort: f.LocalPort, RemotePort: f.RemotePort, RemoteSock: f.RemoteSock}
	if f.RemoteSock != "" || !s.Batch() {
		return fw
	}
	if viaHop(s) && f.At == "" {
		// On the node itself, through jt's ssh to it: its loopback.
		fw.RemoteHost = "127.0.0.1"
		return fw
	}
	// The node's address: through jt's ssh to the node, or from the login
	// node. A private session's own tunnel goes to a socket, so its
	// RemoteHost is empty and the job's address says where the node is.
	fw.RemoteHost = s.Job.Addr
	if fw.RemoteHost == "" {
		fw.RemoteHost = s.RemoteHost
	}
	if fw.RemoteHost == "" {
		fw.RemoteHost = s.Job.Node
	}
	return fw
}

// Forward adds (or with Cancel, removes) an extra forward of a session
// whose tunnel answers, and records it.
func (e *Engine) Forward(ctx context.Context, r ForwardRequest) (ForwardStatus, error) {
	if err := validHost(r.Host); err != nil {
		return ForwardStatus{}, err
	}
	if err := validName(r.Name); err != nil {
		return ForwardStatus{}, err
	}
	if err := validPort("local-port", r.LocalPort, true); err != nil {
		return ForwardStatus{}, err
	}
	var want state.Forward
	if r.Remote != "" {
		var err error
		if want, err = ParseRemote(r.Remote); err != nil {
			return ForwardStatus{}, err
		}
	} else if !r.Cancel || r.LocalPort == 0 {
		return ForwardStatus{}, validate.Usagef("forward needs REMOTE: a port on the host, or an absolute unix socket path")
	}
	want.LocalPort = r.LocalPort
	unlock, err := e.lockHost(ctx, r.Host, time.Minute)
	if err != nil {
		return ForwardStatus{}, err
	}
	defer unlock()
	s, ok, err := e.lookup(r.Host, r.Name)
	if err != nil {
		return ForwardStatus{}, err
	}
	if !ok || s.LocalPort == 0 {
		return ForwardStatus{}, Hinted(fmt.Errorf("no open session %s on %s", r.Name, r.Host), "open it first: jt open --no-browser --name "+r.Name+" "+r.Host)
	}
	if r.Cancel {
		return e.cancelExtra(ctx, s, want)
	}
	if s.Transport == "direct" || e.SSH.NoMux {
		return ForwardStatus{}, Hinted(fmt.Errorf("jt forward needs the ssh master connection, and session %s on %s has none (--no-master)", r.Name, r.Host),
			"open the session with a master (without --no-master or JT_NO_MASTER), or run ssh -N -L 127.0.0.1:PORT:… yourself")
	}
	if s.Batch() && !viaHop(s) && want.RemoteSock != "" {
		return ForwardStatus{}, validate.Usagef("session %s on %s runs on node %s, which jt reaches through %s only (exposure token-only): a unix socket there is out of reach; forward a TCP port of the node", r.Name, r.Host, s.Job.Node, r.Host)
	}
	if !e.answers(ctx, s) {
		return ForwardStatus{}, Hinted(fmt.Errorf("session %s on %s does not answer", r.Name, r.Host), "reattach with: jt open --no-browser --name "+r.Name+" "+r.Host)
	}
	return e.addExtra(ctx, s, want)
}

// addExtra forwards want for s, proves that something listens at the far
// end, and records it.
func (e *Engine) addExtra(ctx context.Context, s state.Session, want state.Forward) (ForwardStatus, error) {
	for _, f := range s.Forwards {
		if f.RemotePort == want.RemotePort && f.RemoteSock == want.RemoteSock && (want.LocalPort == 0 || want.LocalPort == f.LocalPort) {
			e.warn("%s %s: %s is already forwarded to 127.0.0.1:%d", s.Host, s.Name, f.Remote(), f.LocalPort)
			return e.checkExtra(ctx, s, f), nil
		}
	}
	f, err := e.bindExtra(ctx, s, want)
	if err != nil {
		return ForwardStatus{}, err
	}
	f, st := e.proveExtra(ctx, s, f)
	if st.State != ForwardUp {
		return ForwardStatus{}, Hinted(fmt.Errorf("%s on %s: %s; the forward is removed", f.Remote(), whereRuns(s), st.State),
			"start the program there first (jt ls --ports "+s.Host+" lists what session "+s.Name+" listens on)")
	}
	err = e.Store.Update(ctx, func(file *state.File) error {
		cur, ok := file.Find(s.Host, s.Name)
		if !ok {
			return fmt.Errorf("session %s on %s was closed meanwhile", s.Name, s.Host)
		}
		cur.Forwards = append(cur.Forwards, f)
		file.Put(cur)
		return nil
	})
	return st, err
}

// proveExtra checks extra forward f of s, just added: something listens
// at its far end. Where nothing listens on a node's loopback, a program
// may listen on the node's own address alone: f then leads there. A
// forward that is not up is removed.
func (e *Engine) proveExtra(ctx context.Context, s state.Session, f state.Forward) (state.Forward, ForwardStatus) {
	st := e.checkExtra(ctx, s, f)
	if st.State == ForwardNoListener && viaHop(s) && f.RemoteSock == "" && f.At == "" && s.Job.Addr != "" {
		e.cancelTunnel(context.WithoutCancel(ctx), s, forwardTarget(s, f))
		at := f
		at.At = state.AtNodeAddress
		if _, err := e.addForward(ctx, s, forwardTarget(s, at)); err == nil {
			f, st = at, e.checkExtra(ctx, s, at)
		}
	}
	if st.State != ForwardUp {
		e.cancelTunnel(context.WithoutCancel(ctx), s, forwardTarget(s, f))
	}
	return f, st
}

// whereRuns is the machine s's server runs on: its host, or its job's node.
func whereRuns(s state.Session) string {
	if s.Batch() {
		return s.Job.Node
	}
	return s.Host
}

// bindExtra adds the forward through the master on the requested local
// port, else on the remote port or the next free one after it.
func (e *Engine) bindExtra(ctx context.Context, s state.Session, f state.Forward) (state.Forward, error) {
	lp := f.LocalPort
	if lp == 0 {
		lp = f.RemotePort
		if lp < 1024 {
			lp = 9000
		}
	}
	for tries := 0; tries < 1000 && lp <= 65535; tries, lp = tries+1, lp+1 {
		if !sshexec.LocalPortFree(lp) {
			if f.LocalPort != 0 {
				break
			}
			continue
		}
		f.LocalPort = lp
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := e.addForward(fctx, s, forwardTarget(s, f))
		cancel()
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, sshexec.ErrForwardRefused) || f.LocalPort == 0 {
			return f, sshHinted(fmt.Errorf("forward 127.0.0.1:%d to %s: %w", lp, s.Host, err), s.Host)
		}
	}
	if f.LocalPort != 0 {
		return f, validate.Usagef("local port %d is in use: choose another with --local-port, or leave it out", f.LocalPort)
	}
	return f, fmt.Errorf("no free local port for %s", f.Remote())
}

// cancelExtra removes the recorded forwards that match want (by remote,
// and by local port when given) and forgets them.
func (e *Engine) cancelExtra(ctx context.Context, s state.Session, want state.Forward) (ForwardStatus, error) {
	var keep []state.Forward
	var gone *state.Forward
	for _, f := range s.Forwards {
		byRemote := (want.RemotePort != 0 || want.RemoteSock != "") && f.RemotePort == want.RemotePort && f.RemoteSock == want.RemoteSock
		if (byRemote || want.RemotePort == 0 && want.RemoteSock == "") && (want.LocalPort == 0 || want.LocalPort == f.LocalPort) && gone == nil {
			gone = &f
			continue
		}
		keep = append(keep, f)
	}
	if gone == nil {
		what := want.Remote()
		if want.RemotePort == 0 && want.RemoteSock == "" {
			what = "127.0.0.1:" + strconv.Itoa(want.LocalPort)
		}
		return ForwardStatus{}, fmt.Errorf("session %s on %s has no forward of %s (jt ls shows its forwards)", s.Name, s.Host, what)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := e.cancelTunnel(cctx, s, forwardTarget(s, *gone))
	cancel()
	if err != nil {
		return ForwardStatus{}, fmt.Errorf("remove the forward of %s: %w", gone.Remote(), err)
	}
	err = e.Store.Update(ctx, func(file *state.File) error {
		if cur, ok := file.Find(s.Host, s.Name); ok {
			cur.Forwards = keep
			file.Put(cur)
		}
		return nil
	})
	return ForwardStatus{Forward: *gone, Remote: gone.Remote(), State: "removed"}, err
}

// restoreForwards adds rec's extra forwards again for s, the session a jt
// open just reattached or started (its master may be new, a batch job's
// node another), each led to where the user asked on s's node and checked
// as a new one is; those that cannot be restored are said and dropped.
// The old node's tunnels go first.
func (e *Engine) restoreForwards(ctx context.Context, rec state.Session, s state.Session) []state.Forward {
	kept := make([]state.Forward, len(rec.Forwards))
	up := make([]bool, len(rec.Forwards))
	var wg sync.WaitGroup
	for i, f := range rec.Forwards {
		f = f.Norm()
		if old := forwardTarget(rec, f); old != forwardTarget(s, f) || viaHop(rec) != viaHop(s) || sameHolder(rec, s) != nil {
			e.cancelTunnel(ctx, rec, old)
		}
		if why := unrestorable(e, s, f); why != "" {
			e.warn("%s %s: forward of %s dropped: %s", s.Host, s.Name, f.Remote(), why)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := e.addForward(fctx, s, forwardTarget(s, f))
			cancel()
			if err != nil {
				e.warn("%s %s: forward 127.0.0.1:%d to %s dropped: %v", s.Host, s.Name, f.LocalPort, f.Remote(), err)
				return
			}
			g, st := e.proveExtra(ctx, s, f)
			if st.State != ForwardUp {
				e.warn("%s %s: forward 127.0.0.1:%d to %s on %s dropped: %s", s.Host, s.Name, f.LocalPort, f.Remote(), whereRuns(s), st.State)
				return
			}
			kept[i], up[i] = g, true
		}()
	}
	wg.Wait()
	var out []state.Forward
	for i := range kept {
		if up[i] {
			out = append(out, kept[i])
		}
	}
	return out
}

// sameHolder is nil when rec's and s's tunnels ride the same master:
// the login's, or the same node hop.
func sameHolder(rec, s state.Session) error {
	if viaHop(rec) && (!viaHop(s) || hopOf(rec) != hopOf(s)) {
		return fmt.Errorf("the ssh master to %s no longer holds the session's tunnels", hopOf(rec).Node)
	}
	return nil
}

// unrestorable says why forward f cannot be restored for s, or "".
func unrestorable(e *Engine, s state.Session, f state.Forward) string {
	switch {
	case e.SSH.NoMux:
		return "there is no master connection to carry it"
	case f.RemoteSock != "" && s.Batch() && !viaHop(s):
		return "jt reaches node " + s.Job.Node + " through " + s.Host + " only now, and a unix socket there is out of reach"
	}
	return ""
}

// retireHop ends rec's node hop once s, the session a jt open just
// recorded, no longer rides it (the job moved to another node, or is
// reached another way; a plain session is on the login node the master
// reached now): nothing of the old node's may stay open.
func (e *Engine) retireHop(ctx context.Context, rec state.Session, s state.Session) {
	if sameHolder(rec, s) == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.SSH.NodeHop(hopOf(rec)).Exit(cctx); err != nil && !errors.Is(err, sshexec.ErrNoMaster) {
		e.warn("%s %s: could not stop the ssh master to %s: %v", rec.Host, rec.Name, hopOf(rec).Node, err)
	}
}

// cancelForwards removes s's extra forwards from its master (jt close).
func (e *Engine) cancelForwards(ctx context.Context, s state.Session) {
	for _, f := range s.Forwards {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := e.cancelTunnel(cctx, s, forwardTarget(s, f))
		cancel()
		if err != nil && !errors.Is(err, sshexec.ErrNoMaster) {
			e.warn("%s %s: could not remove the forward of %s: %v", s.Host, s.Name, f.Remote(), err)
		}
	}
}

// checkForwards checks the extra forwards of every row, in parallel: a
// row whose own tunnel is not up has none up either.
func (e *Engine) checkForwards(ctx context.Context, rows []Status) {
	var wg sync.WaitGroup
	for i := range rows {
		r := &rows[i]
		r.ForwardStates = make([]ForwardStatus, len(r.Forwards))
		for j, f := range r.Forwards {
			r.ForwardStates[j] = ForwardStatus{Forward: f, Remote: f.Remote(), State: ForwardDown}
			if r.State != StateUp || !r.Recorded {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.ForwardStates[j] = e.checkExtra(ctx, r.Session, f)
			}()
		}
	}
	wg.Wait()
}

// checkExtra proves extra forward f of s: its local port is held by the
// session's master, and a connection through it reaches a listener.
func (e *Engine) checkExtra(ctx context.Context, s state.Session, f state.Forward) ForwardStatus {
	st := ForwardStatus{Forward: f, Remote: f.Remote(), State: ForwardDown}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	switch err := e.tunnelOwned(cctx, s, f.LocalPort); {
	case errors.Is(err, sshexec.ErrPortTaken):
		st.State = ForwardPortTaken
		return st
	case err != nil:
		return st
	}
	switch err := reachThrough(cctx, f.LocalPort, time.Second); {
	case errors.Is(err, ErrNothingListens):
		st.State = ForwardNoListener
	case err == nil:
		st.State, st.URL = ForwardUp, "http://127.0.0.1:"+strconv.Itoa(f.LocalPort)+"/"
	}
	return st
}

// reachThrough connects to a forward's local port and waits up to quiet
// for the far end. ssh accepts every local connection at once and closes
// it only when the remote side refused it: an end of stream within quiet
// means nothing listens there; data or silence means something does.
// Nothing is sent.
func reachThrough(ctx context.Context, localPort int, quiet time.Duration) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(localPort)))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(quiet))
	var b [1]byte
	_, err = conn.Read(b[:])
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case errors.Is(err, io.EOF), isReset(err):
		return ErrNothingListens
	}
	return err
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
