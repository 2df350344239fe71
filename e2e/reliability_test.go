package e2e

// Reliability under faults, end to end: the built jt against the real
// sshd of the harness (harness_test.go), with the faults injected by the
// tests themselves: a master killed with SIGKILL, a connection frozen with
// SIGSTOP (a dead network), concurrent commands, Ctrl-C at each step of an
// open (reliability_interrupt_test.go), a damaged, newer or unwritable
// state file (reliability_state_test.go), a Jupyter killed on the host and
// a remote port taken by someone else.
//
// Time bounds here only prove that a command did not hang (its own timeout
// plus a generous margin); they never measure speed.

import (
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// noMuxFallback is what ssh prints when it finds a stale control socket
// under ControlMaster=yes and leaves a plain, non-multiplexed ssh instead.
const noMuxFallback = "disabling multiplexing"

// 1. A master killed with SIGKILL (OOM killer, kill -9) leaves a stale
// control socket. jt ls still tells the truth, and jt open replaces the
// master: exactly one master afterwards, the same server, and ssh never
// falls back to a connection without multiplexing.
func TestE2EReliabMasterKill9(t *testing.T) {
	e := newEnv(t)
	first := e.open(hostA, "mk")
	mustAnswer(t, first.URL)
	old := e.masterPID(hostA)
	if got := jtMasters(e, hostA); len(got) != 1 || got[0] != old {
		t.Fatalf("before the fault: masters of %s %v, want [%d]", hostA, got, old)
	}

	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the master (pid %d): %v", old, err)
	}
	waitDead(t, old)
	if _, err := os.Stat(e.controlSocket(hostA)); err != nil {
		t.Fatalf("precondition: the killed master should leave its control socket behind: %v", err)
	}

	// jt ls: the server runs, only the tunnel is gone.
	for _, args := range [][]string{{"ls", "--json"}, {"ls", "--json", hostA}} {
		stdout, stderr, code := e.run(args...)
		if code != 0 {
			t.Fatalf("jt %s after kill -9 of the master: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		r := row(t, lsRows(t, stdout), hostA, "mk")
		if r.State != "tunnel down" || r.PID != first.PID || !r.Recorded {
			t.Errorf("jt %s after kill -9 of the master: %+v, want recorded, tunnel down, pid %d", strings.Join(args, " "), r, first.PID)
		}
	}

	second := e.open(hostA, "mk")
	if second.PID != first.PID || second.Status != "running" {
		t.Errorf("jt open after kill -9 of the master: pid %d status %q, want pid %d running", second.PID, second.Status, first.PID)
	}
	mustAnswer(t, second.URL)
	masters := jtMasters(e, hostA)
	if len(masters) != 1 {
		t.Errorf("ssh -fN processes for %s after recovery: %v, want exactly one", hostA, masters)
	}
	if !e.masterRunning(hostA) {
		t.Errorf("no master answers ssh -O check after recovery")
	} else if now := e.masterPID(hostA); now == old || (len(masters) == 1 && masters[0] != now) {
		t.Errorf("master after recovery: -O check says pid %d, processes %v, killed one %d", now, masters, old)
	}
	if pids := jupyterPIDs(t, hostA, "mk"); len(pids) != 1 || pids[0] != first.PID {
		t.Errorf("remote jupyter of session mk: %v, want only [%d]", pids, first.PID)
	}

	// Everything is up again, and jt ls says so.
	stdout, _, _ := e.run("ls", "--json")
	if r := row(t, lsRows(t, stdout), hostA, "mk"); r.State != "up" {
		t.Errorf("jt ls after recovery: %q, want up", r.State)
	}
	// Every jt run of this test so far.
	for _, out := range e.outputs() {
		if strings.Contains(out, noMuxFallback) {
			t.Errorf("jt printed %q (ssh fell back to a connection without a master):\n%s", noMuxFallback, out)
		}
	}
}

// 2. A dead network behind a live master (its sshd frozen: -O check still
// answers, nothing comes back): jt ls says unreachable and returns; jt open
// --keep started meanwhile brings the tunnel back to the same server, does
// it again when the network dies under it, and stops on Ctrl-C leaving the
// server running.
func TestE2EReliabDeadNetworkKeep(t *testing.T) {
	e := newEnv(t)
	const name = "K"
	first := e.open(hostB, name)
	mustAnswer(t, first.URL)

	var frozen []int
	thaw := func() {
		for _, p := range frozen {
			syscall.Kill(p, syscall.SIGCONT)
		}
		frozen = nil
	}
	t.Cleanup(thaw)
	freeze := func() {
		t.Helper()
		pids := sshdPIDsOf(t, userB)
		if len(pids) == 0 {
			t.Fatalf("no sshd process serves %s", userB)
		}
		for _, p := range pids {
			if err := syscall.Kill(p, syscall.SIGSTOP); err != nil {
				t.Fatalf("SIGSTOP sshd %d: %v", p, err)
			}
			frozen = append(frozen, p)
		}
	}
	freeze()
	if !e.masterRunning(hostB) {
		t.Fatalf("precondition: the master answers -O check by itself even with its network dead")
	}

	start := time.Now()
	stdout, stderr, code := e.run("ls", "--json", "--timeout", "3s")
	if took := time.Since(start); took > 3*time.Second+30*time.Second {
		t.Errorf("jt ls --timeout 3s with a dead network took %v", took)
	}
	if code != 0 {
		t.Fatalf("jt ls with a dead network: exit %d\n%s", code, stderr)
	}
	if r := row(t, lsRows(t, stdout), hostB, name); r.State != "unreachable" {
		t.Errorf("jt ls with a dead network: session %s is %q, want unreachable", name, r.State)
	}

	keep := startJT(t, e, "open", "--keep", "--no-browser", "--name", name, hostB)
	// answersAgain: the URL in the state file answers, for the same server.
	answersAgain := func() (stateSession, bool) {
		s, ok := e.session(hostB, name)
		if !ok || s.PID != first.PID || s.LocalPort == 0 {
			return s, false
		}
		code, err := getStatus(s.url())
		return s, err == nil && code == 200
	}
	// The network stays dead while jt --keep starts (or for 45 s at most),
	// then comes back.
	restoredDead := pollUntil(45*time.Second, func() bool {
		_, ok := answersAgain()
		return ok || keep.exited()
	})
	thaw()
	t.Logf("the tunnel answered before the network came back: %v", restoredDead)
	if keep.exited() {
		code, _ := keep.wait(0)
		t.Fatalf("jt open --keep exited (%d) while it should keep the session open\n%s", code, keep.stderr())
	}
	if !pollUntil(60*time.Second, func() bool { _, ok := answersAgain(); return ok }) {
		s, _ := e.session(hostB, name)
		t.Fatalf("60 s after the network came back, session %s (state %+v) does not answer with pid %d\n%s", name, s, first.PID, keep.stderr())
	}

	// The network dies again under a running jt open --keep: it notices,
	// replaces the hung master and reattaches, without the network's help.
	hung := e.masterPID(hostB)
	restoredBefore := strings.Count(keep.stderr(), "restored:")
	freeze()
	ok := pollUntil(75*time.Second, func() bool {
		if _, ok := answersAgain(); !ok {
			return false
		}
		now, _, _ := e.masterCheck(hostB)
		return now > 0 && now != hung
	})
	thaw()
	if !ok {
		t.Errorf("jt open --keep did not restore session %s within 75 s of the network dying under it\n%s", name, keep.stderr())
	}
	// jt says so once its open has returned: the tunnel can answer a moment
	// before the line is written.
	said := pollUntil(15*time.Second, func() bool {
		return strings.Count(keep.stderr(), "restored:") > restoredBefore
	})
	if ok && !said {
		t.Errorf("jt open --keep restored the tunnel without saying so:\n%s", keep.stderr())
	}

	keep.interrupt()
	code, done := keep.wait(15 * time.Second)
	if !done {
		t.Fatalf("jt open --keep still runs 15 s after Ctrl-C\n%s", keep.stderr())
	}
	if code != 0 && code != 130 {
		t.Errorf("jt open --keep after Ctrl-C: exit %d, want 0 or 130\n%s", code, keep.stderr())
	}
	if !remoteAlive(t, hostB, first.PID) {
		t.Errorf("the server (pid %d) died when jt open --keep stopped", first.PID)
	}
	if pids := jupyterPIDs(t, hostB, name); len(pids) != 1 || pids[0] != first.PID {
		t.Errorf("remote jupyter of session %s: %v, want only [%d]", name, pids, first.PID)
	}
	// The hung masters are gone: one master for the host.
	if !pollUntil(15*time.Second, func() bool { return len(jtMasters(e, hostB)) == 1 }) {
		t.Errorf("ssh -fN processes for %s: %v, want exactly one", hostB, jtMasters(e, hostB))
	}
	if out := keep.stdout() + keep.stderr(); strings.Contains(out, noMuxFallback) {
		t.Errorf("jt open --keep printed %q:\n%s", noMuxFallback, out)
	}
}

// 3. Two concurrent cold opens of one session log in once (one master,
// shared) and start one server. TestE2EConcurrentOpen checks the server;
// this adds the logins, counted in sshd's own log.
func TestE2EReliabConcurrentOpenOneLogin(t *testing.T) {
	e := newEnv(t)
	const name = "c1"
	e.opened[[2]string{hostA, name}] = true
	before, err := e2e.box.AuthCount(userA)
	if err != nil {
		t.Fatal(err)
	}
	opened := openTogether(t, e, 2, hostA, name)
	// Counted before any helper of this test logs in by itself.
	after, err := e2e.box.AuthCount(userA)
	if err != nil {
		t.Fatal(err)
	}
	if after-before != 1 {
		t.Errorf("sshd accepted %d logins of %s for two concurrent opens, want 1", after-before, userA)
	}
	if len(opened) == 2 && opened[0].PID != opened[1].PID {
		t.Errorf("the two opens print pids %d and %d, want one server", opened[0].PID, opened[1].PID)
	}
	for _, o := range opened {
		mustAnswer(t, o.URL)
	}
	if got := jtMasters(e, hostA); len(got) != 1 {
		t.Errorf("ssh -fN processes for %s: %v, want one master", hostA, got)
	}
	if got := jupyterPIDs(t, hostA, name); len(got) != 1 {
		t.Errorf("remote jupyter of session %s: %v, want one", name, got)
	}
}

// 4. Twenty jt open and jt close --kill run at once over ten sessions on
// two hosts. Whatever order they ran in, the state file afterwards is valid
// and says exactly what runs: every record answers, every server on the
// hosts is recorded, no pending open is left, and no master holds a forward
// that no record names. Loaded: every core busy while the commands run (the
// checks after them run without the load, which would only slow them).
func TestE2EReliabMixedConcurrency(t *testing.T) {
	t.Run("idle", func(t *testing.T) { mixedConcurrency(t, false) })
	t.Run("loaded", func(t *testing.T) { mixedConcurrency(t, true) })
}

func mixedConcurrency(t *testing.T, loaded bool) {
	e := newEnv(t)
	type job struct {
		host string
		args []string
	}
	var jobs []job
	names := map[string]string{} // name → host
	for i := 0; i < 10; i++ {
		host := hostA
		if i >= 5 {
			host = hostB
		}
		n := "mx" + strconv.Itoa(i)
		names[n] = host
		e.opened[[2]string{host, n}] = true
		jobs = append(jobs, job{host, []string{"open", "--no-browser", "--json", "--name", n, host}})
		switch i % 5 {
		case 0, 1, 2: // closed (before or after it opens: the order is the race's)
			// Ten commands queue on each host's lock, and under load each
			// open holds it for seconds: a close may wait longer than its
			// default 30 s (meant for a user at a terminal) before its turn.
			jobs = append(jobs, job{host, []string{"close", "--kill", "--timeout", "3m", "--name", n, host}})
		default: // opened twice
			jobs = append(jobs, job{host, []string{"open", "--no-browser", "--json", "--name", n, host}})
		}
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	type result struct {
		args           []string
		stdout, stderr string
		code           int
	}
	results := make([]result, len(jobs))
	stopLoad := func() {}
	if loaded {
		stopLoad = cpuLoad(t)
	}
	var wg sync.WaitGroup
	for i, j := range jobs {
		delay := time.Duration(rng.Intn(400)) * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(delay)
			o, x, c := e.run(j.args...)
			results[i] = result{j.args, o, x, c}
		}()
	}
	wg.Wait()
	stopLoad()
	for _, r := range results {
		if r.code != 0 {
			t.Errorf("jt %s: exit %d (a concurrent command made it fail)\n%s", shellJoin(r.args), r.code, r.stderr)
		}
	}

	st, raw := e.mustState()
	t.Logf("state file after the commands:\n%s", raw)
	if st.SchemaVersion != 2 {
		t.Errorf("state file schema_version %d, want 2:\n%s", st.SchemaVersion, raw)
	}
	if len(st.Pending) > 0 {
		t.Errorf("pending records left after every command finished: %+v", st.Pending)
	}
	recorded := map[string]stateSession{}
	ports := map[int]string{}
	for _, s := range st.Sessions {
		key := s.Host + " " + s.Name
		if _, dup := recorded[key]; dup {
			t.Errorf("session %s recorded twice", key)
		}
		recorded[key] = s
		if s.LocalPort == 0 {
			t.Errorf("session %s recorded without a tunnel", key)
		} else if other, dup := ports[s.LocalPort]; dup {
			t.Errorf("sessions %s and %s share local port %d", other, key, s.LocalPort)
		}
		ports[s.LocalPort] = key
		if names[s.Name] != s.Host {
			t.Errorf("unexpected session %s in the state file", key)
		}
	}
	for _, host := range []string{hostA, hostB} {
		truth := remoteTruth(t, host)
		// Every record is true: its server runs and answers through its URL.
		for _, s := range st.Sessions {
			if s.Host != host {
				continue
			}
			if pids := truth.jupyter[s.Name]; len(pids) != 1 || pids[0] != s.PID {
				t.Errorf("%s %s recorded with pid %d; jupyter processes of that session on the host: %v", host, s.Name, s.PID, pids)
			}
			if code, err := getStatus(s.url()); err != nil || code != 200 {
				t.Errorf("%s %s: its recorded URL does not answer: %d, %v", host, s.Name, code, err)
			}
		}
		// Every server (and screen) of the host is recorded.
		for n, pids := range truth.jupyter {
			if _, ok := recorded[host+" "+n]; !ok {
				t.Errorf("%s: jupyter %v of session %s runs but is not recorded", host, pids, n)
			}
		}
		for n, ids := range truth.screens {
			if _, ok := recorded[host+" "+n]; !ok {
				t.Errorf("%s: screen %v of session %s runs but is not recorded", host, ids, n)
			}
		}
		for _, n := range truth.opening {
			t.Errorf("%s: session %s still has an opening file (an open script that never finished)", host, n)
		}
		// jt's own view agrees: nothing unrecorded, everything up.
		stdout, stderr, code := e.run("ls", "--json", host)
		if code != 0 {
			t.Errorf("jt ls %s: exit %d\n%s", host, code, stderr)
			continue
		}
		for _, r := range lsRows(t, stdout) {
			if !r.Recorded {
				t.Errorf("jt ls %s: session %s (pid %d, %s) runs on the host but is not recorded", host, r.Name, r.PID, r.State)
			} else if r.State != "up" {
				t.Errorf("jt ls %s: recorded session %s is %q, want up", host, r.Name, r.State)
			}
		}
		// One master per host, forwarding only recorded sessions.
		masters := jtMasters(e, host)
		if len(masters) > 1 {
			t.Errorf("ssh -fN processes for %s: %v, want at most one master", host, masters)
		}
		for p := range listeningPorts(masters) {
			if key, ok := ports[p]; !ok || !strings.HasPrefix(key, host+" ") {
				t.Errorf("the master of %s still forwards 127.0.0.1:%d, which no recorded session of it uses (%s)", host, p, relWhoAnswers(p, st.Sessions))
			}
		}
	}
}

// 7. Faults on the host: a Jupyter killed under jt, and a remote port taken
// by a program that is not Jupyter.
func TestE2EReliabRemoteFaults(t *testing.T) {
	needE2E(t)
	t.Run("jupyter-killed", func(t *testing.T) {
		e := newEnv(t)
		first := e.open(hostB, "rk")
		kill9(t, hostB, first.PID)
		if r := row(t, e.ls(), hostB, "rk"); r.State != "server dead" {
			t.Errorf("jt ls after kill -9 of jupyter: %q, want server dead", r.State)
		}
		second := e.open(hostB, "rk")
		if second.PID == first.PID || second.Status != "started" {
			t.Errorf("jt open after kill -9 of jupyter: pid %d status %q, want a new server (not %d), started", second.PID, second.Status, first.PID)
		}
		mustAnswer(t, second.URL)
		if pids := jupyterPIDs(t, hostB, "rk"); len(pids) != 1 || pids[0] != second.PID {
			t.Errorf("remote jupyter of session rk: %v, want only [%d]", pids, second.PID)
		}
		if ids := screenIDs(t, hostB, "rk"); len(ids) != 1 {
			t.Errorf("screen sessions jt-rk: %v, want one", ids)
		}
	})

	t.Run("port-taken", func(t *testing.T) {
		e := newEnv(t)
		port, accepts := foreignListener(t, hostA)
		r := e.open(hostA, "F", "--tcp")
		if r.RemotePort == 0 || r.RemotePort == port {
			t.Errorf("jt open --tcp with 127.0.0.1:%d taken: remote_port %d, want another port", port, r.RemotePort)
		}
		mustAnswer(t, r.URL)
		if got := accepts(); got != "" {
			t.Errorf("the foreign listener on port %d was contacted:\n%s", port, got)
		}

		e.opened[[2]string{hostA, "F2"}] = true
		_, stderr, code := e.run("open", "--no-browser", "--json", "--name", "F2", "--port", strconv.Itoa(port), hostA)
		if code == 0 {
			t.Errorf("jt open --port %d with the port taken: exit 0", port)
		}
		if !strings.Contains(stderr, "in use") || !strings.Contains(stderr, strconv.Itoa(port)) {
			t.Errorf("jt open --port %d with the port taken does not say the port is in use:\n%s", port, stderr)
		}
		if e.recorded(hostA, "F2") {
			t.Errorf("a session that failed to start was recorded")
		}
		if st, raw := e.mustState(); len(st.Pending) > 0 {
			t.Errorf("pending record left by a failed open:\n%s", raw)
		}
		noRemoteTrace(t, hostA, "F2")
		if got := accepts(); got != "" {
			t.Errorf("the foreign listener on port %d was contacted:\n%s", port, got)
		}
	})
}

// foreignListener starts, as host's user, a TCP listener on the first port
// from 8888 that nothing listens on (the port jt would take) and returns
// the port and a function that returns its log of accepted connections.
// It is stopped at the end of the test.
func foreignListener(t *testing.T, host string) (int, func() string) {
	t.Helper()
	const prog = `import os, socket, sys
port_file, log_file = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for p in range(8888, 9100):
    try:
        s.bind(("127.0.0.1", p))
        break
    except OSError:
        pass
s.listen(64)
open(log_file, "w").close()
with open(port_file + ".tmp", "w") as f:
    f.write(str(p))
os.rename(port_file + ".tmp", port_file)
while True:
    c, a = s.accept()
    c.settimeout(1)
    try:
        data = c.recv(200)
    except OSError:
        data = b""
    with open(log_file, "a") as f:
        f.write("accept %r %r\n" % (a, data[:80]))
    c.close()
`
	script := `d=$HOME/.jt-foreign
rm -rf "$d"; mkdir -p "$d"
cat >"$d/listen.py" <<'EOF'
` + prog + `EOF
nohup setsid python3 "$d/listen.py" "$d/port" "$d/log" >"$d/out" 2>&1 </dev/null &
echo $! >"$d/pid"
n=0
while [ ! -s "$d/port" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
cat "$d/port" 2>/dev/null || cat "$d/out"
`
	out := strings.TrimSpace(remote(t, host, script))
	port, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("the foreign listener did not start: %q", out)
	}
	t.Cleanup(func() {
		remoteRun(host, `d=$HOME/.jt-foreign; kill "$(cat "$d/pid")"; rm -rf "$d"`+"\n")
	})
	return port, func() string {
		return remote(t, host, `cat "$HOME/.jt-foreign/log"`+"\n")
	}
}

// --- helpers of this file ---

// relWhoAnswers says which recorded session's server, if any, answers on
// local port p with its token: a leaked forward to a live server.
func relWhoAnswers(p int, sessions []stateSession) string {
	for _, s := range sessions {
		u := s
		u.LocalPort = p
		if code, err := getStatus(u.url()); err == nil && code == 200 {
			return "it reaches the server of " + s.Host + " " + s.Name
		}
	}
	if portListens(p) {
		return "it reaches no recorded server"
	}
	return "nothing answers on it"
}
