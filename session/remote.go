package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
)

// remoteCall is one of jt's scripts run on a host, answering in the
// markers of its kind.
type remoteCall struct {
	host    string
	kind    templates.Kind
	script  string
	what    string        // what the script does, for errors: "stop exp2 on gpu1"
	timeout time.Duration // 0: the caller's context alone
	// listing: the answer ends with an end mark, and one cut short is an
	// error even when ssh says 0.
	listing bool
	// stream gets the output as it comes; its Answer is what is read.
	stream answerWriter
	// replace: a master whose link is dead (the script says nothing at
	// all) is replaced and the script run once more.
	replace bool
	// hop: run on a batch job's node, through jt's ssh to it (host is
	// then the login node, for messages); neither streamed nor replaced.
	hop *sshexec.Hop
}

// answerWriter relays a long script's output as it comes and keeps the
// part that is its answer.
type answerWriter interface {
	io.Writer
	Answer() []byte
}

// errNoReply is a script that answered nothing at all.
var errNoReply = errors.New("no answer from jt's script")

// errIncomplete is an answer cut short before its end mark.
var errIncomplete = errors.New("incomplete answer")

// remote is the one way jt runs a script on a host: render (done by the
// caller, into c.script), run, and read the answer through the gate of
// templates, with one policy for errors. The reply holds what was read
// even when err is set (jt doctor shows the checks that came).
func (e *Engine) remote(ctx context.Context, c remoteCall) (templates.Reply, []byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	res, runErr := e.run(ctx, c)
	out := res.Stdout
	reply, perr := templates.Read(c.host, c.kind, out)
	switch {
	case templates.Refused(perr):
		return templates.Reply{}, out, perr
	case c.listing && runErr != nil && !reply.Complete:
		return reply, out, sshHinted(c.wrap(runErr), c.host)
	case !c.listing && runErr != nil && (perr != nil || len(reply.Blocks) == 0):
		return reply, out, sshHinted(c.wrap(runErr), c.host)
	case perr != nil:
		return reply, out, fmt.Errorf("read the answer from %s: %w", c.host, perr)
	case c.listing && !reply.Complete:
		return reply, out, fmt.Errorf("%w from %s", errIncomplete, c.host)
	case !c.listing && len(reply.Blocks) == 0:
		return reply, out, fmt.Errorf("%w on %s (is /bin/sh there a POSIX shell?)", errNoReply, c.host)
	}
	if b := reply.Blocks; len(b) > 0 && b[0].Error {
		f := b[0].Failure()
		return reply, out, &HintError{Err: errors.New(f.Error), Hint: f.Hint, Detail: b[0].Log}
	}
	return reply, out, nil
}

// wrap puts what the script was for before err.
func (c remoteCall) wrap(err error) error {
	if c.what == "" {
		return err
	}
	return fmt.Errorf("%s: %w", c.what, err)
}

// run runs the script, streaming or not (a streamed result's Stdout is
// the stream's Answer).
func (e *Engine) run(ctx context.Context, c remoteCall) (sshexec.Result, error) {
	if c.hop != nil {
		return e.SSH.NodeHop(*c.hop).RunScript(ctx, strings.NewReader(c.script))
	}
	if c.stream != nil {
		err := e.SSH.StreamScript(ctx, c.host, strings.NewReader(c.script), c.stream)
		return sshexec.Result{Stdout: c.stream.Answer()}, err
	}
	res, err := e.SSH.RunScript(ctx, c.host, strings.NewReader(c.script))
	if !c.replace || !errors.Is(err, sshexec.ErrNoAnswer) || e.SSH.NoMux || ctx.Err() != nil {
		return res, err
	}
	e.warn("%s does not answer through the open connection; connecting again", c.host)
	mres, merr := e.SSH.ReplaceMaster(ctx, c.host)
	if merr != nil {
		return res, merr
	}
	if msg := strings.TrimSpace(string(mres.Stderr)); msg != "" {
		e.Report.SSH(msg)
	}
	return e.SSH.RunScript(ctx, c.host, strings.NewReader(c.script))
}
