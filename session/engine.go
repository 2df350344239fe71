// Package session is jt's engine: the lifecycle of a Jupyter session on a
// host reached over ssh. Open (find or start, forward, verify, record),
// reattach, list and check, close and kill, keep, undo on interrupt,
// pending records, locks and probes live here, with typed requests and
// results. It knows neither the command line nor how output is printed:
// what the user should see goes to a Reporter.
package session

import (
	"fmt"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
)

// Reporter is told what the user should see while the engine works.
type Reporter interface {
	// Progress says what jt waits for: worth showing on a terminal only.
	Progress(msg string)
	// Notice is what the user must see: a warning, or what jt did.
	Notice(msg string)
	// SSH is what ssh itself said on a login (a banner, a host key notice).
	SSH(text string)
}

// Engine is everything the lifecycle touches outside its own logic. The
// flow never changes it: what varies per call travels in the request, and
// a different ssh client is a copy (see direct, batch).
type Engine struct {
	SSH    *sshexec.Client
	Store  state.Store
	Report Reporter
	// LocalDir is jt's private local directory (locks).
	LocalDir string
	Now      func() time.Time
	// FirstPort is the local port a new tunnel tries first when neither
	// the user nor the remote port says (0: 8888, Jupyter's own).
	FirstPort int
}

func (e *Engine) progress(format string, a ...any) { e.Report.Progress(fmt.Sprintf(format, a...)) }
func (e *Engine) warn(format string, a ...any)     { e.Report.Notice(fmt.Sprintf(format, a...)) }

// withClient is a copy of e that works through c.
func (e *Engine) withClient(c *sshexec.Client) *Engine {
	ee := *e
	ee.SSH = c
	return &ee
}

// direct is a copy of e whose ssh client works without a master.
func (e *Engine) direct() *Engine {
	c := *e.SSH
	c.NoMux = true
	return e.withClient(&c)
}

// batch is a copy of e whose ssh client never asks for a password.
func (e *Engine) batch() *Engine {
	c := *e.SSH
	c.Batch = true
	return e.withClient(&c)
}

// clientFor is the ssh client for an existing session: one opened without
// a master is handled without one, whatever this command's flags say.
func (e *Engine) clientFor(s state.Session) *sshexec.Client {
	if s.Transport == "direct" && !e.SSH.NoMux {
		c := *e.SSH
		c.NoMux = true
		return &c
	}
	return e.SSH
}

// forSession is a copy of e for an existing session (see clientFor).
func (e *Engine) forSession(s state.Session) *Engine { return e.withClient(e.clientFor(s)) }
