package commands

import (
	"fmt"
	"regexp"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/templates"
)

var aliasUnsafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9_]`) })

func aliasCommand() *cli.Command {
	return &cli.Command{
		Name:  "alias",
		Usage: "print shell aliases that open each profile (alias jgpu='jt open gpu')",
		Description: `The output works in bash, zsh and fish. Load it in your shell's rc file:
   eval "$(jt alias)"              bash, zsh
   jt alias | source               fish
A profile name's characters other than letters, digits and _ become _.

Examples:
   jt alias
   jt alias --prefix nb-`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "prefix", Value: "j", Usage: "put `TEXT` before each profile name"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("alias takes no arguments, got %q", c.Args().Slice())
			}
			prefix := c.String("prefix")
			if !regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9_-]*)?$`).MatchString(prefix) {
				return usageErrorf("--prefix %q: use letters, digits, _ and - (not first)", prefix)
			}
			conf, err := loadConfig(c.App.ErrWriter)
			if err != nil {
				return err
			}
			if len(conf.Names) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "jt: no profiles in %s (see jt config init)\n", conf.Path)
				return nil
			}
			used := map[string]string{}
			for _, name := range conf.Names {
				alias := prefix + aliasUnsafe().ReplaceAllString(name, "_")
				if other, ok := used[alias]; ok {
					fmt.Fprintf(c.App.ErrWriter, "jt: profiles %s and %s both become alias %s; skipping %s\n", other, name, alias, name)
					continue
				}
				used[alias] = name
				fmt.Fprintf(c.App.Writer, "alias %s=%s\n", alias, templates.Quote("jt open "+name))
			}
			return nil
		},
	}
}
