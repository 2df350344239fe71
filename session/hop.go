package session

// The node hop of a batch session: jt's own ssh master to the job's
// compute node, riding on the login node's master (sshexec.Hop). It holds
// the tunnel to Jupyter's unix socket in a private directory on the node,
// so that no other user of the cluster can reach the server.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// Exposures of a batch session (state.Session.Exposure).
const (
	ExposurePrivate   = "private"
	ExposureTokenOnly = "token-only"
)

// hopOf is s's hop: to its job's node, or (a plain session on another
// login node of the same home) to that login node.
func hopOf(s state.Session) sshexec.Hop {
	if s.Job != nil {
		return sshexec.Hop{Login: s.Host, Node: s.Job.Node, Name: s.Name}
	}
	return sshexec.Hop{Login: s.Host, Node: s.Node, Name: s.Name}
}

// viaHop reports whether s's tunnel is held by its node hop.
func viaHop(s state.Session) bool {
	if s.Job != nil {
		return s.Job.Hop != ""
	}
	return s.Hop != ""
}

// ensureHop reuses host's hop to node for session name, or makes one:
// the host keys the login node vouches for go to jt's own known_hosts
// file, then the hop's master logs in (asking nothing). It reports
// whether it started the master.
func (e *Engine) ensureHop(ctx context.Context, h sshexec.Hop) (bool, error) {
	if e.SSH.NoMux {
		return false, errors.New("jt reaches a node only through a master connection to the login node, and works without one here")
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := e.SSH.NodeHop(h).Check(cctx)
	cancel()
	if err == nil {
		return false, nil
	}
	keys, err := e.nodeHostKeys(ctx, h)
	if err != nil {
		return false, err
	}
	trusted := 0
	for _, k := range keys {
		if !k.Revoked {
			trusted++
		}
	}
	if trusted == 0 {
		return false, fmt.Errorf("%s knows no host key of %s (in /etc/ssh/ssh_known_hosts or ~/.ssh/known_hosts), and jt trusts no other: to vouch for it yourself, run ssh %s once on %s and check the key it shows", h.Login, h.Node, h.Node, h.Login)
	}
	if err := e.SSH.NodeHop(h).WriteKnownHosts(keys); err != nil {
		return false, fmt.Errorf("write jt's known_hosts for %s: %w", h.Node, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := e.SSH.NodeHop(h).Start(sctx); err != nil {
		e.SSH.NodeHop(h).Exit(context.Background())
		return true, fmt.Errorf("ssh to %s through %s: %w", h.Node, h.Login, err)
	}
	return true, nil
}

// nodeHop readies jt's ssh to s's node for one command (jt attach, jt ls
// --ports): the session's hop, or one made for the command alone (a
// token-only session whose node takes ssh now), which done ends.
func (e *Engine) nodeHop(ctx context.Context, s state.Session) (h sshexec.Hop, done func(), err error) {
	h = hopOf(s)
	started, err := e.ensureHop(ctx, h)
	if err != nil || !started || viaHop(s) {
		return h, func() {}, err
	}
	return h, func() { e.SSH.NodeHop(h).Exit(context.Background()) }, nil
}

// nodeHostKeys asks the login node which host keys it knows for the node.
func (e *Engine) nodeHostKeys(ctx context.Context, h sshexec.Hop) ([]sshexec.HostKey, error) {
	script, err := templates.Render(templates.HostKeys{Node: h.Node})
	if err != nil {
		return nil, err
	}
	reply, _, err := e.remote(ctx, remoteCall{host: h.Login, kind: templates.KindHostKeys, script: script,
		what: "read the host keys " + h.Login + " knows for " + h.Node, timeout: 20 * time.Second})
	if err != nil {
		return nil, err
	}
	if reply.Blocks[0].HostKeysNode() != h.Node {
		return nil, fmt.Errorf("%s answered about another node than %s", h.Login, h.Node)
	}
	return templates.HostKeysOf(reply.Blocks[0]), nil
}

// sessionHop is the hop of plain session s on another login node, where
// its scripts run, else nil.
func sessionHop(s state.Session) *sshexec.Hop {
	if s.Batch() || !viaHop(s) {
		return nil
	}
	h := hopOf(s)
	return &h
}

// tunnel is what holds s's forwards: the master of its node hop, or the
// login's (clientFor: with a direct session, the forwards' own ssh).
func (e *Engine) tunnel(s state.Session) sshexec.Tunnel {
	if viaHop(s) {
		return e.SSH.NodeHop(hopOf(s))
	}
	return e.clientFor(s).Tunnel(s.Host)
}

// addForward adds forward fw to s's tunnel.
func (e *Engine) addForward(ctx context.Context, s state.Session, fw sshexec.Forward) (int, error) {
	return e.tunnel(s).AddForward(ctx, fw)
}

// cancelForward removes s's tunnel.
func (e *Engine) cancelForward(ctx context.Context, s state.Session) error {
	return e.cancelTunnel(ctx, s, forwardOf(s))
}

// cancelTunnel removes forward fw from s's tunnel.
func (e *Engine) cancelTunnel(ctx context.Context, s state.Session, fw sshexec.Forward) error {
	return e.tunnel(s).CancelForward(ctx, fw)
}

// tunnelOwned proves that local port lp is held by s's tunnel (no
// fwdPID: jt forward's tunnels ride a master).
func (e *Engine) tunnelOwned(ctx context.Context, s state.Session, lp int) error {
	return e.tunnel(s).ListenerOwned(ctx, lp)
}

// endHop ends s's node hop, if it has one (the login's master is the
// host's, not the session's).
func (e *Engine) endHop(ctx context.Context, s state.Session) {
	if !viaHop(s) {
		return
	}
	if err := e.tunnel(s).Exit(ctx); err != nil {
		e.warn("%s %s: could not stop the ssh master to %s: %v", s.Host, s.Name, hopOf(s).Node, err)
	}
}
