package commands

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

func openOpts() openOptions {
	return openOptions{Host: "gpu1", Name: "default", Flavour: "notebook", Mux: "screen", Timeout: 10 * time.Second, TCP: true, NoBrowser: true}
}

func localPortOf(t *testing.T, url string) int {
	t.Helper()
	rest, ok := strings.CutPrefix(strings.TrimSpace(url), "http://127.0.0.1:")
	if !ok {
		t.Fatalf("URL %q", url)
	}
	p, _, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("URL %q: %v", url, err)
	}
	return n
}

func TestOpenColdThenWarm(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	if err := runOpen(ctx, e.d, openOpts()); err != nil {
		t.Fatalf("cold open: %v\nstderr: %s", err, e.stderr)
	}
	calls := e.ssh.Calls()
	if got, want := e.ssh.Kinds(), []string{"check", "master", "script", "forward", "check"}; !slices.Equal(got, want) {
		t.Fatalf("cold open made %q, want %q", got, want)
	}
	checkArgv(t, calls, "gpu1")
	if calls[1].Mode != sshexec.Master {
		t.Errorf("the master was not run in Master mode (it needs the terminal)")
	}
	script := calls[2]
	if !strings.Contains(script.Stdin, "name='default'") || !strings.Contains(script.Stdin, "find_server") {
		t.Errorf("open.sh did not go on stdin: %.200q", script.Stdin)
	}
	if script.Args[len(script.Args)-1] != sshexec.RemoteShell {
		t.Errorf("remote command is %q, want %q", script.Args[len(script.Args)-1], sshexec.RemoteShell)
	}
	for _, a := range script.Args {
		if strings.Contains(a, "find_server") || strings.Contains(a, "\n") {
			t.Errorf("script text on the command line: %.80q", a)
		}
	}

	out := e.stdout.String()
	lp := localPortOf(t, out)
	if want := "http://127.0.0.1:" + strconv.Itoa(lp) + "/?token=abc\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	fwd := calls[3].Args[slices.Index(calls[3].Args, "-L")+1]
	if want := "127.0.0.1:" + strconv.Itoa(lp) + ":127.0.0.1:8888"; fwd != want {
		t.Errorf("forward %q, want %q", fwd, want)
	}
	f, err := e.d.Engine.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Find("gpu1", "default")
	if !ok || s.LocalPort != lp || s.PID != 4242 || s.Token != "abc" || s.RemotePort != 8888 || s.Mode != "tcp" || s.Node != "gpu1" || s.Flavour != "notebook" || s.ControlPath != e.d.Engine.SSH.ControlPath() {
		t.Errorf("recorded %+v", s)
	}
	if s.Started != time.Unix(1700000000, 0).UTC() {
		t.Errorf("Started %v", s.Started)
	}

	// Warm: the recorded tunnel answers with the recorded token.
	e.ssh.Reset()
	e.stdout.Reset()
	if err := runOpen(ctx, e.d, openOpts()); err != nil {
		t.Fatalf("warm open: %v", err)
	}
	// One -O check (local to the master) proves the listener is its own;
	// the server listens on TCP, so the host vouches for it (one script)
	// before the token goes to the tunnel.
	vouchedOnce(t, e.ssh.Calls(), "default")
	if e.stdout.String() != out {
		t.Errorf("warm open printed %q, cold %q", e.stdout, out)
	}

	// The master died (and its forwards with it): the next open reconnects,
	// finds the same server and forwards the same local port again.
	e.ssh.Run(ctx, sshexec.Cmd{Args: e.d.Engine.SSH.ExitArgs("gpu1")})
	e.ssh.Reset()
	e.stdout.Reset()
	if err := runOpen(ctx, e.d, openOpts()); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got, want := e.ssh.Kinds(), []string{"check", "master", "script", "forward", "check"}; !slices.Equal(got, want) {
		t.Errorf("reopen made %q, want %q", got, want)
	}
	if e.stdout.String() != out {
		t.Errorf("reopen printed %q, want the same URL %q", e.stdout, out)
	}
}

func TestOpenJSON(t *testing.T) {
	e := newTestEnv(t)
	o := openOpts()
	o.JSON = true
	if err := runOpen(context.Background(), e.d, o); err != nil {
		t.Fatal(err)
	}
	var r openResult
	if err := json.Unmarshal(e.stdout.Bytes(), &r); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, e.stdout)
	}
	if r.Host != "gpu1" || r.Name != "default" || r.Status != "started" || r.PID != 4242 || r.RemotePort != 8888 || !strings.HasSuffix(r.URL, "?token=abc") || r.LocalPort == 0 {
		t.Errorf("JSON %+v", r)
	}
}

// A port taken locally is skipped when jt chooses, refused when the user
// chose it.
func TestOpenLocalPortTaken(t *testing.T) {
	e := newTestEnv(t)
	taken := localPortOf(t, e.jup.URL) // the fake Jupyter's own port is in use
	o := openOpts()
	o.LocalPort = taken
	err := runOpen(context.Background(), e.d, o)
	var u *validate.UsageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), strconv.Itoa(taken)) {
		t.Errorf("--local-port %d (taken) = %v, want a usage error naming it", taken, err)
	}
	if slices.Contains(e.ssh.Kinds(), "forward") {
		t.Errorf("forwarded a port that is in use: %q", e.ssh.Kinds())
	}
}

func TestOpenRemoteError(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(string) (sshexec.Result, error) {
		return sshexec.Result{Stdout: []byte("banner\n@@JT-ERROR@@\nerror=screen is not installed on gpu1\nhint=install it, or use --mux tmux\n@@JT-END@@\n")}, nil
	}
	err := runOpen(context.Background(), e.d, openOpts())
	if err == nil || err.Error() != "screen is not installed on gpu1" {
		t.Fatalf("err = %v", err)
	}
	if hint, _ := session.Explain(err); hint != "install it, or use --mux tmux" {
		t.Errorf("hint %q", hint)
	}
	if slices.Contains(e.ssh.Kinds(), "forward") {
		t.Errorf("forwarded after an error: %q", e.ssh.Kinds())
	}
	if f, err := e.d.Engine.Store.Load(); err != nil || len(f.Sessions) != 0 || len(f.Pending) != 0 {
		t.Errorf("state after an error: %+v, %v", f, err)
	}
}

func TestOpenSSHFailsDuringScript(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(string) (sshexec.Result, error) {
		return fail(nil, 255, "Connection closed by 10.0.0.1 port 22", sshexec.ErrUnreachable)
	}
	err := runOpen(context.Background(), e.d, openOpts())
	if !errors.Is(err, sshexec.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if hint, _ := session.Explain(err); !strings.Contains(hint, "ssh gpu1") {
		t.Errorf("hint %q", hint)
	}
	if strings.ContainsAny(err.Error(), "\n") {
		t.Errorf("multi-line error %q", err)
	}
}

func TestOpenTruncatedAnswer(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(string) (sshexec.Result, error) {
		return sshexec.Result{Stdout: []byte(openAnswer[:strings.Index(openAnswer, "@@JT-END@@")])}, nil
	}
	if err := runOpen(context.Background(), e.d, openOpts()); err == nil {
		t.Fatal("a truncated answer was accepted")
	}
	if f, err := e.d.Engine.Store.Load(); err != nil || len(f.Sessions) != 0 || len(f.Pending) != 0 {
		t.Errorf("state from a truncated answer: %+v, %v", f, err)
	}
}

// A recorded session whose tunnel answers with another token is not ours:
// open must not call it warm.
func TestOpenWrongTokenIsNotWarm(t *testing.T) {
	e := newTestEnv(t)
	lp := localPortOf(t, e.jup.URL)
	err := e.d.Engine.Store.Update(context.Background(), func(f *state.File) error {
		f.Put(state.Session{Host: "gpu1", Name: "default", LocalPort: lp, PID: 1, Token: "stale", BaseURL: "/"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := runOpen(context.Background(), e.d, openOpts()); err != nil {
		t.Fatalf("open: %v", err)
	}
	if k := e.ssh.Kinds(); len(k) == 0 || k[0] != "check" {
		t.Errorf("a tunnel refusing the recorded token was taken as warm: %q", k)
	}
	if lp2 := localPortOf(t, e.stdout.String()); lp2 == lp {
		t.Errorf("reused port %d held by something else", lp)
	}
}

// The default mode: Jupyter on a unix socket, forwarded from 127.0.0.1.
func TestOpenSocket(t *testing.T) {
	e := newTestEnv(t)
	sock := "/home/a/.local/state/jt/sessions/default/runtime/jupyter.sock"
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "mode='socket'") {
			t.Errorf("open.sh not asked for a socket")
		}
		ans := strings.Replace(openAnswer, `"port":8888`, `"port":0,"sock":"`+sock+`"`, 1)
		return sshexec.Result{Stdout: []byte(ans)}, nil
	}
	o := openOpts()
	o.TCP = false
	if err := runOpen(context.Background(), e.d, o); err != nil {
		t.Fatalf("open: %v\nstderr: %s", err, e.stderr)
	}
	calls := e.ssh.Calls()
	if k := calls[len(calls)-1].Kind; k != "check" {
		t.Errorf("the last call is %s, want the check before the probe", k)
	}
	last := calls[len(calls)-2]
	lp := localPortOf(t, e.stdout.String())
	if spec := last.Args[slices.Index(last.Args, "-L")+1]; last.Kind != "forward" || spec != "127.0.0.1:"+strconv.Itoa(lp)+":"+sock {
		t.Errorf("last call %s %q", last.Kind, last.Args)
	}
	f, _ := e.d.Engine.Store.Load()
	if s, _ := f.Find("gpu1", "default"); s.Mode != "socket" || s.RemoteSock != sock || s.LocalPort != lp {
		t.Errorf("recorded %+v", s)
	}
}
