package commands

import (
	"context"
	"fmt"

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
			url, err := d.Engine.URL(ctx, host, sessionName(c, d, host))
			if err != nil {
				return err
			}
			fmt.Fprintln(d.Stdout, url)
			return nil
		}),
	}
}
