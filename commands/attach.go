package commands

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/templates"
)

var windowIDRE = regexp.MustCompile(`^[0-9]+\.jt-[A-Za-z0-9._-]+$|^jt-[A-Za-z0-9._-]+$`)

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
			reply, err := templates.Read(host, templates.KindAttach, res.Stdout)
			if templates.Refused(err) {
				return err
			}
			if err != nil || len(reply.Blocks) == 0 {
				return fmt.Errorf("no answer from %s", host)
			}
			v := reply.Blocks[0].Values
			if v["mux"] == "none" {
				return hinted(fmt.Errorf("session %s on %s runs without a multiplexer (mux none): there is no console to attach to", name, host),
					"follow its output with: jt logs -f --name "+name+" "+host)
			}
			id := v["id"]
			if id == "" || !windowIDRE.MatchString(id) {
				return hinted(fmt.Errorf("session %s has no window on %s", name, host), "start it with: jt open --name "+name+" "+host)
			}
			var remote string
			switch v["mux"] {
			case "tmux":
				remote = "tmux attach-session -t =" + id
				if sock := v["socket"]; sock != "" {
					if !windowIDRE.MatchString(sock) {
						return fmt.Errorf("%s answered an odd tmux socket name %q", host, sock)
					}
					// jt gives each session a tmux server of its own.
					remote = "tmux -L " + templates.Quote(sock) + " attach-session -t =" + id
				}
			default:
				remote = "screen -r " + id
				if dir := v["screendir"]; dir != "" {
					remote = "env SCREENDIR=" + templates.Quote(dir) + " " + remote
				}
			}
			return d.SSH.RunTerminal(ctx, host, remote)
		}),
	}
}
