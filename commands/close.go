package commands

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/session"
)

func closeCommand() *cli.Command {
	return &cli.Command{
		Name:      "close",
		Usage:     "remove a session's tunnel; with --kill also stop its server",
		ArgsUsage: "[HOST]",
		Description: `Without --kill the server keeps running on the host and jt open reattaches
to it later. With --kill jt stops Jupyter cleanly and removes its files on the
host. The host's ssh master exits once none of its sessions is forwarded.

Examples:
   jt close gpu1
   jt close --kill --name exp2 gpu1
   jt close --all --kill`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "default", Usage: "session `NAME`"},
			&cli.BoolFlag{Name: "kill", Aliases: []string{"k"}, Usage: "also stop the server and remove its remote files"},
			&cli.BoolFlag{Name: "all", Usage: "every session (of HOST, or everywhere without HOST)"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long to wait for each host"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			o := session.CloseRequest{Name: c.String("name"), Kill: c.Bool("kill"), All: c.Bool("all"), Timeout: c.Duration("timeout")}
			switch c.NArg() {
			case 0:
			case 1:
				o.Host = c.Args().First()
				o.Name = sessionName(c, d, o.Host)
			default:
				return usageErrorf("close takes at most one HOST, got %d arguments", c.NArg())
			}
			return d.Engine.Close(ctx, o)
		}),
	}
}
