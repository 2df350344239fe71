package commands

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// ReorderArgs moves a command's flags before its arguments, so that
// `jt open gpu1 --no-browser` means what it says: urfave/cli stops reading
// flags at the first argument. Global flags given after the command
// (`jt open --no-master gpu1`) move before it. Everything after "--" stays
// an argument.
func ReorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	// Global flags, up to the command name.
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		out = append(out, args[i])
		if takesValue(app.Flags, args[i]) && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
		i++
	}
	if i >= len(args) {
		return out
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return append(out, args[i:]...)
	}
	name := args[i]
	i++
	var globals, flags, positional []string
	if len(cmd.Subcommands) > 0 {
		// A subcommand's flags move the same way (jt kernel install HOST --name K).
		sub := ReorderArgs(&cli.App{Flags: app.Flags, Commands: cmd.Subcommands}, append([]string{name}, args[i:]...))
		return append(out, sub...)
	}
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 && isFlag(app.Flags, a) && !isFlag(cmd.Flags, a) {
			globals = append(globals, a)
			if takesValue(app.Flags, a) && i+1 < len(args) {
				i++
				globals = append(globals, args[i])
			}
			continue
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if takesValue(cmd.Flags, a) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
			continue
		}
		positional = append(positional, a)
	}
	out = append(append(out, globals...), name)
	out = append(out, flags...)
	for _, f := range flags {
		if f == "-h" || f == "--help" || f == "-help" {
			// Help was asked for: an argument would be read as a help topic.
			return out
		}
	}
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// isFlag reports whether arg names one of flags.
func isFlag(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// takesValue reports whether arg names a flag that reads the next word.
func takesValue(flags []cli.Flag, arg string) bool {
	if strings.Contains(arg, "=") {
		return false
	}
	name := strings.TrimLeft(arg, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if _, ok := f.(*cli.BoolFlag); ok {
				return false
			}
			return true
		}
	}
	return false
}
