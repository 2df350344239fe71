package commands

import (
	"context"
	"errors"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

// keepOpen is jt open --keep: it checks the session's tunnel every interval
// and, when it stops answering, opens the session again (new master and
// forward; the server, if alive, is reattached, so its pid stays the same),
// with backoff while the host does not answer. A failed login ends it: jt
// never loops on a password or key that does not work.
func keepOpen(ctx context.Context, d *Deps, o openOptions, interval time.Duration) error {
	d.warn("keeping session %s on %s open; Ctrl-C stops watching (the server keeps running)", o.Name, o.Host)
	o.quiet, o.NoBrowser, o.LocalPort = true, true, 0
	backoff := interval
	wait := interval
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if rec, known, err := lookup(d, o.Host, o.Name); err == nil && known && answers(ctx, rec) {
			backoff, wait = interval, interval
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		d.warn("the tunnel to %s does not answer; reconnecting", o.Host)
		err := runOpen(ctx, d, o)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, sshexec.ErrAuth), errors.Is(err, sshexec.ErrHostKey):
			return err
		case err != nil:
			d.warn("%s: %v; trying again in %v", o.Host, err, backoff)
			wait = backoff
			backoff = min(backoff*2, time.Minute)
			continue
		}
		if s, ok, _ := lookup(d, o.Host, o.Name); ok {
			d.warn("restored: session %s on %s (pid %d) answers again on 127.0.0.1:%d", o.Name, o.Host, s.PID, s.LocalPort)
		}
		backoff, wait = interval, interval
	}
}
