package session

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// URL is the URL of an open session, once its tunnel answers.
func (e *Engine) URL(ctx context.Context, host, name string) (string, error) {
	if err := validHost(host); err != nil {
		return "", err
	}
	if err := validName(name); err != nil {
		return "", err
	}
	s, ok, err := e.lookup(host, name)
	if err != nil {
		return "", err
	}
	if !ok || s.LocalPort == 0 {
		return "", Hinted(fmt.Errorf("no open session %s on %s", name, host), "start or reattach it with: jt open --name "+name+" "+host)
	}
	if err := e.probe(ctx, s); err != nil { // each step bounded
		return "", Hinted(fmt.Errorf("session %s on %s does not answer: %v", name, host, err), "reattach with: jt open --name "+name+" "+host)
	}
	return URL(s), nil
}

// LogsRequest is what jt logs asks for.
type LogsRequest struct {
	Host, Name string
	Lines      int
	Follow     bool // until ctx ends
}

// Logs writes the session's Jupyter log to w, its control characters made
// visible: the host writes the log (the raw file is the log path that jt
// ls --json names).
func (e *Engine) Logs(ctx context.Context, r LogsRequest, w io.Writer) error {
	if err := validHost(r.Host); err != nil {
		return err
	}
	if err := validName(r.Name); err != nil {
		return err
	}
	if r.Lines < 0 || r.Lines > 1000000 {
		return validate.Usagef("--lines %d is out of range: use 0-1000000", r.Lines)
	}
	follow := ""
	if r.Follow {
		follow = "yes"
	}
	script, err := templates.Render(templates.Logs{Name: r.Name, Lines: r.Lines, Follow: follow})
	if err != nil {
		return err
	}
	out := &visible.Writer{W: w}
	defer out.Flush()
	if r.Follow {
		if e, _, err = e.ensureMaster(ctx, r.Host); err != nil {
			return err
		}
		err := e.SSH.StreamScript(ctx, r.Host, strings.NewReader(script), &templates.AfterLog{W: out})
		if ctx.Err() != nil {
			return nil // Ctrl-C is how -f ends
		}
		return sshHinted(err, r.Host)
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := e.run(lctx, remoteCall{host: r.Host, script: script, replace: true})
	if err != nil {
		if templates.NoLog(res.Stderr) {
			return Hinted(fmt.Errorf("no log for session %s on %s", r.Name, r.Host), "see jt ls "+r.Host+" for the sessions there")
		}
		return sshHinted(fmt.Errorf("read the log on %s: %w", r.Host, err), r.Host)
	}
	_, err = (&templates.AfterLog{W: out}).Write(res.Stdout)
	return err
}

// AttachRequest is what jt attach asks for.
type AttachRequest struct {
	Host, Name string
	// Terminal: jt's input is a terminal, which the console needs.
	Terminal bool
}

// Attach opens the session's console (its screen or tmux window) on the
// user's terminal, until they detach.
func (e *Engine) Attach(ctx context.Context, r AttachRequest) error {
	if err := validHost(r.Host); err != nil {
		return err
	}
	if err := validName(r.Name); err != nil {
		return err
	}
	// Checked before any ssh: ssh itself would log in first and only then
	// fail with "Must be connected to a terminal".
	s, recorded, err := e.lookup(r.Host, r.Name)
	recorded = recorded && err == nil
	if !r.Terminal {
		// A session recorded without a console has the better answer.
		if recorded && s.Mux == "none" {
			return noConsole(r.Name, r.Host)
		}
		return validate.Usagef("jt attach needs a terminal (its input is not one): run it in a terminal window, with no input redirected")
	}
	if recorded && s.Batch() {
		return e.attachJob(ctx, s)
	}
	e, _, err = e.ensureMaster(ctx, r.Host)
	if err != nil {
		return err
	}
	console, err := e.console(ctx, r.Host, r.Name, nil)
	if err != nil {
		return err
	}
	if console.Node != "" {
		return e.attachElsewhere(ctx, r.Host, r.Name, console.Node)
	}
	if console.Mux == "none" {
		return noConsole(r.Name, r.Host)
	}
	if console.ID == "" {
		return Hinted(fmt.Errorf("session %s has no window on %s", r.Name, r.Host), "start it with: jt open --name "+r.Name+" "+r.Host)
	}
	remote, err := templates.ConsoleCommand(console)
	if err != nil {
		return fmt.Errorf("attach to session %s on %s: %w", r.Name, r.Host, err)
	}
	return e.SSH.RunTerminal(ctx, r.Host, remote)
}

// console asks host (with hop, the other login node it leads to) for the
// window of session name.
func (e *Engine) console(ctx context.Context, host, name string, hop *sshexec.Hop) (templates.Console, error) {
	script, err := templates.Render(templates.Attach{Name: name})
	if err != nil {
		return templates.Console{}, err
	}
	what := "find session " + name + " on " + host
	if hop != nil {
		what = "find session " + name + " on " + hop.Node
	}
	reply, _, err := e.remote(ctx, remoteCall{host: host, kind: templates.KindAttach, script: script, what: what, timeout: 30 * time.Second, replace: true, hop: hop})
	if err != nil {
		return templates.Console{}, err
	}
	console, err := templates.ConsoleOf(reply.Blocks[0], name)
	if err != nil {
		return templates.Console{}, fmt.Errorf("%s: %w", what, err)
	}
	return console, nil
}

// attachJob opens the screen window that a batch session's job keeps
// Jupyter in on the node, over jt's own ssh to the node (the node hop):
// the session's, or one made for this attach and ended after it.
func (e *Engine) attachJob(ctx context.Context, s state.Session) error {
	e, _, err := e.ensureMaster(ctx, s.Host)
	if err != nil {
		return err
	}
	logs := "follow its output with: jt logs -f --name " + s.Name + " " + s.Host
	script, err := templates.Render(templates.AttachJob{Scheduler: s.Job.Scheduler, Name: s.Name, Nonce: s.Job.Nonce})
	if err != nil {
		return Hinted(fmt.Errorf("session %s on %s: %v", s.Name, s.Host, err), logs)
	}
	what := "find the console of session " + s.Name + " on " + s.Host
	reply, _, err := e.remote(ctx, remoteCall{host: s.Host, kind: templates.KindAttach, script: script, what: what, timeout: 30 * time.Second, replace: true})
	if err != nil {
		return err
	}
	b := reply.Blocks[0]
	if b.AttachJob() != "running" {
		return Hinted(fmt.Errorf("the Jupyter of session %s (job %s on %s) is not running", s.Name, s.Job.ID, s.Host),
			"see jt ls "+s.Host+"; start it again with: jt open --scheduler "+s.Job.Scheduler+" --name "+s.Name+" "+s.Host)
	}
	console, err := templates.ConsoleOf(b, s.Name)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if console.Mux != "screen" || console.ID == "" {
		return Hinted(fmt.Errorf("session %s runs in job %s on %s with no console (screen is not installed there, or it was opened with --console none): there is nothing to attach to", s.Name, s.Job.ID, s.Job.Node), logs)
	}
	h, done, err := e.nodeHop(ctx, s)
	if err != nil {
		return Hinted(fmt.Errorf("jt attach opens the console of session %s on %s by ssh to %s, and cannot: %v", s.Name, s.Host, s.Job.Node, err),
			logs+"; jt doctor --scheduler "+s.Job.Scheduler+" "+s.Host+" says what the site would need")
	}
	defer done()
	remote, err := templates.ConsoleCommand(console)
	if err != nil {
		return fmt.Errorf("attach to session %s on %s: %w", s.Name, s.Job.Node, err)
	}
	return e.SSH.NodeHop(h).RunTerminal(ctx, remote)
}

func noConsole(name, host string) error {
	return Hinted(fmt.Errorf("session %s on %s has no console (it runs with console none): there is nothing to attach to", name, host),
		"follow its output with: jt logs -f --name "+name+" "+host)
}
