package commands

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "jt's config file: its path, a commented example, the settings of a host",
		Description: `The file has a [defaults] table and [hosts.NAME] profiles (see jt config init
for every key). jt open NAME uses the profile NAME; flags you give override it,
the profile overrides [defaults], and [defaults] jt's built-in values.

Examples:
   jt config path
   jt config init
   jt config show gpu
   jt config show --lab gpu`,
		Subcommands: []*cli.Command{
			{
				Name:  "path",
				Usage: "print where jt reads its config file",
				Action: func(c *cli.Context) error {
					path, err := config.Path()
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, path)
					return nil
				},
			},
			{
				Name:  "init",
				Usage: "write a commented example config file, if there is none",
				Action: func(c *cli.Context) error {
					path, err := config.Path()
					if err != nil {
						return err
					}
					if err := config.Init(path); err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, path)
					fmt.Fprintf(c.App.ErrWriter, "jt: wrote an example to %s: every line is commented out; edit it, then check with jt config show NAME\n", config.Display(path))
					return nil
				},
			},
			{
				Name:      "show",
				Usage:     "show the settings jt open NAME would use, and where each comes from",
				ArgsUsage: "NAME",
				Flags:     settingFlags(),
				Action:    configShow,
			},
		},
	}
}

// configShow is jt config show NAME: the settings jt open NAME would use.
func configShow(c *cli.Context) error {
	host, err := oneHost(c.Args().Slice(), "config show")
	if err != nil {
		return err
	}
	flagNotices(c)
	conf, err := loadConfig(c.App.ErrWriter)
	if err != nil {
		return err
	}
	ss, err := resolveSettings(c, conf, host)
	if err != nil {
		return err
	}
	if _, ok := conf.Profile(host); ok {
		fmt.Fprintf(c.App.ErrWriter, "jt: %s is a profile in %s\n", host, config.Display(conf.Path))
	} else {
		fmt.Fprintf(c.App.ErrWriter, "jt: %s is not a profile: an ssh destination, with [defaults] and jt's built-in values\n", host)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tFROM")
	for _, s := range ss {
		from := s.Source
		if s.Line > 0 {
			from = fmt.Sprintf("%s (line %d)", from, s.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, showValue(s.Value), from)
	}
	return tw.Flush()
}
