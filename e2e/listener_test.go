package e2e

// End-to-end: the token goes only to jt's own listener. After a tunnel
// drops, a program of another local user may take its local port; jt ls,
// jt open, the idle-master check and the no-mux path must send it nothing.

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pySquat listens on 127.0.0.1:argv[1] (retrying the bind while the port is
// still held), says "ready PID" on stderr, and writes every connection and
// every byte it receives to stdout. Double quotes only.
const pySquat = `import os, socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
deadline = time.time() + 10
while True:
    try:
        s.bind(("127.0.0.1", port))
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.05)
s.listen(16)
sys.stderr.write("ready %d\n" % os.getpid())
sys.stderr.flush()
while True:
    c, a = s.accept()
    sys.stdout.write("accept %r\n" % (a,))
    sys.stdout.flush()
    c.settimeout(2)
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            sys.stdout.write("%r\n" % d)
            sys.stdout.flush()
    except OSError:
        pass
    c.close()
`

// squatter starts, as the local user nobody, a listener on 127.0.0.1:port
// and returns its pid and a function that returns what it received.
func squatter(t *testing.T, e *env, port int) (int, func() string) {
	t.Helper()
	if os.Geteuid() != 0 {
		missingReq(t, "root, to run a listener as another local user")
	}
	logF, err := os.CreateTemp(e.dir, "squat")
	if err != nil {
		t.Fatal(err)
	}
	defer logF.Close()
	cmd := exec.Command("runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", pySquat, strconv.Itoa(port))
	cmd.Dir = "/"
	cmd.Stdout = logF // the listener writes through this descriptor: the file stays root's
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the listener as nobody: %v", err)
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(errPipe).ReadString('\n')
		line <- l
		// Keep draining (a traceback must not block the listener).
		bufio.NewReader(errPipe).WriteTo(os.Stderr)
	}()
	var pid int
	select {
	case l := <-line:
		m := regexp.MustCompile(`^ready ([0-9]+)\n$`).FindStringSubmatch(l)
		if m == nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the listener on 127.0.0.1:%d did not start: %q", port, l)
		}
		pid, _ = strconv.Atoi(m[1])
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the listener on 127.0.0.1:%d did not start within 20s", port)
	}
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGKILL)
		cmd.Process.Kill()
		cmd.Wait()
	})
	name := logF.Name()
	return pid, func() string {
		b, _ := os.ReadFile(name)
		return string(b)
	}
}

// forwardSpec is the -L spec of a recorded session's forward.
func (e *env) forwardSpec(host, name string) (int, string) {
	e.t.Helper()
	f, err := e.loadState()
	if err != nil {
		e.t.Fatal(err)
	}
	s, ok := f.session(host, name)
	if !ok {
		e.t.Fatalf("no session %s on %s recorded", name, host)
	}
	lp := strconv.Itoa(s.LocalPort)
	if s.RemoteSock != "" {
		return s.LocalPort, "127.0.0.1:" + lp + ":" + s.RemoteSock
	}
	return s.LocalPort, "127.0.0.1:" + lp + ":127.0.0.1:" + strconv.Itoa(s.RemotePort)
}

// openMoved runs jt open for a session whose recorded port another program
// holds: it must succeed on another port, say why, and answer there.
func openMoved(t *testing.T, e *env, host, name string, taken int, token string) openResult {
	t.Helper()
	r, stderr := e.openArgs(host, name, "--name", name, host)
	if r.LocalPort == taken || r.LocalPort == 0 {
		t.Errorf("jt open answered on local port %d; %d is another user's", r.LocalPort, taken)
	}
	if want := "127.0.0.1:" + strconv.Itoa(taken) + " is taken by another program"; !strings.Contains(stderr, want) {
		t.Errorf("jt open does not say %q:\n%s", want, stderr)
	}
	if _, tok := parseURL(t, r.URL); tok != token {
		t.Errorf("jt open moved the session onto another server (token changed)")
	}
	mustAnswer(t, r.URL)
	return r
}

func checkNothingReceived(t *testing.T, port int, received func() string) {
	t.Helper()
	if got := received(); got != "" {
		t.Errorf("the other user's listener on 127.0.0.1:%d received:\n%s", port, got)
	}
}

// With a master: the session's forward is cancelled (the master lives on
// for a second session), another user listens on its port; then the tunnel
// drops with the master itself, and again another user listens.
func TestE2EListenerOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	a := e.open("hosta", "sq1")
	e.open("hosta", "sq2")
	lp, token := parseURL(t, a.URL)

	_, spec := e.forwardSpec("hosta", "sq1")
	if out, err := exec.Command("ssh", e.masterArgs("-O", "cancel", "-L", spec, "hosta")...).CombinedOutput(); err != nil {
		t.Fatalf("ssh -O cancel -L %s: %v: %s", spec, err, out)
	}
	_, received := squatter(t, e, lp)

	// Closing sq2 asks whether the master still serves a tunnel: sq1's
	// recorded port answers, but not with jt's listener.
	e.jt("close", "--name", "sq2", "hosta")
	if e.masterRunning("hosta") {
		t.Errorf("the master was kept for a tunnel that is another user's listener")
	}
	checkNothingReceived(t, lp, received)

	if r := row(t, e.ls("hosta"), "hosta", "sq1"); r.State != "port taken" || r.URL != "" {
		t.Errorf("jt ls: sq1 is %q with url %q; want \"port taken\" and no URL", r.State, r.URL)
	}
	if out, _ := e.jt("ls"); !strings.Contains(out, "port taken") {
		t.Errorf("jt ls does not show the row as port taken:\n%s", out)
	}
	if _, _, code := e.run("url", "--name", "sq1", "hosta"); code == 0 {
		t.Errorf("jt url printed the URL of another user's listener")
	}
	checkNothingReceived(t, lp, received)

	r := openMoved(t, e, "hosta", "sq1", lp, token)
	checkNothingReceived(t, lp, received)

	// Now the master goes, and with it the new tunnel.
	e.exitMaster("hosta")
	_, received2 := squatter(t, e, r.LocalPort)
	if r := row(t, e.ls("hosta"), "hosta", "sq1"); r.State != "port taken" {
		t.Errorf("jt ls after the master went: sq1 is %q, want \"port taken\"", r.State)
	}
	openMoved(t, e, "hosta", "sq1", r.LocalPort, token)
	checkNothingReceived(t, r.LocalPort, received2)
	checkNothingReceived(t, lp, received)
}

// Without a master: the forward's ssh dies, another user listens on its
// port, and the recorded forward pid is now that user's process (a reused
// pid, as it may be).
func TestE2ENoMuxListenerOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	e.vars = append(e.vars, "JT_NO_MUX=1")
	a := e.open("hosta", "sq3")
	lp, token := parseURL(t, a.URL)
	f, err := e.loadState()
	if err != nil {
		t.Fatal(err)
	}
	fwd := 0
	for _, s := range f.Sessions {
		if s.Name == "sq3" {
			fwd = s.ForwardPID
		}
	}
	if fwd <= 0 {
		t.Fatalf("no forward pid recorded: %+v", f.Sessions)
	}
	if err := syscall.Kill(fwd, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the forward's ssh %d: %v", fwd, err)
	}
	waitDead(t, fwd)
	pid, received := squatter(t, e, lp)

	data, err := os.ReadFile(e.statePath())
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s*forward_pid\s*=\s*)` + strconv.Itoa(fwd) + `\s*$`)
	if !re.Match(data) {
		t.Fatalf("state file has no forward_pid = %d:\n%s", fwd, data)
	}
	if err := os.WriteFile(e.statePath(), re.ReplaceAll(data, []byte("${1}"+strconv.Itoa(pid))), 0o600); err != nil {
		t.Fatal(err)
	}

	if r := row(t, e.ls("hosta"), "hosta", "sq3"); r.State != "port taken" || r.URL != "" {
		t.Errorf("jt ls: sq3 is %q with url %q; want \"port taken\" and no URL", r.State, r.URL)
	}
	checkNothingReceived(t, lp, received)
	openMoved(t, e, "hosta", "sq3", lp, token)
	e.jt("close", "--name", "sq3", "hosta")
	checkNothingReceived(t, lp, received)
	if !pidAlive(pid) {
		t.Errorf("the other user's listener (pid %d) was signalled", pid)
	}
}
