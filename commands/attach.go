package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/templates"
)

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
			name := sessionName(c, d, host)
			if err := validName(name); err != nil {
				return err
			}
			if _, err := ensureMaster(ctx, d, host); err != nil {
				return err
			}
			script, err := templates.Render(templates.Attach{Name: name})
			if err != nil {
				return err
			}
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			res, err := runScript(actx, d, host, script)
			cancel()
			if err != nil {
				return sshHinted(fmt.Errorf("find session %s on %s: %w", name, host, err), host)
			}
			console, err := templates.ParseAttach(res.Stdout, name)
			if err != nil {
				return fmt.Errorf("find session %s on %s: %w", name, host, err)
			}
			if console.Mux == "none" {
				return hinted(fmt.Errorf("session %s on %s runs without a multiplexer (mux none): there is no console to attach to", name, host),
					"follow its output with: jt logs -f --name "+name+" "+host)
			}
			if console.ID == "" {
				return hinted(fmt.Errorf("session %s has no window on %s", name, host), "start it with: jt open --name "+name+" "+host)
			}
			remote, err := templates.ConsoleCommand(console)
			if err != nil {
				return fmt.Errorf("attach to session %s on %s: %w", name, host, err)
			}
			return d.SSH.RunTerminal(ctx, host, remote)
		}),
	}
}
