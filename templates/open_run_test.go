package templates_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jt-sh/jt/templates"
)

// fakeJupyter is a jupyter that, like the real one, writes its runtime file
// (with the socket or port it was given) and serves until killed.
const fakeJupyter = `#!/bin/sh
sock= port=0
for a; do
	case $a in --sock=*) sock=${a#--sock=} ;; --port=*) port=${a#--port=} ;; esac
done
printf '{"pid": %d, "port": %d, "sock": "%s", "token": "t0k", "base_url": "/"}\n' $$ "$port" "$sock" >"$JUPYTER_RUNTIME_DIR/nbserver-$$.json"
exec sleep 30
`

// openIn runs open.sh under home with the fake jupyter and no multiplexer.
func openIn(t *testing.T, home string, o templates.Open) templates.Block {
	t.Helper()
	bin := t.TempDir() // not under home: its path may not fit in $PATH

	if err := os.WriteFile(filepath.Join(bin, "jupyter"), []byte(fakeJupyter), 0o755); err != nil {
		t.Fatal(err)
	}
	o.Mux, o.Timeout, o.Flavour = "none", 10, "notebook"
	script, err := templates.Render(o)
	if err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + bin + ":" + os.Getenv("PATH")
	r := runScript(t, home, script, path)
	t.Cleanup(func() {
		close, _ := templates.Render(templates.Close{Name: o.Name})
		runScript(t, home, close, path)
	})
	if r.parseErr != nil || len(r.reply.Blocks) != 1 {
		t.Fatalf("open.sh answered %q (stderr %q): %v", r.stdout, r.stderr, r.parseErr)
	}
	return r.reply.Blocks[0]
}

func TestOpenSocketByDefault(t *testing.T) {
	home := t.TempDir()
	b := openIn(t, home, templates.Open{Name: "s", Mode: "socket"})
	if b.Error || b.Server == nil || !strings.HasSuffix(b.Server.Sock, "/sessions/s/runtime/jupyter.sock") || b.Values["fallback"] != "" {
		t.Fatalf("socket mode: %+v %+v", b.Values, b.Server)
	}
}

// A home whose path holds ':' cannot be named in ssh -L: TCP instead, said.
func TestOpenSocketPathWithColonFallsBackToTCP(t *testing.T) {
	home, err := os.MkdirTemp("/tmp", "jt:") // short: the length fallback must not come first
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	b := openIn(t, home, templates.Open{Name: "c", Mode: "socket"})
	if b.Error || b.Server == nil {
		t.Fatalf("open: %+v", b.Values)
	}
	if b.Server.Sock != "" || b.Server.Port == 0 {
		t.Errorf("server got sock %q port %d, want a TCP port", b.Server.Sock, b.Server.Port)
	}
	if !strings.Contains(b.Values["fallback"], "':'") {
		t.Errorf("fallback %q does not say why", b.Values["fallback"])
	}
}
