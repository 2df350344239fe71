package commands

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mitchellh/go-homedir"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/visible"
)

// remoteHomeDir maps a directory under the local home to the same place
// under the remote home: the user's shell expands `--dir ~/proj` to the
// laptop's home (/Users/alice/proj) before jt sees it, and that path rarely
// exists on the host. It reports whether it changed dir.
func remoteHomeDir(dir, localHome string) (string, bool) {
	home := strings.TrimRight(filepath.ToSlash(localHome), "/")
	if home == "" || !strings.HasPrefix(home, "/") {
		return dir, false
	}
	d := filepath.ToSlash(dir)
	switch {
	case d == home || d == home+"/":
		return "~", true
	case strings.HasPrefix(d, home+"/"):
		return "~/" + strings.TrimLeft(d[len(home)+1:], "/"), true
	}
	return dir, false
}

// mapLocalHome applies remoteHomeDir to o.Dir, and says so.
func mapLocalHome(d *Deps, o *session.OpenRequest) {
	home, err := homedir.Dir()
	if err != nil {
		return
	}
	if dir, ok := remoteHomeDir(o.Dir, home); ok {
		d.warn("--dir %s is under your local home; using %s on %s", plainOrQuoted(o.Dir), plainOrQuoted(dir), o.Host)
		o.Dir = dir
	}
}

// plainOrQuoted shows a path as it is when that is safe on a terminal, else
// quoted with its odd characters escaped.
func plainOrQuoted(s string) string {
	if len(s) <= 256 && strconv.Quote(s) == `"`+s+`"` {
		return s
	}
	return visible.Quote(s)
}
