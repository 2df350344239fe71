package commands

import (
	"context"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
)

func forwardSpecs(calls []call, kind string) []string {
	var specs []string
	for _, c := range calls {
		if c.Kind == kind {
			specs = append(specs, c.Args[slices.Index(c.Args, "-L")+1])
		}
	}
	return specs
}

func itoa(n int) string { return strconv.Itoa(n) }

// freeLocalPort is a port of 127.0.0.1 free just now.
func freeLocalPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func recordedForwards(t *testing.T, e *testEnv) []state.Forward {
	t.Helper()
	f, err := e.d.Engine.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.Find("gpu1", "default")
	return s.Forwards
}

// A forward rides the master, is recorded, checked by ls, restored by an
// open after the master died, and removed by --cancel and by close.
func TestForwardLifecycle(t *testing.T) {
	e, _ := opened(t)
	ctx := context.Background()
	lp := freeLocalPort(t)
	st, err := e.d.Engine.Forward(ctx, session.ForwardRequest{Host: "gpu1", Name: "default", Remote: "6006", LocalPort: lp})
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	want := "127.0.0.1:" + itoa(lp) + ":127.0.0.1:6006"
	if st.State != session.ForwardUp || st.URL != "http://127.0.0.1:"+itoa(lp)+"/" || !slices.Equal(forwardSpecs(e.ssh.Calls(), "forward"), []string{want}) {
		t.Errorf("forward: %+v, forwards %q; want up at %s", st, forwardSpecs(e.ssh.Calls(), "forward"), want)
	}
	checkArgv(t, e.ssh.Calls(), "gpu1")
	if fs := recordedForwards(t, e); len(fs) != 1 || fs[0].LocalPort != lp || fs[0].RemotePort != 6006 {
		t.Errorf("recorded %+v", fs)
	}
	rows, err := e.d.Engine.List(ctx, session.ListRequest{Timeout: 5e9})
	if err != nil || len(rows) != 1 || len(rows[0].ForwardStates) != 1 || rows[0].ForwardStates[0].State != session.ForwardUp {
		t.Fatalf("ls: %+v, %v", rows, err)
	}
	printRows(e.d, rows)
	if !strings.Contains(e.stdout.String(), itoa(lp)+"->6006") {
		t.Errorf("jt ls shows no forward:\n%s", e.stdout)
	}

	// The master dies with its forwards; the next open brings both back.
	e.ssh.Run(ctx, sshexec.Cmd{Args: []string{"-O", "exit", "--", "gpu1"}})
	e.ssh.Reset()
	if err := runOpen(ctx, e.d, openOpts()); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if specs := forwardSpecs(e.ssh.Calls(), "forward"); len(specs) != 2 || specs[1] != want {
		t.Errorf("reopen forwarded %q; want the session's tunnel, then %s", specs, want)
	}
	if fs := recordedForwards(t, e); len(fs) != 1 || !sshexec.LocalPortListening(lp) {
		t.Errorf("after reopen: recorded %+v, listening %v", fs, sshexec.LocalPortListening(lp))
	}

	e.ssh.Reset()
	if _, err := e.d.Engine.Forward(ctx, session.ForwardRequest{Host: "gpu1", Name: "default", Remote: "6006", Cancel: true}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if !slices.Equal(forwardSpecs(e.ssh.Calls(), "cancel"), []string{want}) || len(recordedForwards(t, e)) != 0 {
		t.Errorf("cancel: %q, recorded %+v", forwardSpecs(e.ssh.Calls(), "cancel"), recordedForwards(t, e))
	}
	if _, err := e.d.Engine.Forward(ctx, session.ForwardRequest{Host: "gpu1", Name: "default", Remote: "6006", Cancel: true}); err == nil {
		t.Errorf("a second cancel succeeded")
	}

	if _, err := e.d.Engine.Forward(ctx, session.ForwardRequest{Host: "gpu1", Name: "default", Remote: "/tmp/dash.sock", LocalPort: lp}); err != nil {
		t.Fatalf("forward to a socket: %v", err)
	}
	e.ssh.Reset()
	if err := e.d.Engine.Close(ctx, session.CloseRequest{Host: "gpu1", Name: "default", Timeout: 5e9}); err != nil {
		t.Fatalf("close: %v", err)
	}
	if specs := forwardSpecs(e.ssh.Calls(), "cancel"); !slices.Contains(specs, "127.0.0.1:"+itoa(lp)+":/tmp/dash.sock") {
		t.Errorf("close cancelled %q", specs)
	}
	if fs := recordedForwards(t, e); len(fs) != 0 {
		t.Errorf("after close: recorded %+v", fs)
	}
}

// A forward whose far end nobody listens on is removed and not recorded.
func TestForwardNothingListens(t *testing.T) {
	e, _ := opened(t)
	e.ssh.dead = ":127.0.0.1:7777"
	_, err := e.d.Engine.Forward(context.Background(), session.ForwardRequest{Host: "gpu1", Name: "default", Remote: "7777"})
	if err == nil || !strings.Contains(err.Error(), "7777 on gpu1: nothing listens") || !strings.Contains(hintOf(err), "jt ls --ports gpu1") {
		t.Fatalf("forward to a dead port: %v (hint %q)", err, hintOf(err))
	}
	if c := forwardSpecs(e.ssh.Calls(), "cancel"); len(c) != 1 || len(recordedForwards(t, e)) != 0 {
		t.Errorf("cancelled %q, recorded %+v", c, recordedForwards(t, e))
	}
}

// What jt forward refuses, before any ssh.
func TestForwardRefuses(t *testing.T) {
	e, _ := opened(t)
	for _, remote := range []string{"abc", "0", "70000", "-1", "/tmp/a:b", "~/x.sock", "rel/x.sock", "/tmp/../x", "/tmp/$(x)", "-oProxyCommand=x", ""} {
		_, err := e.d.Engine.Forward(context.Background(), session.ForwardRequest{Host: "gpu1", Name: "default", Remote: remote})
		if !isUsage(err) {
			t.Errorf("remote %q: %v, want a usage error", remote, err)
		}
	}
	noSSH(t, e, "bad REMOTE")
	_, err := e.d.Engine.Forward(context.Background(), session.ForwardRequest{Host: "gpu1", Name: "other", Remote: "6006"})
	if err == nil || !strings.Contains(err.Error(), "no open session other on gpu1") {
		t.Errorf("unknown session: %v", err)
	}
	noSSH(t, e, "an unknown session")
	c := *e.d.Engine.SSH
	c.NoMux = true
	e.d.Engine.SSH = &c
	_, err = e.d.Engine.Forward(context.Background(), session.ForwardRequest{Host: "gpu1", Name: "default", Remote: "6006"})
	if err == nil || !strings.Contains(err.Error(), "needs the ssh master") {
		t.Errorf("without a master: %v", err)
	}
}

// jt open HOST NOTEBOOK: checked as user input before ssh, then on the
// host; the URL leads to the notebook's page, each part escaped.
func TestOpenNotebook(t *testing.T) {
	e := newTestEnv(t)
	for _, nb := range []string{"../x.ipynb", "/etc/x.ipynb", "~/x.ipynb", "a//b.ipynb", "a/./b.ipynb", "a\nb.ipynb"} {
		r := openOpts().request()
		r.Notebook = nb
		if _, err := e.d.Engine.Open(context.Background(), r); !isUsage(err) {
			t.Errorf("notebook %q: %v, want a usage error", nb, err)
		}
	}
	noSSH(t, e, "a bad notebook path")
	exists := "file"
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if strings.Contains(script, "jt open HOST NOTEBOOK") {
			if !strings.Contains(script, `path='sub/a b#1.ipynb'`) {
				t.Errorf("notebook script without the quoted path:\n%s", script)
			}
			return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nexists=" + exists + "\n@@JT-END@@\n")}, nil
		}
		return sshexec.Result{Stdout: []byte(openAnswer)}, nil
	}
	r := openOpts().request()
	r.Notebook = "sub/a b#1.ipynb"
	op, err := e.d.Engine.Open(context.Background(), r)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if u := op.URL(); !strings.HasSuffix(u, "/notebooks/sub/a%20b%231.ipynb?token=abc") {
		t.Errorf("URL %s", u)
	}
	exists = "no"
	if _, err := e.d.Engine.Open(context.Background(), r); err == nil || !strings.Contains(err.Error(), `no file "sub/a b#1.ipynb"`) {
		t.Errorf("missing notebook: %v", err)
	}

	// JupyterLab's page is its tree.
	lab := newTestEnv(t)
	lab.ssh.script = func(script string) (sshexec.Result, error) {
		if strings.Contains(script, "jt open HOST NOTEBOOK") {
			return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nexists=file\n@@JT-END@@\n")}, nil
		}
		return sshexec.Result{Stdout: []byte(strings.Replace(openAnswer, "flavour=notebook", "flavour=lab", 1))}, nil
	}
	r.Flavour = "lab"
	if op, err := lab.d.Engine.Open(context.Background(), r); err != nil || !strings.Contains(op.URL(), "/lab/tree/sub/a%20b%231.ipynb?token=abc") {
		t.Errorf("lab: %v, %v", op.URL(), err)
	}
}

// jt env's lines give a shell back the very values, whatever they hold.
func TestShellExports(t *testing.T) {
	pwned := pwnedBefore()
	env := map[string]string{"JUPYTER_TOKEN": `a'b"c$(touch /tmp/pwned)\` + "`x`", "JUPYTER_URL": "http://127.0.0.1:1/"}
	if _, err := session.ShellExports(env, "tcsh"); !isUsage(err) {
		t.Errorf("--shell tcsh: %v", err)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		lines, err := session.ShellExports(env, sh)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(path, "-c", lines+"printf '%s|%s' \"$JUPYTER_TOKEN\" \"$JUPYTER_URL\"").Output()
		if want := env["JUPYTER_TOKEN"] + "|" + env["JUPYTER_URL"]; err != nil || string(out) != want {
			t.Errorf("%s: %q, %v; want %q", sh, out, err, want)
		}
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil && !pwned {
		t.Errorf("a value was run")
	}
}

// jt ls --ports: the listeners of the session as the host answers them,
// through the gate; a batch session is refused before ssh.
func TestPorts(t *testing.T) {
	e, _ := opened(t)
	answer := "@@JT-SESSION@@\nname=default\nstate=running\n@@JT-END@@\n" +
		"@@JT-SESSION@@\npid=4300\ncmd=python3\nport=6006\naddr=127.0.0.1\n@@JT-END@@\n" +
		"@@JT-SESSION@@\npid=4242\ncmd=jupyter-noteboo\nsock=/home/a/j.sock\n@@JT-END@@\n@@JT-DONE@@\n"
	e.ssh.script = func(string) (sshexec.Result, error) { return sshexec.Result{Stdout: []byte(answer)}, nil }
	ls, err := e.d.Engine.Ports(context.Background(), "gpu1", "default")
	if err != nil || len(ls) != 2 || ls[0].Port != 6006 || ls[0].Command != "python3" || ls[1].Sock != "/home/a/j.sock" {
		t.Fatalf("ports: %+v, %v", ls, err)
	}
	for _, bad := range []string{"port=0", "port=6006x", "cmd=a b", "sock=/a/../b", "addr=localhost", "pid=-1"} {
		answer = "@@JT-SESSION@@\nname=default\nstate=running\n@@JT-END@@\n@@JT-SESSION@@\npid=1\nport=1\n" + bad + "\n@@JT-END@@\n@@JT-DONE@@\n"
		if _, err := e.d.Engine.Ports(context.Background(), "gpu1", "default"); err == nil {
			t.Errorf("answer %q was taken", bad)
		}
	}
	answer = "@@JT-SESSION@@\nname=other\nstate=running\n@@JT-END@@\n@@JT-DONE@@\n"
	if _, err := e.d.Engine.Ports(context.Background(), "gpu1", "default"); err == nil {
		t.Errorf("an answer about another session was taken")
	}

	// A batch session's: on its node, through the node hop, about the
	// job's run directory.
	record(t, e, state.Session{Host: "gpu1", Name: "b", Mode: "socket", LocalPort: 1,
		Job: &state.Job{Scheduler: "slurm", ID: "12", Node: "n1", Nonce: "00aa", Hop: "/tmp/jt/nd-x"}})
	e.ssh.Reset()
	var script string
	e.ssh.script = func(s string) (sshexec.Result, error) {
		if strings.Contains(s, hostKeyScript) {
			return sshexec.Result{Stdout: []byte(hostKeysAnswer("n1", true))}, nil
		}
		script = s
		return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nname=b\nstate=running\n@@JT-END@@\n" +
			"@@JT-SESSION@@\npid=77\ncmd=tensorboard\nport=6006\naddr=127.0.0.1\n@@JT-END@@\n@@JT-DONE@@\n")}, nil
	}
	ls, err = e.d.Engine.Ports(context.Background(), "gpu1", "b")
	if err != nil || len(ls) != 1 || ls[0].Port != 6006 || ls[0].Command != "tensorboard" {
		t.Fatalf("ports of a batch session: %+v, %v", ls, err)
	}
	if !strings.Contains(script, `sess="$base/"'slurm'/"$name"/'00aa'`) {
		t.Errorf("ports.sh not rendered for the job's run directory: %.600q", script)
	}
	calls := e.ssh.Calls()
	if last := calls[len(calls)-1]; last.Kind != "script" || !slices.Contains(last.Args, "HostName=n1") || !slices.Contains(last.Args, "StrictHostKeyChecking=yes") {
		t.Errorf("the listing did not run on the node through the hop: %s %q", last.Kind, last.Args)
	}
	// One recorded without its job's nonce (an older jt) cannot say which
	// job directory is its: refused, nothing run.
	record(t, e, state.Session{Host: "gpu1", Name: "c", Mode: "socket", LocalPort: 1,
		Job: &state.Job{Scheduler: "slurm", ID: "13", Node: "n1", Hop: "/tmp/jt/nd-y"}})
	e.ssh.Reset()
	if _, err := e.d.Engine.Ports(context.Background(), "gpu1", "c"); err == nil || !strings.Contains(err.Error(), "nonce") {
		t.Errorf("batch session without a nonce: %v", err)
	}
	noSSH(t, e, "ports of a batch session without a nonce")
}
