package commands

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mitchellh/go-homedir"
	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/sshexec"
)

func hostsCommand() *cli.Command {
	return &cli.Command{
		Name:  "hosts",
		Usage: "list the hosts jt open knows: profiles, then the aliases of ~/.ssh/config",
		Description: `Profiles come from jt's config file (jt config path); ssh aliases from
~/.ssh/config and the files it Includes (or from --ssh-config FILE), leaving
out patterns such as * and !x. Completion uses jt hosts --names.

Examples:
   jt hosts
   jt hosts --names`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "names", Usage: "print only the names, one per line"},
			&cli.BoolFlag{Name: "profiles", Usage: "only the profiles"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("hosts takes no arguments, got %q", c.Args().Slice())
			}
			conf, err := loadConfig(c.App.ErrWriter)
			if err != nil {
				return err
			}
			var aliases []string
			if !c.Bool("profiles") {
				if aliases, err = sshAliases(c); err != nil {
					return err
				}
			}
			out := c.App.Writer
			seen := map[string]bool{}
			if c.Bool("names") {
				for _, n := range append(append([]string{}, conf.Names...), aliases...) {
					if !seen[n] {
						seen[n] = true
						fmt.Fprintln(out, n)
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tFROM\tSSH DESTINATION")
			r := routes(conf)
			for _, n := range conf.Names {
				seen[n] = true
				dest := r[n].Dest
				if len(r[n].Options) > 0 {
					dest += " (" + strings.Join(r[n].Options, ", ") + ")"
				}
				fmt.Fprintf(tw, "%s\tprofile\t%s\n", n, dest)
			}
			for _, a := range aliases {
				if !seen[a] {
					seen[a] = true
					fmt.Fprintf(tw, "%s\tssh config\t%s\n", a, a)
				}
			}
			return tw.Flush()
		},
	}
}

// sshAliases lists the Host aliases of the user's ssh config, or of the
// file given with --ssh-config (JT_SSH_CONFIG).
func sshAliases(c *cli.Context) ([]string, error) {
	home := sshexec.UserHome()
	path := filepath.Join(home, ".ssh", "config")
	if f := c.String("ssh-config"); f != "" {
		var err error
		if path, err = homedir.Expand(f); err != nil {
			return nil, err
		}
	}
	names, err := sshexec.ConfigHosts(path, home)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.Display(path), err)
	}
	return names, nil
}
