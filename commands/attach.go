package commands

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/templates"
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
			name := sessionName(c, d, host)
			if err := validName(name); err != nil {
				return err
			}
			// Checked before any ssh: ssh itself would log in first and
			// only then fail with "Must be connected to a terminal".
			if !stdinIsTerminal() {
				// A session recorded without a console has the better answer.
				if f, err := d.Store.Load(); err == nil {
					if s, ok := f.Find(host, name); ok && s.Mux == "none" {
						return noConsole(name, host)
					}
				}
				return usageErrorf("jt attach needs a terminal (its input is not one): run it in a terminal window, with no input redirected")
			}
			if d, _, err = ensureMaster(ctx, d, host); err != nil {
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
			console, err := templates.ParseAttach(host, res.Stdout, name)
			if templates.Refused(err) {
				return err
			}
			if err != nil {
				return fmt.Errorf("find session %s on %s: %w", name, host, err)
			}
			if console.Mux == "none" {
				return noConsole(name, host)
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

func noConsole(name, host string) error {
	return hinted(fmt.Errorf("session %s on %s has no console (it runs with console none): there is nothing to attach to", name, host),
		"follow its output with: jt logs -f --name "+name+" "+host)
}
