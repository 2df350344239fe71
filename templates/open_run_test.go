package templates_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
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

	// jupyter runs jupyter-notebook for the notebook: the flavour exists.
	for _, name := range []string{"jupyter", "jupyter-notebook"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(fakeJupyter), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o.Mux, o.Timeout = "none", 10
	if o.Flavour == "" {
		o.Flavour = "notebook"
	}
	script, err := templates.Render(o)
	if err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + bin + ":" + os.Getenv("PATH")
	r := scripttest.Run(t, home, script, path)
	t.Cleanup(func() {
		close, _ := templates.Render(templates.Close{Name: o.Name})
		scripttest.Run(t, home, close, path)
	})
	if r.ParseErr != nil || len(r.Reply.Blocks) != 1 {
		t.Fatalf("open.sh answered %q (stderr %q): %v", r.Stdout, r.Stderr, r.ParseErr)
	}
	return r.Reply.Blocks[0]
}

func TestOpenSocketByDefault(t *testing.T) {
	home := t.TempDir()
	b := openIn(t, home, templates.Open{Name: "s", Mode: "socket"})
	if b.Error || b.Server == nil || !strings.HasSuffix(b.Server.Sock, "/sessions/s/runtime/jupyter.sock") || b.Values["fallback"] != "" {
		t.Fatalf("socket mode: %+v %+v", b.Values, b.Server)
	}
}

// A flavour that is not installed (JupyterLab on a host with the notebook
// only) is named in the error, and nothing is started.
func TestOpenFlavourNotInstalled(t *testing.T) {
	if p, err := exec.LookPath("jupyter-lab"); err == nil {
		t.Skipf("this machine has JupyterLab (%s): the fake host would too", p)
	}
	home := t.TempDir()
	b := openIn(t, home, templates.Open{Name: "nolab", Mode: "socket", Flavour: "lab"})
	if !b.Error || !strings.HasPrefix(b.Values["error"], "jupyter lab is not installed on ") || !strings.Contains(b.Values["hint"], "pip install jupyterlab") {
		t.Fatalf("open --lab without JupyterLab answered %+v", b.Values)
	}
	if _, err := os.Stat(filepath.Join(home, ".local/state/jt/sessions/nolab/runtime")); err == nil {
		t.Errorf("a runtime directory was made for a server that cannot start")
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

// A home shared by two machines (NFS, login nodes behind one name): a
// session started on the other one is neither judged dead nor stopped
// nor started again from here, and its files stay; each script names the
// machine it runs on, for jt to ask there.
func TestSessionOnAnotherMachineIsLeftAlone(t *testing.T) {
	home := t.TempDir()
	b := openIn(t, home, templates.Open{Name: "nfs", Mode: "socket"})
	if b.Error || b.Server == nil {
		t.Fatalf("open: %+v", b.Values)
	}
	sess := filepath.Join(sessionsDir(home), "nfs")
	// Seen from this machine, the server now belongs to login2.
	if err := os.WriteFile(filepath.Join(sess, "node"), []byte("login2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runtime, _ := filepath.Glob(filepath.Join(sess, "runtime", "nbserver-*.json"))
	if len(runtime) != 1 {
		t.Fatalf("runtime files: %v", runtime)
	}

	list, _ := templates.Render(templates.List{})
	r := scripttest.Run(t, home, list)
	if len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Values["state"] != "elsewhere" || r.Reply.Blocks[0].Values["node"] != "login2" {
		t.Errorf("list: %+v", r.Reply.Blocks)
	}
	again := openIn(t, home, templates.Open{Name: "nfs", Mode: "socket"})
	if again.Error || again.Values["status"] != "elsewhere" || again.Values["node"] != "login2" || again.Server != nil {
		t.Errorf("open again: %+v, want status elsewhere on node login2 and no server", again.Values)
	}
	if got, _ := filepath.Glob(filepath.Join(sess, "runtime", "*server-*.json")); len(got) != 1 {
		t.Errorf("open again started a server here: runtime files %v", got)
	}
	attach, _ := templates.Render(templates.Attach{Name: "nfs"})
	a := scripttest.Run(t, home, attach)
	if len(a.Reply.Blocks) != 1 {
		t.Fatalf("attach: %+v", a.Reply.Blocks)
	}
	if c, err := templates.ConsoleOf(a.Reply.Blocks[0], "nfs"); err != nil || c.Node != "login2" || c.ID != "" {
		t.Errorf("attach: console %+v, %v; want node login2 and no window id", c, err)
	}
	close, _ := templates.Render(templates.Close{Name: "nfs"})
	c := scripttest.Run(t, home, close)
	if len(c.Reply.Blocks) != 1 || c.Reply.Blocks[0].Values["state"] != "elsewhere" {
		t.Errorf("close: %+v", c.Reply.Blocks)
	}
	if _, err := os.Stat(runtime[0]); err != nil {
		t.Errorf("the other machine's runtime file was removed: %v", err)
	}
	// Back on its own machine it is found running again, and can be closed.
	if err := os.WriteFile(filepath.Join(sess, "node"), []byte(hostname(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = scripttest.Run(t, home, list)
	if len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Values["state"] != "running" {
		t.Errorf("list on its own machine: %+v", r.Reply.Blocks)
	}
}

func hostname(t *testing.T) string {
	out, err := exec.Command("uname", "-n").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
