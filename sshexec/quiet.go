package sshexec

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// EnsureMasterQuiet is EnsureMaster for a login that must not ask
// (BatchMode): several hosts' logins can then run side by side, and a host
// that needs a password, a 2FA code or a host-key answer fails at once,
// left for a login that can ask.
func (c *Client) EnsureMasterQuiet(ctx context.Context, host string) (started bool, err error) {
	if c.NoMux {
		return false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = c.MasterPID(cctx, host)
	cancel()
	if err == nil || errors.Is(err, ErrTimeout) || ctx.Err() != nil {
		return false, nil // a live master, or one EnsureMaster must deal with
	}
	quiet := append([]string{"-o", "BatchMode=yes"}, c.MasterArgs(host)...)
	if _, err := c.Runner.Run(ctx, Cmd{Args: quiet, Mode: Master}); err != nil {
		return true, fmt.Errorf("connect to %s: %w", host, err)
	}
	return true, nil
}
