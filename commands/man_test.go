package commands

import (
	"bytes"
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// flagWord is one spelling of a flag in a label such as
// "--name NAME, -n NAME".
var flagWord = regexp.MustCompile(`(?:^|[ ,])(--?[A-Za-z][A-Za-z0-9-]*)`)

func spellings(label string) []string {
	var out []string
	for _, m := range flagWord.FindAllStringSubmatch(label, -1) {
		out = append(out, m[1])
	}
	return out
}

// helpFlags runs jt ARGS... --help and returns the flags its OPTIONS (or
// GLOBAL OPTIONS) list shows, without --help and -h.
func helpFlags(t *testing.T, args ...string) []string {
	t.Helper()
	app := NewApp("test", "test")
	var out bytes.Buffer
	app.Writer = &out
	if err := app.RunContext(context.Background(), append(append([]string{"jt"}, args...), "--help")); err != nil {
		t.Fatalf("jt %s --help: %v", strings.Join(args, " "), err)
	}
	var flags []string
	in := false
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasSuffix(line, "OPTIONS:"):
			in = true
		case in && strings.HasPrefix(line, "   "):
			label, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
			flags = append(flags, spellings(label)...)
		case in:
			in = false
		}
	}
	return withoutHelp(flags)
}

func withoutHelp(flags []string) []string {
	flags = slices.DeleteFunc(flags, func(f string) bool { return f == "--help" || f == "-h" })
	slices.Sort(flags)
	return flags
}

// manSections splits the man page into its command sections (by .SS
// heading, aliases left off) and the global options, each with the flags
// its tagged paragraphs name.
func manSections(page string) map[string][]string {
	sections := map[string][]string{}
	current := ""
	lines := strings.Split(page, "\n")
	for i, line := range lines {
		line = strings.ReplaceAll(line, `\-`, "-")
		switch {
		case strings.HasPrefix(line, ".SH GLOBAL OPTIONS"):
			current = "GLOBAL"
			sections[current] = nil
		case strings.HasPrefix(line, ".SH"):
			current = ""
		case strings.HasPrefix(line, ".SS "):
			name, _, _ := strings.Cut(strings.Trim(strings.TrimPrefix(line, ".SS "), `"`), " (")
			current = strings.TrimPrefix(name, "jt ")
			sections[current] = nil
		case line == ".TP" && current != "" && i+1 < len(lines):
			label := strings.ReplaceAll(strings.TrimPrefix(lines[i+1], ".B "), `\-`, "-")
			sections[current] = append(sections[current], spellings(label)...)
		}
	}
	return sections
}

// jt help COMMAND and man jt show the same flags: every command's (and
// subcommand's) section of the page names exactly the flags its --help
// lists, and the page has a section for every command --help lists.
func TestManPageMatchesHelp(t *testing.T) {
	app := NewApp("test", "test")
	sections := manSections(ManPage(app))
	var walk func(path []string, cmds []*cli.Command)
	seen := 0
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p := append(slices.Clone(path), c.Name)
			name := strings.Join(p, " ")
			got, ok := sections[name]
			if !ok {
				t.Errorf("man page: no section for jt %s", name)
				continue
			}
			seen++
			if want := helpFlags(t, p...); !slices.Equal(withoutHelp(got), want) {
				t.Errorf("jt %s: man page shows flags %q, jt %s --help shows %q", name, withoutHelp(got), name, want)
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, app.Commands)
	if seen+1 != len(sections) {
		t.Errorf("man page has %d command sections, jt has %d visible commands: %q", len(sections)-1, seen, slices.Sorted(maps.Keys(sections)))
	}
	global := withoutHelp(sections["GLOBAL"])
	if want := helpFlags(t); !slices.Equal(global, want) || !slices.Contains(want, "--ssh-config") {
		t.Errorf("man page's global options %q, jt --help's %q", global, want)
	}
	if !slices.Contains(sections["open"], "--no-browser") || !slices.Contains(sections["ls"], "--json") {
		t.Errorf("man page sections lack flags jt has: open %q, ls %q", sections["open"], sections["ls"])
	}
}
