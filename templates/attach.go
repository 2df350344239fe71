package templates

import (
	"fmt"
	"regexp"
	"strings"
)

// Console is the window jt attach opens: attach.sh's answer, checked.
type Console struct {
	Mux       string // "screen", "tmux" or "none"
	ID        string // screen: PID.jt-NAME; tmux: jt-NAME, . made _; "" when the session has no window
	Socket    string // tmux -L socket name; "" for the default tmux server
	ScreenDir string // SCREENDIR of screen on the host; "" for screen's default
	// Node: the session runs on this other machine of the same home (its
	// window is there); "" when it runs on the machine that answered.
	Node string
}

// screenDirRE is the plain absolute path a SCREENDIR may be here: it ends
// up inside a command line the login shell reads (see ConsoleCommand).
var screenDirRE = bounded(`^/[A-Za-z0-9._/@+-]*$`, 1001)

// ParseAttach reads attach.sh's answer for session name. The answer is
// untrusted: the ids must be the ones jt gives session name, the screen
// directory a plain absolute path.
func ParseAttach(host string, out []byte, name string) (Console, error) {
	reply, err := Read(host, KindAttach, out)
	if err != nil {
		return Console{}, err
	}
	if len(reply.Blocks) == 0 || reply.Blocks[0].Error {
		return Console{}, fmt.Errorf("no answer")
	}
	return ConsoleOf(reply.Blocks[0], name)
}

// ConsoleOf reads attach.sh's answer block (checked by Read) for session
// name.
func ConsoleOf(b Block, name string) (Console, error) {
	v := b.Values
	want := "jt-" + name
	c := Console{Mux: v["mux"], Node: v["node"]}
	if c.Node != "" {
		return c, nil // asked again on that node
	}
	switch c.Mux {
	case "none":
	case "tmux":
		c.ID, c.Socket = v["id"], v["socket"]
		// tmux makes each . (and :) of a session name a _.
		if session := strings.NewReplacer(".", "_", ":", "_").Replace(want); c.ID != "" && c.ID != session {
			return Console{}, fmt.Errorf("the answer names tmux session %q, not %s", c.ID, session)
		}
		if c.Socket != "" && c.Socket != want {
			return Console{}, fmt.Errorf("the answer names tmux socket %q, not %s", c.Socket, want)
		}
	case "screen":
		c.ID, c.ScreenDir = v["id"], v["screendir"]
		if c.ID != "" && !regexp.MustCompile(`^[0-9]{1,10}\.`+regexp.QuoteMeta(want)+`$`).MatchString(c.ID) {
			return Console{}, fmt.Errorf("the answer names screen session %q, not PID.%s", c.ID, want)
		}
		if c.ScreenDir != "" && (!screenDirRE.MatchString(c.ScreenDir) || hasDotDot(c.ScreenDir)) {
			return Console{}, fmt.Errorf("screen's directory on the host, %q, is not a plain absolute path (letters, digits and ._/@+- only)", c.ScreenDir)
		}
	default:
		return Console{}, fmt.Errorf("the answer names an unknown multiplexer %q", c.Mux)
	}
	return c, nil
}

func hasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// consoleRE is every character the console command may hold between its
// single quotes. Each one is literal inside single quotes for bash, zsh,
// tcsh and fish alike: no quote, backslash (fish), ! (tcsh history),
// newline (tcsh), nor $ or `.
var consoleRE = lazy(`^[A-Za-z0-9 ."=_/@+-]+$`)

// dqRE is what a value may hold to go between double quotes in
// attach_console.sh: nothing sh expands there, and only consoleRE's
// characters.
var dqRE = lazy(`^[A-Za-z0-9._/@+=-]*$`)

// dquote is the quoting function of attach_console.sh: double quotes around
// an allow-listed value (single quotes are taken by the outer layer).
func dquote(v any) (string, error) {
	s := fmt.Sprint(v)
	if !dqRE.MatchString(s) {
		return "", fmt.Errorf("value %q has characters jt does not put in a remote command line", s)
	}
	return `"` + s + `"`, nil
}

// ConsoleCommand is the remote command of jt attach. It cannot go on stdin
// like the other scripts: the terminal is screen's or tmux's. So the login
// shell parses it, whichever shell that is: it is
//
//	exec /bin/sh -c '…'
//
// where the text in quotes is attach_console.sh, made of consoleRE's
// characters only, which bash, zsh, tcsh and fish all read the same way.
func ConsoleCommand(c Console) (string, error) {
	if c.Mux != "screen" && c.Mux != "tmux" || c.ID == "" {
		return "", fmt.Errorf("no window to attach to (mux %q, id %q)", c.Mux, c.ID)
	}
	inner, err := scripts.Render("attach_console.sh.tmpl", c)
	if err != nil {
		return "", err
	}
	if !consoleRE.MatchString(inner) {
		return "", fmt.Errorf("the console command %q has characters the login shell could read its own way", inner)
	}
	return "exec /bin/sh -c '" + inner + "'", nil
}
