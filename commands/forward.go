package commands

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/session"
)

func forwardCommand() *cli.Command {
	return &cli.Command{
		Name:      "forward",
		Usage:     "forward another port (or unix socket) of a session's host to 127.0.0.1",
		ArgsUsage: "HOST REMOTE",
		Description: `REMOTE is a port on the host (for a batch session: on its node), or an
absolute unix socket path there. The forward rides the session's ssh master,
listens on 127.0.0.1 only, and is recorded with the session: jt ls checks it,
jt open (and --keep) restores it, jt close removes it. A forward to a port
nothing listens on is refused. jt ls --ports HOST lists what the session's
processes listen on. Sessions opened with --no-master cannot take forwards.

Examples:
   jt forward gpu1 6006                 TensorBoard on gpu1, at http://127.0.0.1:6006/
   jt forward --local-port 8787 hpc 8787
   jt forward --cancel gpu1 6006`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "default", Usage: "session `NAME`"},
			&cli.IntFlag{Name: "local-port", Usage: "local `PORT` (default: the remote port if free, else the next free one)"},
			&cli.BoolFlag{Name: "cancel", Usage: "remove the forward of REMOTE (or of --local-port)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			args := c.Args().Slice()
			if len(args) == 0 || len(args) > 2 || len(args) == 1 && !(c.Bool("cancel") && c.Int("local-port") > 0) {
				return usageErrorf("forward needs a HOST and a REMOTE: jt forward [options] HOST PORT|/abs/socket")
			}
			host, remote := args[0], ""
			if err := session.CheckHost(host); err != nil {
				return err
			}
			if len(args) == 2 {
				remote = args[1]
			}
			st, err := d.Engine.Forward(ctx, session.ForwardRequest{Host: host, Name: sessionName(c, d, host), Remote: remote,
				LocalPort: c.Int("local-port"), Cancel: c.Bool("cancel")})
			switch {
			case err != nil:
				return err
			case c.Bool("json"):
				return json.NewEncoder(d.Stdout).Encode(st)
			case c.Bool("cancel"):
				d.warn("%s: forward of 127.0.0.1:%d to %s removed", host, st.LocalPort, st.Remote)
			default:
				fmt.Fprintln(d.Stdout, st.URL)
			}
			return nil
		}),
	}
}
