package e2e

// Issue 6, "Reliability under faults", end to end: the built jt against the
// real sshd of the harness (e2e_helpers_test.go), with the faults injected
// by the tests themselves: a master killed with SIGKILL, a connection frozen
// with SIGSTOP (a dead network), concurrent commands, Ctrl-C at each step of
// an open, a damaged, newer or unwritable state file, a Jupyter killed on the
// host and a remote port taken by someone else.
//
// Time bounds here only prove that a command did not hang (its own timeout
// plus a generous margin); they never measure speed.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	if n := strings.Count(keep.stderr(), "restored:"); ok && n == 0 {
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
// that no record names.
func TestE2EReliabMixedConcurrency(t *testing.T) {
	t.Run("idle", mixedConcurrency)
	t.Run("loaded", func(t *testing.T) {
		cpuLoad(t)
		mixedConcurrency(t)
	})
}

func mixedConcurrency(t *testing.T) {
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
			jobs = append(jobs, job{host, []string{"close", "--kill", "--name", n, host}})
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
	for _, r := range results {
		if r.code != 0 {
			t.Errorf("jt %s: exit %d (a concurrent command made it fail)\n%s", shellJoin(r.args), r.code, r.stderr)
		}
	}

	st, raw := e.mustState()
	t.Logf("state file after the commands:\n%s", raw)
	if st.SchemaVersion != 1 {
		t.Errorf("state file schema_version %d, want 1:\n%s", st.SchemaVersion, raw)
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

// 5. Ctrl-C at each step of a cold jt open takes back everything that
// open started: screen, Jupyter, forward and master. A second Ctrl-C quits
// at once, leaving a pending record that the next jt cleans up.
//
// The signal goes to jt's whole process group, as a terminal sends it. The
// steps are made wide enough to hit with a --cmd wrapper around Jupyter (a
// sleep before it starts, or a pause once it is up) — see relSlowStart and
// relFrozenReady.
func TestE2EReliabInterrupt(t *testing.T) {
	needE2E(t)
	// Each case uses its own env (its own masters) and session name on
	// hosta; no other session of this test holds hosta's master.
	//
	// The control socket appears: the master is bound, maybe not yet
	// daemonised (then the Ctrl-C to the group reaches it too).
	t.Run("master", func(t *testing.T) {
		e := newEnv(t)
		sock := e.controlSocket(hostA)
		relInterruptAt(t, e, "ia", nil, 0, func() bool {
			fi, err := os.Stat(sock)
			return err == nil && fi.Mode()&os.ModeSocket != 0
		}, 0) // a busy poll: ssh -f returns within milliseconds of binding it
	})
	// The master is daemonised and answers, but the ssh -f jt started has not
	// returned yet. On loopback that window lasts a few milliseconds (a 5 ms
	// poll of the socket hit it in 2 runs of 8); a JT_SSH wrapper that holds
	// a master start's return for 2 s hits it every time.
	t.Run("master-ready", func(t *testing.T) {
		e := newEnv(t)
		wrapper := slowMasterSSH(t, e)
		relInterruptAtEnv(t, e, []string{"JT_SSH=" + wrapper}, "ia2", nil, 0, func() bool {
			return e.masterRunning(hostA)
		}, 0)
	})
	t.Run("remote-start", func(t *testing.T) {
		e := newEnv(t)
		relInterruptAt(t, e, "ib", []string{"--cmd", relSlowStart}, 0, func() bool {
			return len(screenIDs(t, hostA, "ib")) > 0
		}, 0)
	})
	t.Run("forward", func(t *testing.T) {
		e := newEnv(t)
		lp := freePort(t)
		relInterruptAt(t, e, "ic", []string{"--cmd", relFrozenReady, "--local-port", strconv.Itoa(lp)}, lp, func() bool {
			return portListens(lp)
		}, 10*time.Millisecond)
	})

	// A second Ctrl-C: jt quits at once and leaves a pending record; the
	// next command on the host undoes that open.
	for _, next := range []string{"close", "open"} {
		t.Run("twice-then-"+next, func(t *testing.T) {
			e := newEnv(t)
			name := "id" + next
			e.opened[[2]string{hostA, name}] = true
			j := startJT(t, e, "open", "--no-browser", "--json", "--name", name, "--cmd", relSlowStart, hostA)
			if !pollUntil(60*time.Second, func() bool { return j.exited() || len(screenIDs(t, hostA, name)) > 0 }) || j.exited() {
				t.Fatalf("jt open never reached the remote start (exited %v)\n%s", j.exited(), j.stderr())
			}
			j.interrupt()
			if !pollUntil(10*time.Second, func() bool { return strings.Contains(j.stderr(), "again") || j.exited() }) {
				t.Fatalf("jt did not acknowledge the first Ctrl-C\n%s", j.stderr())
			}
			j.interrupt()
			code, done := j.wait(5 * time.Second)
			if !done {
				t.Fatalf("jt still runs 5 s after the second Ctrl-C\n%s", j.stderr())
			}
			if code != 130 {
				t.Errorf("jt after two Ctrl-C: exit %d, want 130\n%s", code, j.stderr())
			}
			st, raw := e.mustState()
			if !st.hasPending(hostA, name) {
				t.Fatalf("no [[pending]] record for %s %s after jt quit mid-open:\n%s", hostA, name, raw)
			}
			if next == "close" {
				if _, stderr, code := e.run("close", "--kill", "--all"); code != 0 {
					t.Errorf("jt close --kill --all after an interrupted open: exit %d\n%s", code, stderr)
				}
			} else {
				e.opened[[2]string{hostA, "idother"}] = true
				r := e.open(hostA, "idother")
				mustAnswer(t, r.URL)
			}
			if st, raw := e.mustState(); st.hasPending(hostA, name) {
				t.Errorf("the pending record of %s %s survives jt %s:\n%s", hostA, name, next, raw)
			}
			noRemoteTrace(t, hostA, name)
			if next == "close" {
				if !pollUntil(5*time.Second, func() bool { return !e.masterRunning(hostA) && len(jtMasters(e, hostA)) == 0 }) {
					t.Errorf("the master the interrupted open started survives jt close --kill --all: %v", jtMasters(e, hostA))
				}
			}
		})
	}
}

// relSlowStart is a --cmd (shell words, evaluated on the host, jt appends
// its flags) that waits 3 s before Jupyter starts: the window between the
// remote start and the server's readiness.
const relSlowStart = `sh -c 'sleep 3; exec jupyter notebook "$@"' sh`

// relFrozenReady starts Jupyter and, once it has written its runtime file
// (jt's script then answers and jt forwards), stops it for 8 s: the
// window between the forward and the first answer through it.
const relFrozenReady = `sh -c 'jupyter notebook "$@" & j=$!; while ! ls "$JUPYTER_RUNTIME_DIR"/nbserver-*.json >/dev/null 2>&1; do sleep 0.05; done; kill -STOP $j; sleep 8; kill -CONT $j; wait $j' sh`

// relInterruptAt starts a cold jt open of name on hosta, sends Ctrl-C once
// reached() says the step is reached, and checks that jt exits and leaves
// nothing behind (localPort, if not 0, not listening).
func relInterruptAt(t *testing.T, e *env, name string, extra []string, localPort int, reached func() bool, every time.Duration) {
	t.Helper()
	relInterruptAtEnv(t, e, nil, name, extra, localPort, reached, every)
}

// relInterruptAtEnv is relInterruptAt with variables added to jt's environment.
func relInterruptAtEnv(t *testing.T, e *env, vars []string, name string, extra []string, localPort int, reached func() bool, every time.Duration) {
	t.Helper()
	e.opened[[2]string{hostA, name}] = true
	args := append([]string{"open", "--no-browser", "--json", "--name", name}, extra...)
	j := startJTEnv(t, e, vars, append(args, hostA)...)
	deadline := time.Now().Add(60 * time.Second)
	for !reached() {
		if j.exited() {
			code, _ := j.wait(0)
			t.Fatalf("jt open exited (%d) before the step was reached\n%s%s", code, j.stdout(), j.stderr())
		}
		if time.Now().After(deadline) {
			t.Fatalf("the step was not reached within 60 s\n%s", j.stderr())
		}
		time.Sleep(every)
	}
	j.interrupt()
	// The undo has 30 s of its own.
	code, done := j.wait(45 * time.Second)
	if !done {
		t.Fatalf("jt open still runs 45 s after Ctrl-C\n%s", j.stderr())
	}
	switch code {
	case 130:
	case 1:
		t.Logf("jt exited 1 (it had finished the step); checking the cleanup anyway")
	default:
		t.Errorf("jt open after Ctrl-C: exit %d, want 130\nstdout: %s\nstderr: %s", code, j.stdout(), j.stderr())
	}
	noRemoteTrace(t, hostA, name)
	if !pollUntil(5*time.Second, func() bool { return !e.masterRunning(hostA) && len(jtMasters(e, hostA)) == 0 }) {
		t.Errorf("the master started by the interrupted open survives: -O check %v, processes %v", e.masterRunning(hostA), jtMasters(e, hostA))
	}
	if localPort > 0 && !pollUntil(5*time.Second, func() bool { return !portListens(localPort) }) {
		t.Errorf("local port %d still listens after the interrupted open", localPort)
	}
	st, raw := e.mustState()
	if len(st.Pending) > 0 || len(st.Sessions) > 0 {
		t.Errorf("state after an interrupted open should be empty:\n%s", raw)
	}
}

// slowMasterSSH writes a JT_SSH wrapper around the real ssh whose master
// starts (ssh -fN) return to jt 2 s after ssh did, and returns its path.
func slowMasterSSH(t *testing.T, e *env) string {
	t.Helper()
	ssh, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, "slow-ssh")
	script := "#!/bin/sh\n" + shellQuote(ssh) + ` "$@"
rc=$?
case " $* " in *" -fN "*) sleep 2 ;; esac
exit $rc
`
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// 6. Faults of the local state file.
func TestE2EReliabStateFaults(t *testing.T) {
	needE2E(t)
	t.Run("corrupt", func(t *testing.T) {
		e := newEnv(t)
		first := e.open(hostA, "sc")
		garbage := []byte("garbage [[[\nhost = \"hosta\"\n\x00\xff not toml = = \n")
		if err := os.WriteFile(e.statePath(), garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := e.run("ls", "--json", hostA)
		if code != 0 {
			t.Fatalf("jt ls with a damaged state file: exit %d\n%s", code, stderr)
		}
		aside := relAsideName(t, e, stderr)
		if !strings.Contains(stderr, hostA) {
			t.Errorf("the warning does not name the host found in the damaged file:\n%s", stderr)
		}
		if got, err := os.ReadFile(aside); err != nil || !bytes.Equal(got, garbage) {
			t.Errorf("%s holds %q (%v), want the damaged bytes %q", aside, got, err, garbage)
		}
		r := row(t, lsRows(t, stdout), hostA, "sc")
		if r.Recorded || r.PID != first.PID || r.State != "tunnel down" {
			t.Errorf("jt ls %s after the damage: %+v, want the running server (pid %d), recorded=false, tunnel down", hostA, r, first.PID)
		}
		again := e.open(hostA, "sc")
		if again.PID != first.PID || again.Status != "running" {
			t.Errorf("jt open after the damage: pid %d status %q, want pid %d running", again.PID, again.Status, first.PID)
		}
		mustAnswer(t, again.URL)
		if !e.recorded(hostA, "sc") {
			t.Errorf("the reattached session is not recorded again")
		}
	})

	// Two damaged files in a row (within the same second, the name of the
	// file moved aside being stamped to the second): neither is lost.
	t.Run("corrupt-twice", func(t *testing.T) {
		e := newEnv(t)
		if err := os.MkdirAll(filepath.Dir(e.statePath()), 0o700); err != nil {
			t.Fatal(err)
		}
		for try := 0; try < 5; try++ {
			// Start just after a second begins, to fit both in it.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
			from := time.Now().Unix()
			first := []byte(fmt.Sprintf("first damage %d [[[\n", try))
			second := []byte(fmt.Sprintf("second damage %d ]]]\n", try))
			os.WriteFile(e.statePath(), first, 0o600)
			_, stderr1, _ := e.run("url", hostA)
			os.WriteFile(e.statePath(), second, 0o600)
			_, stderr2, _ := e.run("url", hostA)
			sameSecond := time.Now().Unix() == from
			aside1, aside2 := relAsideName(t, e, stderr1), relAsideName(t, e, stderr2)
			if got, _ := os.ReadFile(aside2); !bytes.Equal(got, second) {
				t.Errorf("%s holds %q, want %q", aside2, got, second)
			}
			if got, _ := os.ReadFile(aside1); !bytes.Equal(got, first) {
				t.Fatalf("the first damaged file is lost: %s now holds %q, want %q (the second damaged file went to %s)", aside1, got, first, aside2)
			}
			if sameSecond {
				return
			}
		}
		t.Logf("could not fit two damaged files in one second; both were kept in every try")
	})

	t.Run("newer", func(t *testing.T) {
		e := newEnv(t)
		e.opened[[2]string{hostA, "sn"}] = true
		newer := []byte("schema_version = 99\n\n[[sessions]]\nhost = \"hosta\"\nname = \"future\"\nhologram = true\n")
		if err := os.MkdirAll(filepath.Dir(e.statePath()), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.statePath(), newer, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(e.statePath()) // so that the env's cleanup can run jt
		for _, args := range [][]string{
			{"open", "--no-browser", "--name", "sn", hostA},
			{"close", "--kill", "--all"},
		} {
			_, stderr, code := e.run(args...)
			if code == 0 {
				t.Errorf("jt %s with a state file from a newer jt: exit 0", strings.Join(args, " "))
			}
			if !strings.Contains(strings.ToLower(stderr), "upgrade") {
				t.Errorf("jt %s: the message does not say to upgrade jt:\n%s", strings.Join(args, " "), stderr)
			}
			if got, err := os.ReadFile(e.statePath()); err != nil || !bytes.Equal(got, newer) {
				t.Errorf("after jt %s the newer state file is %q (%v), want it unchanged", strings.Join(args, " "), got, err)
			}
		}
		if m, _ := filepath.Glob(e.statePath() + ".corrupt-*"); len(m) > 0 {
			t.Errorf("a newer state file was treated as damaged: %v", m)
		}
		noRemoteTrace(t, hostA, "sn")
	})

	t.Run("disk-full", func(t *testing.T) {
		e := newEnv(t)
		// The state directory on a 64 kB tmpfs of its own.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", e.State).CombinedOutput(); err != nil {
			missingReq(t, fmt.Sprintf("cannot mount a tmpfs (%v: %s)", err, out))
		}
		fill := filepath.Join(e.State, "fill")
		t.Cleanup(func() {
			// Before the env's cleanup (which needs a writable state file),
			// and the unmount after it.
			os.Remove(fill)
			e.run("close", "--kill", "--all")
			if out, err := exec.Command("umount", e.State).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", e.State, err, out)
			}
		})
		first := e.open(hostA, "fd1")
		before, err := os.ReadFile(e.statePath())
		if err != nil {
			t.Fatal(err)
		}
		if err := fillDisk(fill); err != nil {
			t.Fatalf("fill %s: %v", e.State, err)
		}

		e.opened[[2]string{hostA, "fd2"}] = true
		_, stderr, code := e.run("open", "--no-browser", "--json", "--name", "fd2", hostA)
		if code == 0 {
			t.Errorf("jt open with the state disk full: exit 0")
		}
		if !strings.Contains(stderr, "full") {
			t.Errorf("jt open with the state disk full does not say the disk is full:\n%s", stderr)
		}
		if got, err := os.ReadFile(e.statePath()); err != nil || !bytes.Equal(got, before) {
			t.Errorf("the state file changed with the disk full (%v):\nbefore:\n%s\nafter:\n%s", err, before, got)
		}
		noRemoteTrace(t, hostA, "fd2")
		mustAnswer(t, first.URL)

		if err := os.Remove(fill); err != nil {
			t.Fatal(err)
		}
		second := e.open(hostA, "fd2")
		mustAnswer(t, second.URL)
		if !e.recorded(hostA, "fd1") || !e.recorded(hostA, "fd2") {
			t.Errorf("after freeing space, both sessions should be recorded")
		}
	})
}

// relAsideName finds the state.toml.corrupt-… file jt's warning names.
func relAsideName(t *testing.T, e *env, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`\S*state\.toml\.corrupt-[0-9TZ]+(-[0-9]+)?`).FindString(stderr)
	if m == "" {
		t.Fatalf("no warning naming state.toml.corrupt-… on stderr:\n%s", stderr)
	}
	if filepath.Dir(m) != filepath.Dir(e.statePath()) {
		t.Errorf("the damaged file was moved to %s, not next to the state file", m)
	}
	return m
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

// fillDisk writes to path until the file system is full (ENOSPC).
func fillDisk(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := 0; i < 1<<20; i++ {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				// A last partial block, then nothing more fits.
				f.Write(buf[:1])
				return nil
			}
			return err
		}
	}
	return errors.New("never ran out of space")
}
