package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
)

func urlCommand() *cli.Command {
	return &cli.Command{
		Name:      "url",
		Usage:     "print the URL of a session (for scripts)",
		ArgsUsage: "HOST",
		Description: `Prints the recorded URL (with its token) on stdout, after checking that it
answers. Exit status 1 when the session is not up: run jt open HOST.

Examples:
   jt url gpu1
   xdg-open "$(jt url --name exp2 gpu1)"`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "default", Usage: "session `NAME`"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "url")
			if err != nil {
				return err
			}
			name := sessionName(c, d, host)
			if err := validName(name); err != nil {
				return err
			}
			s, ok, err := lookup(d, host, name)
			if err != nil {
				return err
			}
			if !ok || s.LocalPort == 0 {
				return hinted(fmt.Errorf("no open session %s on %s", name, host), "start or reattach it with: jt open --name "+name+" "+host)
			}
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if err := probe(pctx, d, s); err != nil {
				return hinted(fmt.Errorf("session %s on %s does not answer: %v", name, host, err), "reattach with: jt open --name "+name+" "+host)
			}
			fmt.Fprintln(d.Stdout, jupyterURL(s.LocalPort, s.BaseURL, s.Token))
			return nil
		}),
	}
}
