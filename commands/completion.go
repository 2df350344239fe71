package commands

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: `Completes commands, flags, and host names: profiles and ssh aliases, asked of
jt hosts --names at each TAB, so new ones need no reload.

Examples:
   source <(jt completion bash)        in ~/.bashrc
   source <(jt completion zsh)         in ~/.zshrc, after compinit
   jt completion fish | source         in ~/.config/fish/config.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("completion needs one shell: bash, zsh or fish")
			}
			spec := completionSpec(c.App)
			switch sh := c.Args().First(); sh {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion(spec))
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion(spec))
			case "fish":
				fmt.Fprint(c.App.Writer, fishCompletion(spec))
			default:
				return usageErrorf("completion for %q is not known: use bash, zsh or fish", sh)
			}
			return nil
		},
	}
}

// compCommand is what completion knows of one command (or subcommand).
type compCommand struct {
	Names      []string // name and aliases
	Usage      string
	Flags      []string // every spelling: --name, -n
	ValueFlags []string // the spellings that read the next word
	Hosts      bool     // its arguments are hosts
	Sub        []compCommand
}

type compSpec struct {
	Global      []string
	GlobalValue []string
	Commands    []compCommand
}

func flagSpellings(flags []cli.Flag) (all, value []string) {
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			s := "--" + n
			if len(n) == 1 {
				s = "-" + n
			}
			all = append(all, s)
			if !isBool {
				value = append(value, s)
			}
		}
	}
	return append(all, "--help"), value
}

func commandSpec(c *cli.Command) compCommand {
	cc := compCommand{Names: c.Names(), Usage: c.Usage, Hosts: strings.Contains(c.ArgsUsage, "HOST")}
	cc.Flags, cc.ValueFlags = flagSpellings(c.Flags)
	for _, s := range c.Subcommands {
		cc.Sub = append(cc.Sub, commandSpec(s))
	}
	return cc
}

func completionSpec(app *cli.App) compSpec {
	var s compSpec
	s.Global, s.GlobalValue = flagSpellings(app.Flags)
	s.Global = append(s.Global, "--version")
	for _, c := range app.Commands {
		if !c.Hidden {
			s.Commands = append(s.Commands, commandSpec(c))
		}
	}
	sort.Slice(s.Commands, func(i, j int) bool { return s.Commands[i].Names[0] < s.Commands[j].Names[0] })
	return s
}

func (s compSpec) commandNames() []string {
	var n []string
	for _, c := range s.Commands {
		n = append(n, c.Names...)
	}
	return n
}

// bashCompletion is a bash completion function. Hosts come from
// "jt hosts --names" at completion time (with the --ssh-config given).
func bashCompletion(s compSpec) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# bash completion for jt. Load it with: source <(jt completion bash)\n")
	// Per command: its flags, and those that read a value.
	w("_jt_flags() {\n\tcase $1 in\n")
	for _, c := range s.Commands {
		w("\t%s) ", strings.Join(c.Names, "|"))
		if len(c.Sub) > 0 {
			w("case $2 in\n")
			for _, sc := range c.Sub {
				w("\t\t%s) echo %q ;;\n", strings.Join(sc.Names, "|"), strings.Join(sc.Flags, " "))
			}
			w("\t\t*) echo %q ;;\n\t\tesac ;;\n", strings.Join(c.Flags, " "))
		} else {
			w("echo %q ;;\n", strings.Join(c.Flags, " "))
		}
	}
	w("\tesac\n}\n")
	w("_jt_value_flags() {\n\tcase $1 in\n")
	for _, c := range s.Commands {
		vals := append([]string{}, c.ValueFlags...)
		for _, sc := range c.Sub {
			vals = append(vals, sc.ValueFlags...)
		}
		w("\t%s) echo %q ;;\n", strings.Join(c.Names, "|"), strings.Join(vals, " "))
	}
	w("\tesac\n}\n")
	// Host names come from the user's ssh config: data, never shell words
	// (compgen -W would expand $(…), ${…} and $((…)) in them).
	w(`# _jt_hosts adds the hosts of "$@ hosts --names" that start with $cur to
# COMPREPLY, compared as plain text (in zsh, all of them: compadd matches
# them its own way); a name that is not one plain word is left out.
_jt_hosts() {
	local h
	while IFS= read -r h; do
		[[ -n $h && $h != -* && $h != *[!%s]* ]] || continue
		[[ -n ${ZSH_VERSION-} || $h == "$cur"* ]] && COMPREPLY+=("$h")
	done < <("$@" hosts --names 2>/dev/null)
}
`, hostChars)
	var hostCmds, subCmds []string
	for _, c := range s.Commands {
		if c.Hosts {
			hostCmds = append(hostCmds, c.Names...)
		}
	}
	w(`_jt() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev= jt=${COMP_WORDS[0]} cmd= sub= i w
	local -a global=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -z $cmd ]]; then
			case $w in
			--ssh-config) global+=("$w" "${COMP_WORDS[i + 1]}"); ((i++)) ;;
			%s) ((i++)) ;;
			-*) ;;
			*) cmd=$w ;;
			esac
		elif [[ " $(_jt_value_flags "$cmd") " == *" $w "* ]]; then
			((i++))
		elif [[ $w != -* && -z $sub ]]; then
			sub=$w
		fi
	done
	COMPREPLY=()
	case $prev in
	--console|--mux) COMPREPLY=($(compgen -W "auto screen tmux none" -- "$cur")); return ;;
	--ssh-config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	if [[ -z $cmd ]]; then
		if [[ $prev == @(%s) ]]; then
			return
		elif [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W %q -- "$cur"))
		else
			COMPREPLY=($(compgen -W %q -- "$cur"))
		fi
		return
	fi
	if [[ " $(_jt_value_flags "$cmd") " == *" $prev "* ]]; then
		return # a value jt cannot guess (a name, a remote path, a port)
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_jt_flags "$cmd" "$sub")" -- "$cur"))
		return
	fi
	case $cmd in
	%s) _jt_hosts "$jt" "${global[@]}" ;;
	config)
		case $sub in
		'') COMPREPLY=($(compgen -W %q -- "$cur")) ;;
		show) _jt_hosts "$jt" "${global[@]}" ;;
		esac
		;;
	completion) [[ -z $sub ]] && COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
	help | h) COMPREPLY=($(compgen -W %q -- "$cur")) ;;
	esac
}
complete -F _jt jt
`, alt(s.GlobalValue, "--ssh-config"), alt(s.GlobalValue, "--ssh-config"),
		strings.Join(s.Global, " "), strings.Join(s.commandNames(), " "),
		strings.Join(hostCmds, "|"), strings.Join(subNames(s, "config", &subCmds), " "), strings.Join(s.commandNames(), " "))
	return b.String()
}

// hostChars is what a completed host name may hold (a bracket expression's
// body, for bash, zsh and fish's PCRE alike): nothing a shell expands. Its
// first character is one of hostFirst: a name is never read as a flag.
const (
	hostFirst = "[:alnum:]._@:+%,/"
	hostChars = hostFirst + "-"
)

// alt joins the flags other than skip as a bash case pattern.
func alt(flags []string, skip string) string {
	var out []string
	for _, f := range flags {
		if f != skip {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return "--jt-no-such-flag"
	}
	return strings.Join(out, "|")
}

func subNames(s compSpec, cmd string, out *[]string) []string {
	for _, c := range s.Commands {
		if c.Names[0] == cmd {
			for _, sc := range c.Sub {
				*out = append(*out, sc.Names[0])
			}
		}
	}
	return *out
}

// zshCompletion runs the bash function through zsh's bashcompinit, which
// zsh ships for exactly this.
func zshCompletion(s compSpec) string {
	return "#compdef jt\n# zsh completion for jt. Load it with: source <(jt completion zsh)   (after compinit)\n" +
		"autoload -U +X bashcompinit && bashcompinit\n" +
		strings.TrimPrefix(bashCompletion(s), "# bash completion for jt. Load it with: source <(jt completion bash)\n")
}

// fishQuote quotes a word for fish: single quotes, with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func fishCompletion(s compSpec) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# fish completion for jt. Load it with: jt completion fish | source\n")
	w("complete -c jt -f\n")
	all := strings.Join(s.commandNames(), " ")
	for _, f := range s.Global {
		w("complete -c jt -n __fish_use_subcommand %s\n", fishFlag(f, contains(s.GlobalValue, f)))
	}
	var hostCmds []string
	for _, c := range s.Commands {
		for _, n := range c.Names {
			w("complete -c jt -n __fish_use_subcommand -a %s -d %s\n", fishQuote(n), fishQuote(c.Usage))
		}
		if c.Hosts {
			hostCmds = append(hostCmds, c.Names...)
		}
		cond := fishQuote("__fish_seen_subcommand_from " + strings.Join(c.Names, " "))
		for _, f := range c.Flags {
			w("complete -c jt -n %s %s\n", cond, fishFlag(f, contains(c.ValueFlags, f)))
		}
		for _, sc := range c.Sub {
			w("complete -c jt -n %s -a %s -d %s\n",
				fishQuote("__fish_seen_subcommand_from "+strings.Join(c.Names, " ")+"; and not __fish_seen_subcommand_from "+strings.Join(subNames(s, c.Names[0], new([]string)), " ")),
				fishQuote(sc.Names[0]), fishQuote(sc.Usage))
			for _, f := range sc.Flags {
				w("complete -c jt -n %s %s\n", fishQuote("__fish_seen_subcommand_from "+sc.Names[0]), fishFlag(f, contains(sc.ValueFlags, f)))
			}
		}
	}
	// Lines of command output are data to fish; names that are not one
	// plain word are left out, as in bash and zsh.
	hosts := fishQuote("(jt hosts --names 2>/dev/null | string match -r -- " + fishQuote("^["+hostFirst+"]["+hostChars+"]*$") + ")")
	w("complete -c jt -n %s -a %s\n", fishQuote("__fish_seen_subcommand_from "+strings.Join(hostCmds, " ")), hosts)
	w("complete -c jt -n %s -a %s\n", fishQuote("__fish_seen_subcommand_from config; and __fish_seen_subcommand_from show"), hosts)
	w("complete -c jt -n %s -a 'bash zsh fish'\n", fishQuote("__fish_seen_subcommand_from completion"))
	w("complete -c jt -n %s -a %s\n", fishQuote("__fish_seen_subcommand_from help"), fishQuote(all))
	w("complete -c jt -l console -x -a 'auto screen tmux none'\n")
	w("complete -c jt -l ssh-config -r -F\n")
	return b.String()
}

func fishFlag(f string, value bool) string {
	var s string
	if strings.HasPrefix(f, "--") {
		s = "-l " + fishQuote(f[2:])
	} else {
		s = "-s " + fishQuote(f[1:])
	}
	if value {
		s += " -r"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
