package e2e

// What a new user types in the first hour, through the built jt and, where
// the shell matters, a real shell.

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The shell expands ~/proj to the local home before jt sees it; jt maps it
// to the remote home, and the server and its kernels run there.
func TestE2EFirstDirTilde(t *testing.T) {
	e := newEnv(t)
	local, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	remoteHome := e2e.box.Home(userA)
	if local == remoteHome {
		t.Fatalf("the local home and %s's home are both %s: this test needs them to differ", userA, local)
	}
	remote(t, hostA, "mkdir -p ~/proj")
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			name := "fcdir" + shell
			e.opened[[2]string{hostA, name}] = true
			stdout, stderr, code := e.shellRun(shell, "jt open --no-browser --json --name "+name+" --dir ~/proj "+hostA)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			want := "jt: --dir " + filepath.Join(local, "proj") + " is under your local home; using ~/proj on " + hostA
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr)
			}
			r, err := parseOpen(stdout)
			if err != nil {
				t.Fatalf("jt open --json printed %q: %v", stdout, err)
			}
			if r.Dir != remoteHome+"/proj" {
				t.Errorf("dir %q, want %q", r.Dir, remoteHome+"/proj")
			}
			if cwd := strings.TrimSpace(kernelOutput(t, r.URL, "import os; print(os.getcwd())")); cwd != remoteHome+"/proj" {
				t.Errorf("the kernel runs in %q, want %q", cwd, remoteHome+"/proj")
			}
		})
	}
}

// A laptop with no state (new, or a wiped home) stops every server that
// jt ls HOST finds.
func TestE2EFirstCloseAllWithoutState(t *testing.T) {
	e := newEnv(t)
	a := e.open(hostA, "fcall1")
	b := e.open(hostA, "fcall2", "--tcp")
	if err := os.Remove(e.statePath()); err != nil {
		t.Fatal(err)
	}
	rows := e.ls(hostA)
	for _, n := range []string{"fcall1", "fcall2"} {
		if r := row(t, rows, hostA, n); r.Recorded {
			t.Errorf("%s shows as recorded after the state file was removed", n)
		}
	}
	_, stderr := e.jt("close", "--kill", "--all", hostA)
	if strings.Contains(stderr, "nothing to close") {
		t.Errorf("jt close --kill --all said nothing to close:\n%s", stderr)
	}
	for _, r := range []openResult{a, b} {
		if remoteAlive(t, hostA, r.PID) {
			t.Errorf("jupyter %d of %s still runs after jt close --kill --all %s", r.PID, r.Name, hostA)
		}
		if pids := jupyterPIDs(t, hostA, r.Name); len(pids) > 0 {
			t.Errorf("session %s still has jupyter %v", r.Name, pids)
		}
	}
	for _, r := range e.ls(hostA) {
		if r.Name == "fcall1" || r.Name == "fcall2" {
			t.Errorf("jt ls %s still shows %+v", hostA, r)
		}
	}
}

// Global flags work after the command too, and the old name of
// --no-master still works, with a notice.
func TestE2EFirstGlobalFlagsAnywhere(t *testing.T) {
	e := newEnv(t)
	e.opened[[2]string{hostA, "fcnm"}] = true
	stdout, stderr, code := e.run("open", "--no-mux", "--no-browser", "--json", "--name", "fcnm", hostA, "--ssh-config", e2e.box.ConfigPath)
	if code != 0 {
		t.Fatalf("jt open --no-mux HOST --ssh-config FILE: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "jt: --no-mux (JT_NO_MUX) is now called --no-master (JT_NO_MASTER); the old name still works") {
		t.Errorf("no notice about the old name:\n%s", stderr)
	}
	r, err := parseOpen(stdout)
	if err != nil {
		t.Fatalf("jt open --json printed %q: %v", stdout, err)
	}
	mustAnswer(t, r.URL)
	if e.masterRunning(hostA) {
		t.Errorf("jt open --no-mux started a master")
	}
	f, err := e.loadState()
	if err != nil {
		t.Fatal(err)
	}
	direct := false
	for _, s := range f.Sessions {
		direct = direct || (s.Name == "fcnm" && s.Transport == "direct" && s.ForwardPID > 0)
	}
	if !direct {
		t.Errorf("the session should be recorded as direct (no master), with its forward's pid: %+v", f.Sessions)
	}
	// The new name, after the command, through a real shell.
	if _, stderr, code := e.shellRun("bash", "jt ls --json "+hostA+" --no-master"); code != 0 || strings.Contains(stderr, "now called") {
		t.Errorf("jt ls HOST --no-master: exit %d\n%s", code, stderr)
	}
}

// jt open and jt close --kill of the host's last session, together, 25
// times (and 25 more with every core busy, in the next test): each open
// succeeds or fails with a jt error that says why, never a raw ssh
// message, and the state file matches the host.
func TestE2EFirstOpenCloseRace(t *testing.T) { openCloseRace(t, false) }

func TestE2EFirstOpenCloseRaceLoaded(t *testing.T) { openCloseRace(t, true) }

func openCloseRace(t *testing.T, loaded bool) {
	e := newEnv(t)
	names := [2]string{"fcrace0", "fcrace1"}
	for _, n := range names {
		e.opened[[2]string{hostB, n}] = true
	}
	live := map[string]int{} // name → pid of what runs, as jt said
	r := e.open(hostB, names[0])
	live[names[0]] = r.PID
	for i := 0; i < 25; i++ {
		closing, opening := names[i%2], names[(i+1)%2]
		// Loaded: every core busy while the two commands race (the checks
		// after them run without the load, which would only slow them).
		stopLoad := func() {}
		if loaded {
			stopLoad = cpuLoad(t)
		}
		var wg sync.WaitGroup
		var cOut, cErr, oOut, oErr string
		var cCode, oCode int
		wg.Add(2)
		go func() {
			defer wg.Done()
			cOut, cErr, cCode = e.run("close", "--kill", "--name", closing, hostB)
		}()
		go func() {
			defer wg.Done()
			oOut, oErr, oCode = e.run("open", "--no-browser", "--json", "--name", opening, hostB)
		}()
		wg.Wait()
		stopLoad()
		_ = cOut
		if cCode != 0 {
			t.Fatalf("round %d: jt close --kill --name %s: exit %d\n%s", i, closing, cCode, cErr)
		}
		delete(live, closing)
		if oCode == 0 {
			r, err := parseOpen(oOut)
			if err != nil {
				t.Fatalf("round %d: jt open --json printed %q: %v", i, oOut, err)
			}
			mustAnswer(t, r.URL)
			live[opening] = r.PID
		} else {
			t.Logf("round %d: jt open failed (exit %d)", i, oCode)
			for _, l := range lines(oErr) {
				if !strings.HasPrefix(l, "jt: ") {
					t.Errorf("round %d: jt open failed with a line that is not jt's: %q\n%s", i, l, oErr)
				}
			}
			if !strings.Contains(oErr, "jt: error: ") {
				t.Errorf("round %d: jt open failed without saying why:\n%s", i, oErr)
			}
		}
		st, raw := e.mustState()
		if len(st.Pending) > 0 {
			t.Errorf("round %d: pending records after both commands ended:\n%s", i, raw)
		}
		var recorded []string
		for _, s := range st.Sessions {
			recorded = append(recorded, s.Name)
			if pid, ok := live[s.Name]; !ok || pid != s.PID {
				t.Errorf("round %d: recorded %s (pid %d), but jt said %v runs", i, s.Name, s.PID, live)
			}
		}
		if len(recorded) != len(live) {
			t.Errorf("round %d: recorded %v, but jt said %v runs:\n%s", i, recorded, live, raw)
		}
		for _, n := range names {
			pids := jupyterPIDs(t, hostB, n)
			if want, ok := live[n]; ok != (len(pids) > 0) || (ok && !slices.Contains(pids, want)) {
				t.Fatalf("round %d: on %s session %s has jupyter %v; jt said %v", i, hostB, n, pids, live)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// jt close --kill --all over several hosts whose masters are gone logs in
// to them side by side, asking nothing (BatchMode): one login per host,
// every server stopped, no master left.
func TestE2ECloseAllHostsParallel(t *testing.T) {
	e := newEnv(t)
	hosts := []string{hostA, hostB, hostZsh}
	opened := map[string]openResult{}
	for _, h := range hosts {
		opened[h] = e.open(h, "cpar")
	}
	before := map[string]int{}
	for _, h := range hosts {
		pid := e.masterPID(h)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 the master of %s (pid %d): %v", h, pid, err)
		}
		waitDead(t, pid)
		n, err := e2e.box.AuthCount(e2e.box.Users[h])
		if err != nil {
			t.Fatal(err)
		}
		before[h] = n
	}
	logPath := e.sshLogger()
	_, stderr := e.jt("close", "--kill", "--all")
	for _, h := range hosts {
		// Counted first: the checks below log in too.
		n, err := e2e.box.AuthCount(e2e.box.Users[h])
		if err != nil {
			t.Fatal(err)
		}
		if n != before[h]+1 {
			t.Errorf("%s: %d logins during jt close --kill --all, want 1", h, n-before[h])
		}
	}
	for _, h := range hosts {
		if !strings.Contains(stderr, h+" cpar: stopped jupyter (pid "+strconv.Itoa(opened[h].PID)+")") {
			t.Errorf("jt close --kill --all did not stop %s's server:\n%s", h, stderr)
		}
		if remoteAlive(t, h, opened[h].PID) {
			t.Errorf("jupyter %d on %s still runs after jt close --kill --all", opened[h].PID, h)
		}
		if e.masterRunning(h) {
			t.Errorf("the master of %s still runs after jt close --kill --all", h)
		}
	}
	quiet := 0
	for _, c := range sshCalls(t, logPath) {
		if slices.Contains(c, "-fN") {
			if !slices.Contains(c, "BatchMode=yes") {
				t.Errorf("a master started by jt close --kill --all over %d hosts may ask (no BatchMode):\n%s", len(hosts), formatCalls([][]string{c}))
			}
			quiet++
		}
	}
	if quiet != len(hosts) {
		t.Errorf("jt close --kill --all started %d masters, want %d:\n%s", quiet, len(hosts), formatCalls(sshCalls(t, logPath)))
	}
}
