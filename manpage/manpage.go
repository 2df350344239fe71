// Package manpage renders a command-line program's manual page in roff
// (man(7)) from plain values: commands/ fills them from the same
// definitions that print --help, so the two never disagree.
package manpage

import (
	"fmt"
	"strings"
)

// Page is a program's manual page.
type Page struct {
	Name     string // the program, e.g. "jt"
	Section  string // "1"
	Version  string // shown in the page's footer
	Summary  string // the NAME line after the dash
	Synopsis string // after the program's name
	// Description is paragraphs of text; lines indented by a space are
	// kept as they are (examples).
	Description string
	Options     []Option // the program's own (global) options
	Commands    []Command
	SeeAlso     []string // e.g. "ssh(1)"
}

// Command is one command (or subcommand) of the program.
type Command struct {
	Name        string // its full name after the program's: "open", "config path"
	Aliases     []string
	Synopsis    string // after the program's and command's names
	Summary     string
	Description string // as Page.Description
	Options     []Option
}

// Option is one flag, as --help shows it.
type Option struct {
	Label string // "--name NAME, -n NAME"
	Text  string // what it does, with its default and environment variables
}

// Render returns the page in roff.
func Render(p Page) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %s \"\" %s \"User Commands\"\n", quote(strings.ToUpper(p.Name)), p.Section, quote(p.Name+" "+p.Version))
	b.WriteString(".SH NAME\n" + text(p.Name+" - "+p.Summary) + "\n")
	b.WriteString(".SH SYNOPSIS\n.B " + text(p.Name) + "\n" + text(p.Synopsis) + "\n")
	if p.Description != "" {
		b.WriteString(".SH DESCRIPTION\n" + paragraphs(p.Description))
	}
	if len(p.Options) > 0 {
		b.WriteString(".SH GLOBAL OPTIONS\n" + options(p.Options))
	}
	if len(p.Commands) > 0 {
		b.WriteString(".SH COMMANDS\n")
	}
	for _, c := range p.Commands {
		heading := p.Name + " " + c.Name
		if len(c.Aliases) > 0 {
			heading += " (" + strings.Join(c.Aliases, ", ") + ")"
		}
		fmt.Fprintf(&b, ".SS %s\n", quote(heading))
		b.WriteString(".B " + text(p.Name+" "+c.Name) + "\n" + text(c.Synopsis) + "\n.PP\n" + text(c.Summary) + "\n")
		if c.Description != "" {
			b.WriteString(".PP\n" + paragraphs(c.Description))
		}
		b.WriteString(options(c.Options))
	}
	if len(p.SeeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n" + text(strings.Join(p.SeeAlso, ", ")) + "\n")
	}
	return b.String()
}

// options is a tagged paragraph per option.
func options(opts []Option) string {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString(".TP\n.B " + text(o.Label) + "\n" + text(o.Text) + "\n")
	}
	return b.String()
}

// paragraphs renders text: blank lines part paragraphs, and a run of
// indented lines (examples) is kept as typed, unfilled.
func paragraphs(s string) string {
	var b strings.Builder
	verbatim := false
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		switch {
		case indented && !verbatim:
			b.WriteString(".nf\n")
			verbatim = true
		case !indented && verbatim:
			b.WriteString(".fi\n")
			verbatim = false
		}
		switch {
		case strings.TrimSpace(line) == "" && !verbatim:
			b.WriteString(".PP\n")
		default:
			b.WriteString(text(line) + "\n")
		}
	}
	if verbatim {
		b.WriteString(".fi\n")
	}
	return b.String()
}

// text escapes one or more lines of plain text for roff: a backslash is
// \e, a dash \- (a hyphen-minus, so flags can be copied and searched), and
// a line that would start with a request (. or ') starts with \& instead.
func text(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// quote is a request's argument: in double quotes, which roff's
// arguments cannot contain (they become two single quotes).
func quote(s string) string { return `"` + strings.ReplaceAll(text(s), `"`, `''`) + `"` }
