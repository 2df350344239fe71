package e2e

// Reliability under faults, continued (reliability_test.go): Ctrl-C at
// each step of an open.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
