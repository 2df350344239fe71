package commands

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

// deadAnswer is list.sh's answer about a session whose server is gone.
const deadAnswer = `@@JT-SESSION@@
name=default
boot=0b6d5c8e
node=gpu1
log=/home/a/.local/state/jt/sessions/default/log
state=dead
@@JT-END@@
@@JT-DONE@@
`

// A TCP server on a shared host died and another user's program took its
// port: whatever it answers, jt url and jt ls never send it the token or
// call the session up, and its tunnel is removed at once.
func TestImpostorOnTheRemotePortGetsNoToken(t *testing.T) {
	e, _ := opened(t)
	var mu sync.Mutex
	var seen []string
	imp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		io.WriteString(w, `{"version": "6.4.12", "started": "2024-01-01T00:00:00Z"}`) // 200 to anything
	}))
	t.Cleanup(imp.Close)
	e.ssh.mu.Lock()
	e.ssh.jupyter = strings.TrimPrefix(imp.URL, "http://")
	e.ssh.mu.Unlock()
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "# jt ls:") {
			t.Errorf("unexpected script: %.100q", script)
		}
		return sshexec.Result{Stdout: []byte(deadAnswer)}, nil
	}
	if err := runURL(context.Background(), e.d, "gpu1", "default"); err == nil || e.stdout.Len() != 0 {
		t.Errorf("url of a session whose server is gone: %v, printed %q", err, e.stdout)
	}
	if !slices.Contains(e.ssh.Kinds(), "cancel") {
		t.Errorf("the tunnel to a dead server stays: %q", e.ssh.Kinds())
	}
	e.stdout.Reset()
	if err := runLs(context.Background(), e.d, lsOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if out := e.stdout.String(); !strings.Contains(out, "server dead") || strings.Contains(out, " up ") {
		t.Errorf("ls:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range seen {
		if strings.Contains(r, "abc") {
			t.Errorf("the impostor got the token: %q", r)
		}
	}
}

// socketAnswer is open.sh's answer about a server on a unix socket in the
// session's private directory.
var socketAnswer = strings.Replace(openAnswer, `{"pid":4242,"port":8888,`, `{"pid":4242,"port":0,"sock":"/home/a/.local/state/jt/sessions/default/runtime/jupyter.sock",`, 1)

// A plain session's unix socket lies in a 0700 directory of the user's:
// only the user can listen there, so the token probe is the proof, and a
// warm open or jt ls asks the host nothing.
func TestWarmSocketSessionAsksTheHostNothing(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if strings.Contains(script, "# jt ls:") {
			t.Errorf("the host was asked about a socket session's server")
		}
		return sshexec.Result{Stdout: []byte(socketAnswer)}, nil
	}
	ctx := context.Background()
	if err := runOpen(ctx, e.d, openOpts()); err != nil {
		t.Fatalf("open: %v\n%s", err, e.stderr)
	}
	e.ssh.Reset()
	if err := runOpen(ctx, e.d, openOpts()); err != nil {
		t.Fatalf("warm open: %v", err)
	}
	if err := runLs(ctx, e.d, lsOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if k := e.ssh.Kinds(); len(k) == 0 || slices.ContainsFunc(k, func(s string) bool { return s != "check" }) {
		t.Errorf("warm open and ls made ssh calls %q, want only checks", k)
	}
	if !strings.Contains(e.stdout.String(), " up ") {
		t.Errorf("ls:\n%s", e.stdout)
	}
}
