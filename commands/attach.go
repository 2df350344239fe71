package commands

import (
	"context"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/session"
)

// stdinIsTerminal reports whether jt's input is a terminal, which the
// console needs (a character device such as /dev/null is not enough).
func stdinIsTerminal() bool { return isTerminal(os.Stdin) }

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "open the remote Jupyter console (its screen or tmux window)",
		ArgsUsage: "HOST",
		Description: `Detach again with Ctrl-A d (screen) or Ctrl-B d (tmux); the server keeps running.

Examples:
   jt attach gpu1
   jt attach --name exp2 gpu1`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "default", Usage: "session `NAME`"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "attach")
			if err != nil {
				return err
			}
			return d.Engine.Attach(ctx, session.AttachRequest{Host: host, Name: sessionName(c, d, host), Terminal: stdinIsTerminal()})
		}),
	}
}
