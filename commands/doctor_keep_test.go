package commands

// jt doctor and jt open --keep's keeper on the recording fake ssh.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
)

// runDoctor is jt doctor: the engine's checks, printed as they come.
func runDoctor(ctx context.Context, d *Deps, r session.OpenRequest) error {
	return d.Engine.Doctor(ctx, r, d.printCheck)
}

// doctorAnswer is doctor.sh's output: ok, warn and fail checks, one with
// the output that shows why.
const doctorAnswer = `@@JT-HELLO@@
@@JT-SESSION@@
check=shell
status=ok
msg=login shell /bin/bash
fix=never shown for ok
@@JT-END@@
@@JT-SESSION@@
check=tmux
status=warn
msg=tmux is not installed
fix=install tmux, or keep screen
@@JT-END@@
@@JT-SESSION@@
check=jupyter
status=fail
msg=no notebook found
fix=pip install --user notebook
@@JT-LOG@@
|sh: jupyter: not found
@@JT-END@@
@@JT-DONE@@
`

func doctorEnv(t *testing.T, answer string) *testEnv {
	e := newTestEnv(t)
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "jt doctor") || !strings.Contains(script, "name='default'") {
			t.Errorf("not doctor.sh for default: %.300q", script)
		}
		return sshexec.Result{Stdout: []byte(answer)}, nil
	}
	return e
}

func TestDoctor(t *testing.T) {
	e := doctorEnv(t, doctorAnswer)
	err := runDoctor(context.Background(), e.d, openOpts().request())
	if err == nil || !strings.Contains(err.Error(), "1 check(s) failed (jupyter)") || !strings.Contains(err.Error(), "jt open gpu1") {
		t.Fatalf("doctor with a failed check: %v", err)
	}
	out := e.stdout.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		"ok   ssh client OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024 (ControlMaster, forwards to unix sockets)",
		"ok   ssh goes to a@gpu1.example.org port 22",
		"ok   control socket " + e.d.Engine.SSH.ControlDir + "/cm-",
		"ok   logged in to gpu1 as a",
		"ok   login shell /bin/bash",
		"warn tmux is not installed",
		"     fix: install tmux, or keep screen",
		"FAIL no notebook found",
		"     fix: pip install --user notebook",
		"     | sh: jupyter: not found",
	}
	if len(lines) != len(want) {
		t.Fatalf("doctor printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d: %q, want %q…", i+1, lines[i], want[i])
		}
	}
	if strings.Contains(out, "never shown") || strings.Contains(out, "login prints text") {
		t.Errorf("a fix for an ok check, or a banner where there is none:\n%s", out)
	}
	// The master doctor started for its checks is ended: no session uses it.
	if k := e.ssh.Kinds(); !slices.Equal(k, []string{"version", "resolve", "check", "master", "script", "exit"}) {
		t.Errorf("doctor made %q", k)
	}
	calls := e.ssh.Calls()
	checkArgv(t, calls[1:], "gpu1")
	if calls[3].Mode != sshexec.Master {
		t.Errorf("doctor's login did not get the terminal")
	}
}

func TestDoctorAllOK(t *testing.T) {
	answer := "@@JT-SESSION@@\ncheck=shell\nstatus=ok\nmsg=login shell /bin/sh\n@@JT-END@@\n@@JT-DONE@@\n"
	e := doctorEnv(t, answer)
	if err := runDoctor(context.Background(), e.d, openOpts().request()); err != nil {
		t.Fatalf("doctor with every check ok: %v\n%s", err, e.stdout)
	}
	if out := e.stdout.String(); strings.Contains(out, "FAIL") || strings.Contains(out, "warn") || strings.Count(out, "ok   ") != 5 {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestDoctorBanner(t *testing.T) {
	e := doctorEnv(t, "Welcome to gpu1, \x1b[1mbe nice\x1b[0m\n"+doctorAnswer)
	runDoctor(context.Background(), e.d, openOpts().request())
	var banner string
	for _, l := range strings.Split(e.stdout.String(), "\n") {
		if strings.Contains(l, "the login prints text on stdout") {
			banner = l
		}
	}
	if !strings.HasPrefix(banner, "ok   ") || !strings.Contains(banner, "Welcome to gpu1") || !strings.Contains(banner, "scp and rsync") {
		t.Fatalf("no banner line:\n%s", e.stdout)
	}
	if strings.Contains(banner, "\x1b") {
		t.Errorf("the banner's escape sequence reached the terminal: %q", banner)
	}
}

// An answer outside the gate's grammar is refused whole: none of its
// checks is shown, and doctor fails naming the remote check.
func TestDoctorRefusesHostileAnswer(t *testing.T) {
	ok := "@@JT-SESSION@@\ncheck=shell\nstatus=ok\nmsg=shown only if the answer is taken\n@@JT-END@@\n"
	for name, block := range map[string]string{
		"check substitution": "check=$(x)\nstatus=ok\nmsg=m",
		"check too long":     "check=" + strings.Repeat("c", 33) + "\nstatus=ok\nmsg=m",
		"status unknown":     "check=x\nstatus=fine\nmsg=m",
	} {
		e := doctorEnv(t, ok+"@@JT-SESSION@@\n"+block+"\n@@JT-END@@\n@@JT-DONE@@\n")
		err := runDoctor(context.Background(), e.d, openOpts().request())
		out := e.stdout.String()
		if err == nil || !strings.Contains(err.Error(), "(remote)") {
			t.Errorf("%s: doctor = %v, want a failed remote check", name, err)
		}
		if !strings.Contains(out, "FAIL gpu1 answered") || !strings.Contains(out, "jt will not use") || !strings.Contains(out, "fix: the host answered what jt's check script never prints") {
			t.Errorf("%s: stdout:\n%s", name, out)
		}
		if strings.Contains(out, "shown only if") {
			t.Errorf("%s: a check of a refused answer was shown:\n%s", name, out)
		}
	}
}

// A client that is not OpenSSH, or older than 6.7, is the ssh check's
// FAIL, and doctor's error names it.
func TestDoctorNotOpenSSH(t *testing.T) {
	for _, v := range []string{"Dropbear v2022.83", "OpenSSH_6.6p1, OpenSSL 1.0.1f"} {
		e := doctorEnv(t, doctorAnswer)
		e.ssh.version = v
		err := runDoctor(context.Background(), e.d, openOpts().request())
		if err == nil || !strings.Contains(err.Error(), "(ssh, jupyter)") {
			t.Errorf("%s: doctor = %v", v, err)
		}
		if out := e.stdout.String(); !strings.HasPrefix(out, "FAIL ssh client") || !strings.Contains(out, v) || !strings.Contains(out, "fix: install") {
			t.Errorf("%s: stdout:\n%s", v, out)
		}
	}
}

// A login that fails is the login check's FAIL with ssh's hint; nothing
// runs on the host.
func TestDoctorLoginFails(t *testing.T) {
	e := doctorEnv(t, doctorAnswer)
	e.ssh.login = func() (sshexec.Result, error) {
		return fail(nil, 255, "a@gpu1.example.org: Permission denied (publickey).", sshexec.ErrAuth)
	}
	err := runDoctor(context.Background(), e.d, openOpts().request())
	if err == nil || !strings.Contains(err.Error(), "(login)") {
		t.Fatalf("doctor = %v", err)
	}
	if out := e.stdout.String(); !strings.Contains(out, "FAIL cannot log in to gpu1") || !strings.Contains(out, "fix: check that `ssh gpu1` logs you in") {
		t.Errorf("stdout:\n%s", out)
	}
	if slices.Contains(e.ssh.Kinds(), "script") {
		t.Errorf("doctor ran its script without a login: %q", e.ssh.Kinds())
	}
}

// syncBuffer is stderr written by a keeper while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until stderr holds text; false after 3 s.
func (s *syncBuffer) waitFor(text string) bool {
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(s.String(), text) {
			return true
		}
	}
	return false
}

// keeper is Keep running after an open.
type keeper struct {
	errb   *syncBuffer // its stderr
	cancel context.CancelFunc
	done   chan struct{}
	err    error // what Keep returned, once done is closed
}

// keeping starts Keep, reporting to a buffer of its own; it is ended (and
// waited for) when the test ends.
func keeping(t *testing.T, e *testEnv, background bool) *keeper {
	t.Helper()
	k := &keeper{errb: &syncBuffer{}, done: make(chan struct{})}
	e.d.Engine.Report = reporter{w: k.errb}
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	go func() {
		defer close(k.done)
		k.err = e.d.Engine.Keep(ctx, session.KeepRequest{Open: openOpts().request(), Interval: 20 * time.Millisecond, Background: background})
	}()
	t.Cleanup(func() {
		cancel()
		<-k.done
	})
	if !k.errb.waitFor("keeping session default on gpu1 open") {
		t.Fatalf("Keep did not start; stderr: %q", k.errb)
	}
	return k
}

// returned waits for Keep to return by itself; false after 3 s.
func (k *keeper) returned() bool {
	select {
	case <-k.done:
		return true
	case <-time.After(3 * time.Second):
		return false
	}
}

// stop is Ctrl-C: it ends Keep and returns what Keep returned.
func (k *keeper) stop(t *testing.T) error {
	t.Helper()
	k.cancel()
	if !k.returned() {
		t.Fatal("Keep did not return after its context ended")
	}
	return k.err
}

func (f *fakeSSH) count(kind string) int {
	n := 0
	for _, k := range f.Kinds() {
		if k == kind {
			n++
		}
	}
	return n
}

func TestKeepRestoresTheTunnel(t *testing.T) {
	e, url := opened(t)
	k := keeping(t, e, false)
	time.Sleep(80 * time.Millisecond) // a few checks of a tunnel that answers
	if n := e.ssh.count("forward") + e.ssh.count("master"); n != 0 {
		t.Errorf("Keep reopened a tunnel that answers: %q", e.ssh.Kinds())
	}
	for _, c := range e.ssh.Calls() {
		if c.Kind == "script" && !strings.Contains(c.Stdin, "# jt ls:") {
			t.Errorf("Keep ran a script other than the host's word on the server: %.100q", c.Stdin)
		}
	}
	e.ssh.dropForwards()
	if !k.errb.waitFor("restored") {
		t.Fatalf("Keep did not restore the tunnel; stderr: %q", k.errb)
	}
	if out := k.errb.String(); !strings.Contains(out, "does not answer; reconnecting") || !strings.Contains(out, "restored: session default on gpu1 (pid 4242)") {
		t.Errorf("stderr: %q", out)
	}
	if e.ssh.count("forward") == 0 {
		t.Errorf("no new forward: %q", e.ssh.Kinds())
	}
	if err := k.stop(t); err != nil {
		t.Errorf("Keep = %v after Ctrl-C, want nil", err)
	}
	checkRestored(t, e, k, url)
	if strings.Contains(k.errb.String(), "token") {
		t.Errorf("the keeper showed the token on stderr: %q", k.errb)
	}
}

// checkRestored checks the session after Keep restored it: the same server
// (pid), on the same local port unless another program took it meanwhile
// (the keeper then says where the tunnel moved), and jt url answers
// through the new tunnel.
func checkRestored(t *testing.T, e *testEnv, k *keeper, url string) {
	t.Helper()
	f, err := e.d.Engine.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Find("gpu1", "default")
	if !ok || s.PID != 4242 {
		t.Fatalf("after the restore: recorded %+v, want pid 4242", s)
	}
	if lp := localPortOf(t, url); s.LocalPort != lp {
		// Other programs on this machine may bind ports too.
		if moved := fmt.Sprintf("127.0.0.1:%d is taken by another program; the tunnel moves to 127.0.0.1:%d", lp, s.LocalPort); !strings.Contains(k.errb.String(), moved) {
			t.Errorf("the tunnel moved from port %d to %d without a word; stderr: %q", lp, s.LocalPort, k.errb)
		}
		url = strings.Replace(url, fmt.Sprint(lp), fmt.Sprint(s.LocalPort), 1)
	}
	e.stdout.Reset()
	if err := runURL(context.Background(), e.d, "gpu1", "default"); err != nil || e.stdout.String() != url {
		t.Errorf("url after the restore: %q, %v; want %q", e.stdout, err, url)
	}
}

func loginDenied() (sshexec.Result, error) {
	return fail(nil, 255, "a@gpu1.example.org: Permission denied (publickey,password).", sshexec.ErrAuth)
}

// The master dies and logging in again is refused.
func masterDiesLoginDenied(e *testEnv) {
	e.ssh.mu.Lock()
	e.ssh.login = loginDenied
	e.ssh.mu.Unlock()
	e.ssh.Run(context.Background(), sshexec.Cmd{Args: e.d.Engine.SSH.ExitArgs("gpu1")})
}

// In the foreground a login that fails ends Keep with its error: jt never
// loops on a key or password that does not work.
func TestKeepEndsOnFailedLogin(t *testing.T) {
	e, _ := opened(t)
	k := keeping(t, e, false)
	masterDiesLoginDenied(e)
	if !k.returned() {
		t.Fatalf("Keep goes on after a failed login; stderr: %q, calls %q", k.errb, e.ssh.Kinds())
	}
	if !errors.Is(k.err, sshexec.ErrAuth) {
		t.Errorf("Keep = %v, want ErrAuth", k.err)
	}
	if n := e.ssh.count("master"); n != 1 {
		t.Errorf("Keep tried %d logins, want 1", n)
	}
}

// In the background (no terminal to ask on) a failed login waits for the
// user to log in again, without trying by itself, then restores.
func TestKeepInBackgroundWaitsForLogin(t *testing.T) {
	e, url := opened(t)
	k := keeping(t, e, true)
	masterDiesLoginDenied(e)
	if !k.errb.waitFor("waiting until you log in again with: jt open gpu1") {
		t.Fatalf("stderr: %q", k.errb)
	}
	logins := e.ssh.count("master")
	time.Sleep(100 * time.Millisecond)
	select {
	case <-k.done:
		t.Fatalf("Keep in the background ended on a failed login: %v", k.err)
	default:
	}
	if n := e.ssh.count("master"); n != logins || logins != 1 {
		t.Errorf("while waiting Keep logged in by itself: %d logins, then %d", logins, n)
	}
	if e.ssh.count("check") < 2 {
		t.Errorf("Keep does not look for a master while it waits: %q", e.ssh.Kinds())
	}

	// The user logs in (jt open makes a master): Keep goes on from it.
	e.ssh.mu.Lock()
	e.ssh.login = nil
	e.ssh.mu.Unlock()
	e.ssh.Run(context.Background(), sshexec.Cmd{Args: e.d.Engine.SSH.MasterArgs("gpu1"), Mode: sshexec.Master})
	if !k.errb.waitFor("restored") {
		t.Fatalf("Keep did not restore after the login; stderr: %q", k.errb)
	}
	if err := k.stop(t); err != nil {
		t.Errorf("Keep = %v after Ctrl-C, want nil", err)
	}
	checkRestored(t, e, k, url)
}

// Ctrl-C while waiting for a login: Keep returns nil.
func TestKeepInBackgroundStopsWhileWaiting(t *testing.T) {
	e, _ := opened(t)
	k := keeping(t, e, true)
	masterDiesLoginDenied(e)
	if !k.errb.waitFor("waiting until you log in") {
		t.Fatalf("stderr: %q", k.errb)
	}
	if err := k.stop(t); err != nil {
		t.Errorf("Keep = %v, want nil when its context ends", err)
	}
}
