package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/templates"
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
			name := sessionName(c, d, host)
			if err := validName(name); err != nil {
				return err
			}
			n := c.Int("lines")
			if n < 0 || n > 1000000 {
				return usageErrorf("--lines %d is out of range: use 0-1000000", n)
			}
			follow := ""
			if c.Bool("follow") {
				follow = "yes"
			}
			script, err := templates.Render(templates.Logs{Name: name, Lines: n, Follow: follow})
			if err != nil {
				return err
			}
			if follow == "yes" {
				if d, _, err = ensureMaster(ctx, d, host); err != nil {
					return err
				}
				out := &templates.VisibleWriter{W: d.Stdout}
				err := d.SSH.StreamScript(ctx, host, strings.NewReader(script), &templates.AfterLog{W: out})
				out.Flush()
				if ctx.Err() != nil {
					return nil // Ctrl-C is how -f ends
				}
				return sshHinted(err, host)
			}
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			res, err := runScript(lctx, d, host, script)
			if err != nil {
				if strings.Contains(string(res.Stderr), "jt: no log") {
					return hinted(fmt.Errorf("no log for session %s on %s", name, host), "see jt ls "+host+" for the sessions there")
				}
				return sshHinted(fmt.Errorf("read the log on %s: %w", host, err), host)
			}
			// The host writes the log: its escape sequences are shown, not
			// obeyed (the raw file is the log path jt ls --json names).
			out := &templates.VisibleWriter{W: d.Stdout}
			if _, err := (&templates.AfterLog{W: out}).Write(res.Stdout); err != nil {
				return err
			}
			return out.Flush()
		}),
	}
}
