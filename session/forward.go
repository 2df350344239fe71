package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

// forward adds the tunnel: the requested local port, or the recorded one
// (so the user's URL keeps its port), or the remote port, or the next free
// port after it. It sets s.LocalPort and, without a master, the forward's
// own ssh process.
func (e *Engine) forward(ctx context.Context, o OpenRequest, rec state.Session, known bool, s *state.Session) error {
	fw := sshexec.Forward{RemoteHost: s.RemoteHost, RemotePort: s.RemotePort, RemoteSock: s.RemoteSock}
	if e.SSH.NoMux {
		s.Transport = "direct"
	}
	want := o.LocalPort
	mine := 0 // a local port the master may already hold for this session
	if known && rec.LocalPort > 0 {
		old := sshexec.Forward{LocalPort: rec.LocalPort, RemoteHost: rec.RemoteHost, RemotePort: rec.RemotePort, RemoteSock: rec.RemoteSock, PID: rec.ForwardPID}
		same := old.RemoteHost == fw.RemoteHost && old.RemotePort == fw.RemotePort && old.RemoteSock == fw.RemoteSock
		if same && e.SSH.NoMux && (want == 0 || want == rec.LocalPort) {
			// The recorded tunnel's own ssh may still run: keep it, once
			// proved to be the one holding the port.
			if pid := e.SSH.ForwardPID(o.Host, old); pid > 0 && e.SSH.ListenerOwned(ctx, o.Host, rec.LocalPort, pid, rec.ForwardStarted) == nil {
				s.LocalPort, s.ForwardPID, s.ForwardStarted = rec.LocalPort, pid, rec.ForwardStarted
				return nil
			}
		}
		if !same {
			// The server changed: its old forward must not outlive it
			// (another server may later take the old remote port).
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			e.cancelForward(cctx, rec)
			cancel()
		}
		if want == 0 || want == rec.LocalPort {
			want, mine = rec.LocalPort, rec.LocalPort
		}
	}
	if want == 0 {
		want = s.RemotePort
		if want == 0 {
			want = cmp.Or(e.FirstPort, 8888)
		}
	}
	for tries, lp := 0, want; tries < 1000 && lp <= 65535; tries, lp = tries+1, lp+1 {
		// A port held by this master for this session is not free, but an
		// identical forward may be added again (ssh answers 0).
		if (lp != mine || e.SSH.NoMux) && !sshexec.LocalPortFree(lp) {
			if o.LocalPort != 0 {
				return validate.Usagef("local port %d is in use: choose another with --local-port, or leave it out", lp)
			}
			continue
		}
		fw.LocalPort = lp
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		pid, err := e.addForward(fctx, *s, fw)
		cancel()
		if err == nil {
			if mine > 0 && lp != mine {
				e.warn("127.0.0.1:%d is taken by another program; the tunnel moves to 127.0.0.1:%d", mine, lp)
			}
			s.LocalPort, s.ForwardPID = lp, pid
			if pid > 0 {
				s.ForwardStarted = e.Now().UTC()
			}
			return nil
		}
		if !errors.Is(err, sshexec.ErrForwardRefused) {
			return sshHinted(fmt.Errorf("forward 127.0.0.1:%d to %s: %w", lp, o.Host, err), o.Host)
		}
		if o.LocalPort != 0 {
			return validate.Usagef("local port %d is in use: choose another with --local-port, or leave it out", lp)
		}
	}
	return fmt.Errorf("no free local port from %d", want)
}
