package commands

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/manpage"
)

// ManPage is jt(1), rendered from the definitions that print --help: the
// same commands, and each flag as --help shows it.
func ManPage(app *cli.App) string {
	p := manpage.Page{
		Name: app.Name, Section: "1", Version: app.Version, Summary: app.Usage,
		Synopsis:    strings.TrimPrefix(app.UsageText, app.Name+" "),
		Description: app.Description,
		// --help and --version as the app adds them when it runs.
		Options: manOptions(append(app.VisibleFlags(), cli.HelpFlag, cli.VersionFlag)),
		SeeAlso: []string{"ssh(1)", "ssh_config(5)", "screen(1)", "tmux(1)", "https://github.com/jt-sh/jt"},
	}
	var add func(prefix string, cmds []*cli.Command)
	add = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p.Commands = append(p.Commands, manpage.Command{
				Name: prefix + c.Name, Aliases: c.Aliases, Synopsis: strings.TrimSpace("[options] " + c.ArgsUsage),
				Summary: c.Usage, Description: c.Description, Options: manOptions(c.VisibleFlags()),
			})
			add(prefix+c.Name+" ", c.Subcommands)
		}
	}
	add("", app.Commands)
	return manpage.Render(p)
}

// manOptions are the flags as --help prints them (cli.FlagStringer): a
// label, then a tab, then what it does.
func manOptions(flags []cli.Flag) []manpage.Option {
	var out []manpage.Option
	for _, f := range flags {
		label, text, _ := strings.Cut(cli.FlagStringer(f), "\t")
		out = append(out, manpage.Option{Label: label, Text: text})
	}
	return out
}
