package commands

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/session"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "show the remote Jupyter log of a session",
		ArgsUsage: "HOST",
		Description: `Examples:
   jt logs gpu1
   jt logs -n 100 --name exp2 gpu1
   jt logs -f gpu1          follow until Ctrl-C`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Value: "default", Usage: "session `NAME`"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: 50, Usage: "show the last `N` lines"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines until Ctrl-C"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "logs")
			if err != nil {
				return err
			}
			r := session.LogsRequest{Host: host, Name: sessionName(c, d, host), Lines: c.Int("lines"), Follow: c.Bool("follow")}
			return d.Engine.Logs(ctx, r, d.Stdout)
		}),
	}
}
