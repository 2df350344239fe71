package commands

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/session"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a local command with the session's URL and token in its environment",
		ArgsUsage: "HOST -- COMMAND [ARG...]",
		Description: `Makes sure the session is up (as jt open --no-browser would), then runs
COMMAND here with JUPYTER_URL (http://127.0.0.1:PORT/BASE/, no token),
JUPYTER_BASE_URL (BASE) and JUPYTER_TOKEN in its environment only: the token
is on no command line and in no file. jt exits with the command's status; a
SIGTERM or SIGHUP sent to jt is passed on to it.

Examples:
   jt exec gpu1 -- papermill in.ipynb out.ipynb
   jt exec --name exp2 gpu1 -- python3 client.py`,
		Flags: append(settingFlags(), batchFlags()...),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			args := c.Args().Slice()
			if len(args) < 2 {
				return usageErrorf("exec needs a HOST and a COMMAND: jt exec [options] HOST -- COMMAND [ARG...]")
			}
			op, err := openFor(ctx, c, d, args[0])
			if err != nil {
				return err
			}
			return session.RunWithEnv(args[1:], session.JupyterEnv(op.Session))
		}),
	}
}

func envCommand() *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "print the session's URL and token as shell export lines",
		ArgsUsage: "HOST",
		Description: `Makes sure the session is up (as jt open --no-browser would) and prints
JUPYTER_URL, JUPYTER_BASE_URL and JUPYTER_TOKEN for eval. The token is
printed on stdout: keep it out of files others can read.

Examples:
   eval "$(jt env gpu1)"
   jt env --shell fish gpu1 | source`,
		Flags: append(append(settingFlags(), batchFlags()...),
			&cli.StringFlag{Name: "shell", Value: "bash", Usage: "`SYNTAX` of the lines: bash, zsh or fish"}),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "env")
			if err != nil {
				return err
			}
			if _, err := session.ShellExports(nil, c.String("shell")); err != nil {
				return err
			}
			op, err := openFor(ctx, c, d, host)
			if err != nil {
				return err
			}
			out, err := session.ShellExports(session.JupyterEnv(op.Session), c.String("shell"))
			fmt.Fprint(d.Stdout, out)
			return err
		}),
	}
}

// openFor opens host's session as jt open --no-browser would, quietly.
func openFor(ctx context.Context, c *cli.Context, d *Deps, host string) (session.Opened, error) {
	if err := session.CheckHost(host); err != nil {
		return session.Opened{}, err
	}
	r, err := openRequest(c, d, host)
	if err != nil {
		return session.Opened{}, err
	}
	return d.Engine.Open(ctx, r)
}
