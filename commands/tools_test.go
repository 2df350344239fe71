package commands

// jt url, logs and attach as the commands run them (request → engine →
// output), on the recording fake ssh of fake_test.go.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

// runURL is jt url: the engine's URL, printed on stdout.
func runURL(ctx context.Context, d *Deps, host, name string) error {
	url, err := d.Engine.URL(ctx, host, name)
	if err != nil {
		return err
	}
	fmt.Fprintln(d.Stdout, url)
	return nil
}

// runLogs is jt logs.
func runLogs(ctx context.Context, d *Deps, r session.LogsRequest) error {
	return d.Engine.Logs(ctx, r, d.Stdout)
}

// runAttach is jt attach, with Terminal as the test says.
func runAttach(ctx context.Context, d *Deps, r session.AttachRequest) error {
	return d.Engine.Attach(ctx, r)
}

// record puts s in the state file as an open session.
func record(t *testing.T, e *testEnv, s state.Session) {
	t.Helper()
	err := e.d.Engine.Store.Update(context.Background(), func(f *state.File) error {
		f.Put(s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// opened is a test env with session default on gpu1 open, its calls and
// output forgotten; it returns the URL open printed.
func opened(t *testing.T) (*testEnv, string) {
	t.Helper()
	e := newTestEnv(t)
	if err := runOpen(context.Background(), e.d, openOpts()); err != nil {
		t.Fatalf("open: %v\nstderr: %s", err, e.stderr)
	}
	url := e.stdout.String()
	e.ssh.Reset()
	e.stdout.Reset()
	e.stderr.Reset()
	return e, url
}

func hintOf(err error) string {
	h, _ := session.Explain(err)
	return h
}

func isUsage(err error) bool {
	var u *validate.UsageError
	return errors.As(err, &u)
}

// noSSH fails the test when any ssh call was made.
func noSSH(t *testing.T, e *testEnv, what string) {
	t.Helper()
	if k := e.ssh.Kinds(); len(k) != 0 {
		t.Errorf("%s ran ssh: %q", what, k)
	}
}

func TestURLPrintsTheRecordedURL(t *testing.T) {
	e, url := opened(t)
	if err := runURL(context.Background(), e.d, "gpu1", "default"); err != nil {
		t.Fatalf("url: %v", err)
	}
	lp := localPortOf(t, url)
	if want := fmt.Sprintf("http://127.0.0.1:%d/?token=abc\n", lp); e.stdout.String() != want || url != want {
		t.Errorf("url printed %q, open printed %q, want %q", e.stdout, url, want)
	}
	// The tunnel is proved with -O check (local to the master), the host's
	// word on its TCP server and a probe: no login, no new forward.
	vouchedOnce(t, e.ssh.Calls(), "default")
	checkArgv(t, e.ssh.Calls(), "gpu1")
	if e.stderr.Len() != 0 {
		t.Errorf("url wrote to stderr: %q", e.stderr)
	}
}

func TestURLUnknownSession(t *testing.T) {
	e, _ := opened(t)
	err := runURL(context.Background(), e.d, "gpu1", "exp2")
	if err == nil || !strings.Contains(err.Error(), "no open session exp2 on gpu1") {
		t.Fatalf("url of an unknown session: %v", err)
	}
	if h := hintOf(err); !strings.Contains(h, "jt open --name exp2 gpu1") {
		t.Errorf("hint %q does not name jt open --name exp2 gpu1", h)
	}
	if e.stdout.Len() != 0 {
		t.Errorf("stdout %q", e.stdout)
	}
	noSSH(t, e, "url of an unknown session")
}

func TestURLTunnelDown(t *testing.T) {
	e, _ := opened(t)
	e.ssh.dropForwards() // the master's forward is gone; the record stays
	err := runURL(context.Background(), e.d, "gpu1", "default")
	if err == nil || !strings.Contains(err.Error(), "session default on gpu1 does not answer") {
		t.Fatalf("url of a session whose tunnel is down: %v", err)
	}
	if h := hintOf(err); !strings.Contains(h, "jt open --name default gpu1") {
		t.Errorf("hint %q", h)
	}
	if e.stdout.Len() != 0 {
		t.Errorf("a URL that does not answer was printed: %q", e.stdout)
	}
	if slices.Contains(e.ssh.Kinds(), "forward") || slices.Contains(e.ssh.Kinds(), "script") {
		t.Errorf("url tried to repair the session: %q", e.ssh.Kinds())
	}
}

// logAnswer is logs.sh's output: a login banner, the marker, the log.
const logAnswer = "Welcome to gpu1\nLast login: yesterday\n@@JT-LOG@@\n[I 10:00] Serving notebooks\n\x1b[31mred\x1b[0m\x07 and \u009b2J, \xff and a\rb done\n"

const logShown = "[I 10:00] Serving notebooks\n\\x1b[31mred\\x1b[0m\\x07 and \\u009b2J, \\xff and a\\x0db done\n"

func TestLogs(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "name='exp2'") || !strings.Contains(script, "lines='7'") || !strings.Contains(script, "follow=''") {
			t.Errorf("logs.sh not rendered for exp2, 7 lines: %.300q", script)
		}
		return sshexec.Result{Stdout: []byte(logAnswer)}, nil
	}
	if err := runLogs(context.Background(), e.d, session.LogsRequest{Host: "gpu1", Name: "exp2", Lines: 7}); err != nil {
		t.Fatalf("logs: %v", err)
	}
	if got := e.stdout.String(); got != logShown {
		t.Errorf("stdout\n %q\nwant\n %q", got, logShown)
	}
	if k := e.ssh.Kinds(); !slices.Equal(k, []string{"script"}) {
		t.Errorf("logs made %q, want one script", k)
	}
	checkArgv(t, e.ssh.Calls(), "gpu1")
}

// jt logs -f: the same, streamed, through a master.
func TestLogsFollow(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "follow='yes'") {
			t.Errorf("logs.sh not asked to follow")
		}
		return sshexec.Result{Stdout: []byte(logAnswer)}, nil
	}
	if err := runLogs(context.Background(), e.d, session.LogsRequest{Host: "gpu1", Name: "default", Lines: 50, Follow: true}); err != nil {
		t.Fatalf("logs -f: %v", err)
	}
	if got := e.stdout.String(); got != logShown {
		t.Errorf("stdout\n %q\nwant\n %q", got, logShown)
	}
	calls := e.ssh.Calls()
	if k := e.ssh.Kinds(); !slices.Equal(k, []string{"check", "master", "script"}) {
		t.Fatalf("logs -f made %q", k)
	}
	if calls[2].Mode != sshexec.Stream {
		t.Errorf("logs -f ran its script in mode %v, not Stream", calls[2].Mode)
	}
}

func TestLogsNoLog(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(string) (sshexec.Result, error) {
		return fail(nil, 3, "jt: no log for session x on h\n", nil)
	}
	err := runLogs(context.Background(), e.d, session.LogsRequest{Host: "gpu1", Name: "x", Lines: 50})
	if err == nil || err.Error() != "no log for session x on gpu1" {
		t.Fatalf("logs without a log: %v", err)
	}
	if h := hintOf(err); !strings.Contains(h, "jt ls gpu1") {
		t.Errorf("hint %q does not name jt ls gpu1", h)
	}
	if e.stdout.Len() != 0 {
		t.Errorf("stdout %q", e.stdout)
	}
}

// Any other ssh failure is not "no log": it says what failed, with ssh's hint.
func TestLogsSSHFails(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(string) (sshexec.Result, error) {
		return fail(nil, 255, "ssh: connect to host gpu1 port 22: Connection refused", sshexec.ErrUnreachable)
	}
	err := runLogs(context.Background(), e.d, session.LogsRequest{Host: "gpu1", Name: "default", Lines: 50})
	if !errors.Is(err, sshexec.ErrUnreachable) || strings.Contains(err.Error(), "no log") {
		t.Fatalf("logs over a dead link: %v", err)
	}
	if h := hintOf(err); !strings.Contains(h, "ssh gpu1") {
		t.Errorf("hint %q", h)
	}
}

func TestLogsRefusesBeforeSSH(t *testing.T) {
	pwned := pwnedBefore()
	e := newTestEnv(t)
	for _, r := range []session.LogsRequest{
		{Host: "gpu1", Name: "$(touch /tmp/pwned)", Lines: 50},
		{Host: "gpu1", Name: "x;touch /tmp/pwned", Lines: 50},
		{Host: "gpu1", Name: "../default", Lines: 50},
		{Host: "gpu1", Name: "-x", Lines: 50},
		{Host: "gpu1", Name: "a'b", Lines: 50},
		{Host: "gpu1", Name: "a\nb", Lines: 50},
		{Host: "gpu1", Name: "", Lines: 50},
		{Host: "-oProxyCommand=touch /tmp/pwned", Name: "default", Lines: 50},
		{Host: "gpu1", Name: "default", Lines: -1},
		{Host: "gpu1", Name: "default", Lines: 1000001},
		{Host: "gpu1", Name: "default", Lines: -1, Follow: true},
	} {
		err := runLogs(context.Background(), e.d, r)
		if !isUsage(err) {
			t.Errorf("logs %+v = %v, want a usage error", r, err)
		}
		if r.Lines != 50 && (err == nil || !strings.Contains(err.Error(), "--lines")) {
			t.Errorf("logs --lines %d: %v does not name --lines", r.Lines, err)
		}
	}
	noSSH(t, e, "logs with hostile input")
	if !pwned && pwnedBefore() {
		t.Error("/tmp/pwned was created")
	}
}

func TestAttachWithoutTerminal(t *testing.T) {
	e, _ := opened(t) // a session with a screen console
	err := runAttach(context.Background(), e.d, session.AttachRequest{Host: "gpu1", Name: "default"})
	if !isUsage(err) || !strings.Contains(err.Error(), "needs a terminal") {
		t.Fatalf("attach without a terminal: %v", err)
	}
	noSSH(t, e, "attach without a terminal")
}

// A session recorded with console none has nothing to attach to, and jt
// says so before asking for a terminal or running ssh.
func TestAttachNoConsoleRecorded(t *testing.T) {
	e := newTestEnv(t)
	record(t, e, state.Session{Host: "gpu1", Name: "exp2", Mux: "none", LocalPort: 1, PID: 4242, Token: "abc"})
	for _, term := range []bool{false, true} {
		e.ssh.script = func(string) (sshexec.Result, error) {
			return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nmux=none\n@@JT-END@@\n")}, nil
		}
		err := runAttach(context.Background(), e.d, session.AttachRequest{Host: "gpu1", Name: "exp2", Terminal: term})
		if err == nil || !strings.Contains(err.Error(), "has no console") {
			t.Fatalf("terminal %v: attach to a session without console: %v", term, err)
		}
		if h := hintOf(err); !strings.Contains(h, "jt logs -f --name exp2 gpu1") {
			t.Errorf("terminal %v: hint %q", term, h)
		}
		if slices.Contains(e.ssh.Kinds(), "terminal") {
			t.Errorf("terminal %v: ran a terminal: %q", term, e.ssh.Kinds())
		}
	}
}

func TestAttachScreen(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "name='exp2'") || !strings.Contains(script, "screen_id") {
			t.Errorf("attach.sh not rendered for exp2: %.300q", script)
		}
		return sshexec.Result{Stdout: []byte("banner\n@@JT-SESSION@@\nmux=screen\nid=31337.jt-exp2\nscreendir=/run/screen/S-a\n@@JT-END@@\n")}, nil
	}
	var remote string
	e.ssh.terminal = func(r string) (sshexec.Result, error) { remote = r; return sshexec.Result{}, nil }
	if err := runAttach(context.Background(), e.d, session.AttachRequest{Host: "gpu1", Name: "exp2", Terminal: true}); err != nil {
		t.Fatalf("attach: %v", err)
	}
	if k := e.ssh.Kinds(); !slices.Equal(k, []string{"check", "master", "script", "terminal"}) {
		t.Fatalf("attach made %q", k)
	}
	calls := e.ssh.Calls()
	checkArgv(t, calls, "gpu1")
	term := calls[3]
	if term.Mode != sshexec.Terminal {
		t.Errorf("the console ran in mode %v, not Terminal", term.Mode)
	}
	want := `exec /bin/sh -c 'exec env SCREENDIR="/run/screen/S-a" screen -r "31337.jt-exp2"'`
	if remote != want || term.Args[len(term.Args)-1] != want {
		t.Errorf("remote command %q, want %q", remote, want)
	}
	if i := slices.Index(term.Args, "--"); i < 0 || len(term.Args) != i+3 {
		t.Errorf("the remote command is not one word after the host: %q", term.Args)
	}
}

func TestAttachTmux(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(string) (sshexec.Result, error) {
		return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nmux=tmux\nid=jt-a_b\nsocket=jt-a.b\n@@JT-END@@\n")}, nil
	}
	if err := runAttach(context.Background(), e.d, session.AttachRequest{Host: "gpu1", Name: "a.b", Terminal: true}); err != nil {
		t.Fatalf("attach: %v", err)
	}
	calls := e.ssh.Calls()
	last := calls[len(calls)-1]
	if want := `exec /bin/sh -c 'exec tmux -L "jt-a.b" attach-session -t "=jt-a_b"'`; last.Kind != "terminal" || last.Args[len(last.Args)-1] != want {
		t.Errorf("last call %s %q, want the console %q", last.Kind, last.Args, want)
	}
}

// The host names the window; one that is not this session's, or not a
// plain name, is refused before anything runs on the terminal.
func TestAttachRefusesAnotherWindow(t *testing.T) {
	for name, answer := range map[string]string{
		"another screen":       "mux=screen\nid=31337.jt-other",
		"screen prefix":        "mux=screen\nid=31337.jt-exp2x",
		"screen without pid":   "mux=screen\nid=jt-exp2",
		"another tmux session": "mux=tmux\nid=jt-other",
		"another tmux socket":  "mux=tmux\nid=jt-exp2\nsocket=jt-other",
		"shell in the id":      "mux=screen\nid=31337.jt-exp2;touch /tmp/pwned",
		"quote in the id":      "mux=screen\nid=31337.jt-exp2'",
		"screendir relative":   "mux=screen\nid=31337.jt-exp2\nscreendir=run/screen",
		"screendir shell":      "mux=screen\nid=31337.jt-exp2\nscreendir=/tmp/$(touch /tmp/pwned)",
		"screendir dotdot":     "mux=screen\nid=31337.jt-exp2\nscreendir=/run/../etc",
		"unknown mux":          "mux=zellij\nid=jt-exp2",
	} {
		e := newTestEnv(t)
		e.ssh.script = func(string) (sshexec.Result, error) {
			return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\n" + answer + "\n@@JT-END@@\n")}, nil
		}
		err := runAttach(context.Background(), e.d, session.AttachRequest{Host: "gpu1", Name: "exp2", Terminal: true})
		if err == nil {
			t.Errorf("%s: attach took %q", name, answer)
		}
		if msg := fmt.Sprint(err); !strings.Contains(msg, "jt will not use") && !strings.HasPrefix(msg, "find session exp2 on gpu1: ") {
			t.Errorf("%s: not refused as the host's answer: %v", name, err)
		}
		if slices.Contains(e.ssh.Kinds(), "terminal") {
			t.Errorf("%s: ran the console for %q", name, answer)
		}
	}
}

// A session whose window is gone: nothing to attach to, and a hint.
func TestAttachNoWindow(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(string) (sshexec.Result, error) {
		return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nmux=screen\n@@JT-END@@\n")}, nil
	}
	err := runAttach(context.Background(), e.d, session.AttachRequest{Host: "gpu1", Name: "exp2", Terminal: true})
	if err == nil || !strings.Contains(err.Error(), "no window") || !strings.Contains(hintOf(err), "jt open --name exp2 gpu1") {
		t.Fatalf("attach without a window: %v (hint %q)", err, hintOf(err))
	}
	if slices.Contains(e.ssh.Kinds(), "terminal") {
		t.Errorf("ran a terminal: %q", e.ssh.Kinds())
	}
}

// jt attach to a batch session: the console the job wrote (read through
// the login node, whose home the node shares), opened on the node by the
// node hop, with no terminal for a job that is gone, has no window or
// names another session's.
func TestAttachBatch(t *testing.T) {
	for _, tc := range []struct {
		name, answer, err string
	}{
		{"running", "job=running\nmux=screen\nid=4242.jt-b\nscreendir=/tmp/jt-AbC123\n", ""},
		{"gone", "job=gone\n", "is not running"},
		{"no window", "job=running\nmux=none\n", "with no console"},
		{"another window", "job=running\nmux=screen\nid=4242.jt-c\n", "not PID.jt-b"},
		{"hostile screendir", "job=running\nmux=screen\nid=4242.jt-b\nscreendir=/tmp/x'$(id)\n", "not a plain absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			record(t, e, state.Session{Host: "gpu1", Name: "b", Mux: "slurm", Mode: "socket", LocalPort: 1,
				Job: &state.Job{Scheduler: "slurm", ID: "12", Node: "n1", Nonce: "00aa", Hop: "/tmp/jt/nd-x"}})
			var script string
			e.ssh.script = func(s string) (sshexec.Result, error) {
				if strings.Contains(s, hostKeyScript) {
					return sshexec.Result{Stdout: []byte(hostKeysAnswer("n1", true))}, nil
				}
				script = s
				return sshexec.Result{Stdout: []byte("@@JT-HELLO@@\n@@JT-SESSION@@\n" + tc.answer + "@@JT-END@@\n")}, nil
			}
			err := runAttach(context.Background(), e.d, session.AttachRequest{Host: "gpu1", Name: "b", Terminal: true})
			if !strings.Contains(script, `run="$base/"'slurm'/'b'/'00aa'`) {
				t.Errorf("attach_job.sh not rendered for the job's run directory: %.400q", script)
			}
			calls := e.ssh.Calls()
			last := calls[len(calls)-1]
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("attach: %v, want %q", err, tc.err)
				}
				if slices.Contains(e.ssh.Kinds(), "terminal") {
					t.Errorf("a terminal ran: %q", e.ssh.Kinds())
				}
				return
			}
			if err != nil {
				t.Fatalf("attach: %v", err)
			}
			want := `exec /bin/sh -c 'exec env SCREENDIR="/tmp/jt-AbC123" screen -r "4242.jt-b"'`
			if last.Kind != "terminal" || last.Args[len(last.Args)-1] != want {
				t.Fatalf("last call %s %q, want the console %q", last.Kind, last.Args, want)
			}
			hop := e.d.Engine.SSH.NodeHop(sshexec.Hop{Login: "gpu1", Node: "n1", Name: "b"}).ControlPath()
			for _, o := range []string{"HostName=n1", "ControlPath=" + hop, "StrictHostKeyChecking=yes"} {
				if !slices.Contains(last.Args, o) {
					t.Errorf("the console's ssh lacks %s: %q", o, last.Args)
				}
			}
		})
	}
}
