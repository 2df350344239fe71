// Package validate holds the rules for what a user gives jt: session
// names, hosts, ports, remote paths and commands, consoles and flavours,
// and options written as shell words. The command line, the config file
// and the schedulers check their values here, so each rule exists once.
// A rule returns what is wrong, in words the caller puts after its own
// label (a flag, or a key of the config file).
package validate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/visible"
)

// UsageError is a mistake in how jt was called: a flag, an argument or the
// config file (exit status 2). Nothing has run remotely when it is returned.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef makes a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// MaxValue bounds a one-line value (a directory, a command, an option).
const MaxValue = 4096

// Compiled on first use: a command that checks no name (jt --help) does
// not pay for the counted repetition.
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`) })

// IsName reports whether s is in the alphabet of names (sessions and
// profiles): 1-64 letters, digits, '.', '_' or '-', not starting with '-' or '.'.
func IsName(s string) bool { return nameRE().MatchString(s) }

// Name checks a session name: it becomes part of remote file names, of the
// screen session and of a batch job's name, so only a safe alphabet passes.
func Name(name string) error {
	if !nameRE().MatchString(name) {
		return fmt.Errorf("session name %s is not valid: use 1-64 letters, digits, '.', '_' or '-', not starting with '-' or '.'", visible.Quote(name))
	}
	return nil
}

// Host checks an ssh destination (a profile name, an alias, user@host).
func Host(host string) error { return sshexec.ValidateHost(host) }

// Port checks a port number; 0 means "choose for me".
func Port(port int) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("%d is out of range: use 1-65535", port)
	}
	return nil
}

// OneLine checks a value that must be one line of bounded length. The
// message starts with the value (or "is … long"), so that "--dir " or a
// config key can go before it.
func OneLine(s string) error {
	if strings.ContainsAny(s, "\x00\n\r") {
		return fmt.Errorf("%s contains a NUL or newline", visible.Quote(s))
	}
	if len(s) > MaxValue {
		return fmt.Errorf("is %d bytes long, more than %d", len(s), MaxValue)
	}
	return nil
}

// ErrTildeUser is a remote path written ~user/…: jt cannot know that
// user's home on the host.
var ErrTildeUser = fmt.Errorf("~user is not supported; write the path in full, or ~/… for your own home")

// RemotePath checks a directory on the host: "~" and "~/…" mean the remote
// home.
func RemotePath(dir string) error {
	if err := OneLine(dir); err != nil {
		return err
	}
	if strings.HasPrefix(dir, "~") && dir != "~" && !strings.HasPrefix(dir, "~/") {
		return ErrTildeUser
	}
	return nil
}

// Consoles are what can keep a server and its console alive.
var Consoles = []string{"auto", "screen", "tmux", "none"}

// Flavours are the Jupyter front ends jt starts by name.
var Flavours = []string{"notebook", "lab", "server"}

// OneOf checks that s is one of allowed, suggesting the nearest.
func OneOf(s string, allowed []string) error {
	if slices.Contains(allowed, s) {
		return nil
	}
	return fmt.Errorf("%s is not one of %s%s", visible.Quote(s), strings.Join(allowed, ", "), Suggest(s, allowed))
}

// Suggest is ` (did you mean "x"?)` for the nearest candidate, or "";
// case and '-' against '_' do not count.
func Suggest(got string, candidates []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := EditDistance(norm(got), norm(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > 2 || (bestDist == 2 && len(got) < 4) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// EditDistance is the Levenshtein distance between a and b.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
