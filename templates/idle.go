package templates

import (
	_ "embed"
	"strings"
)

// watcher is jt's idle watcher (jt open --idle), a Python program that
// runs beside a session's Jupyter, on its host: idle.sh.tmpl writes it to
// the session's run directory and starts it with Jupyter's own Python.
//
//go:embed idlewatch.py
var watcher string

// idleWatcher is the watcher's source, for the here-document of
// idle.sh.tmpl (which its end marker must not end early).
func idleWatcher() string {
	if strings.Contains("\n"+watcher+"\n", "\nJT_IDLEWATCH_EOF\n") {
		panic("idlewatch.py holds its here-document's end marker")
	}
	return strings.TrimRight(watcher, "\n")
}
