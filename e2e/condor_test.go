package e2e

// The HTCondor test pool, built and started by scripts/condor-pool (as
// root): the submit host condorcm (10.80.0.2, also the central manager)
// and the execute node condorex (10.80.0.3), each in its own network
// namespace, on an overlay of the trixie root. This file makes condorcm
// one more host of the harness, as trixie_test.go does the trixie host.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// What scripts/condor-pool makes.
const (
	condorRoot    = "/var/cache/jt/condor-root"
	condorAddr    = "10.80.0.2"
	condorNode    = "condorex"
	condorMaster  = "/run/jt-condor-condorcm.pid" // the submit host's condor_master
	userCondor    = "jtc1"
	userCondorOth = "jtcother"
	hostCondor    = "hostcondor"
)

var condor struct {
	once    sync.Once
	start   sync.Once
	err     error
	missing string
	ready   bool
}

// condorAliases are the pool's aliases once it is set up.
func condorAliases() []string {
	if !condor.ready {
		return nil
	}
	return []string{hostCondor}
}

// condorUp says why the pool cannot run jobs, or "".
func condorUp() string {
	if _, err := os.Stat(filepath.Join(condorRoot, "usr/bin/condor_submit")); err != nil {
		return "no HTCondor pool root at " + condorRoot
	}
	if !sshBanner(condorAddr + ":22") {
		return "no sshd on the pool's submit host " + condorAddr
	}
	if err := exec.Command("../scripts/condor-pool", "status").Run(); os.Geteuid() == 0 && err != nil {
		return "scripts/condor-pool status: the pool is down"
	}
	return ""
}

// needCondor starts the pool if it is down (as root, once), readies its
// users, and skips (or fails under JT_E2E=require) without a pool.
func needCondor(t *testing.T) {
	t.Helper()
	claimIn(t, "condor")
	needE2E(t)
	groupLock(t, "condor")
	if condorUp() != "" && os.Geteuid() == 0 {
		condor.start.Do(func() {
			if out, err := exec.Command("../scripts/condor-pool", "start").CombinedOutput(); err != nil {
				t.Logf("scripts/condor-pool start: %v: %s", err, out)
			}
		})
	}
	if why := condorUp(); why != "" {
		missingReq(t, why+"; run scripts/condor-pool start as root")
	}
	condor.once.Do(setupCondor)
	if condor.err != nil {
		t.Fatalf("condor pool setup: %v", condor.err)
	}
	if err := ownCondorUsers(); err != nil {
		t.Fatalf("condor pool users: %v", err)
	}
}

const condorOwnerPath = "/tmp/jt-e2e-group-condor.owner"

// ownCondorUsers resets the pool's users for this worker, as
// ownTrixieUsers does the trixie host's.
func ownCondorUsers() error {
	if b, err := os.ReadFile(condorOwnerPath); err == nil && string(b) == e2e.dir {
		return nil
	}
	pub, err := os.ReadFile(e2e.box.KeyPath + ".pub")
	if err != nil {
		return err
	}
	for _, u := range []string{userCondor, userCondorOth} {
		if err := resetUserIn(condorRoot, u, pub); err != nil {
			return fmt.Errorf("user %s: %w", u, err)
		}
	}
	return os.WriteFile(condorOwnerPath, []byte(e2e.dir), 0o600)
}

func setupCondor() {
	hostKey, err := os.ReadFile(filepath.Join(condorRoot, "etc/jt/condorcm/ssh_host_ed25519_key.pub"))
	f := strings.Fields(string(hostKey))
	if err != nil || len(f) < 2 {
		condor.err = fmt.Errorf("the submit host's key: %v %q", err, hostKey)
		return
	}
	known := filepath.Join(e2e.dir, "known_hosts_condor")
	if err := os.WriteFile(known, []byte(condorAddr+" "+f[0]+" "+f[1]+"\n"), 0o600); err != nil {
		condor.err = err
		return
	}
	cf, err := os.OpenFile(e2e.box.ConfigPath, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		condor.err = err
		return
	}
	defer cf.Close()
	_, condor.err = fmt.Fprintf(cf, `Host %s
  HostName %s
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  LogLevel ERROR
`, hostCondor, condorAddr, userCondor, e2e.box.KeyPath, known)
	condor.ready = condor.err == nil
}

// stopCondorUsers kills what the pool's users still run at the end.
func stopCondorUsers() {
	if !condor.ready {
		return
	}
	withGroup("condor", func() {
		if b, err := os.ReadFile(condorOwnerPath); err != nil || string(b) != e2e.dir {
			return
		}
		os.Remove(condorOwnerPath)
		remoteRun(hostCondor, "condor_rm -all >/dev/null 2>&1; true\n")
		for _, u := range []string{userCondor, userCondorOth} {
			if uid, _, _, err := passwdIn(condorRoot, u); err == nil {
				killUID(uid)
			}
		}
	})
}

// condorJobs lists the user's jobs of session name in the queue as
// "ID STATE" (JobStatus: 1 idle, 2 running, 5 held).
func condorJobs(t *testing.T, _ string, name string) []string {
	t.Helper()
	return lines(remote(t, hostCondor, fmt.Sprintf("condor_q -constraint 'JtSession =?= %q' -af ClusterId JobStatus\n", name)))
}

// condorRemove removes what a failed test left of session name.
func condorRemove(t *testing.T, _ string, name string) {
	rm := func() {
		remoteRun(hostCondor, fmt.Sprintf("condor_rm -constraint 'JtSession =?= %q' >/dev/null 2>&1; true\n", name))
	}
	t.Cleanup(rm)
	rm()
}

func TestE2ECondorResources(t *testing.T) { resources(t, condorCluster, "condres") }

// jt doctor --scheduler htcondor checks the commands, the schedd, the
// pool, and condor_submit -dry-run with the user's submit commands.
func TestE2ECondorDoctor(t *testing.T) {
	needCondor(t)
	e := newEnv(t)
	stdout, stderr := e.jt("doctor", "--lab", "--scheduler", "htcondor", "--scheduler-args", "request_disk=1G", hostCondor)
	for _, w := range []string{"condor_q answers: the schedd is reachable", "condor_status lists 1 slots", "condor_submit -dry-run request_disk=1G: a job of yours would be accepted"} {
		if !strings.Contains(stdout+stderr, w) {
			t.Errorf("jt doctor does not say %q:\n%s%s", w, stdout, stderr)
		}
	}
	stdout, stderr, code := e.run("doctor", "--lab", "--scheduler", "htcondor", "--scheduler-args", "request_disk=1Q", hostCondor)
	if code != 1 || !strings.Contains(stdout, "FAIL condor_submit would refuse a job of yours") || !strings.Contains(stdout, "Parse error in expression") {
		t.Errorf("jt doctor with a bad submit command: exit %d, want 1 and condor_submit's words:\n%s%s", code, stdout, stderr)
	}
}

// A JupyterLab in an HTCondor job on the execute node, in another network
// namespace than the submit host, reached privately through jt's hop to
// the node; with the masters killed, jt open reattaches to the same job
// and server; a held job (condor_hold) is said in one line with the
// reason and the fix; jt close --kill removes the job and leaves nothing.
func TestE2ECondorOpenReattachHoldClose(t *testing.T) {
	needCondor(t)
	e := newEnv(t)
	name := "cond1"
	condorRemove(t, userCondor, name)
	r := e.openJob(condorCluster, hostCondor, name)
	if r.Status != "started" || r.Exposure != "private" || r.Fallback != "" {
		t.Errorf("open: %+v, want started and private", r)
	}
	mustAnswer(t, r.URL)
	if got := kernelOutput(t, r.URL, "import socket; socket.gethostname()"); got != "'"+condorNode+"'" {
		t.Errorf("the kernel runs on %s, want %s", got, condorNode)
	}
	master, err := os.ReadFile(condorMaster)
	if err != nil {
		t.Fatal(err)
	}
	submit, _ := strconv.Atoi(strings.TrimSpace(string(master)))
	if ns := netns(t, r.PID); ns == netns(t, submit) || ns == netns(t, os.Getpid()) {
		t.Errorf("jupyter (pid %d) shares a network namespace with the submit host or this machine", r.PID)
	}
	s, ok := e.session(hostCondor, name)
	if !ok || s.Mode != "socket" || s.Job.Hop == "" || s.Job.Scheduler != "htcondor" {
		t.Fatalf("state %+v, want a socket on %s held by a node hop", s, condorNode)
	}
	if jobs := condorJobs(t, userCondor, name); len(jobs) != 1 || jobs[0] != r.Job.ID+" 2" {
		t.Errorf("condor_q: %v, want job %s running", jobs, r.Job.ID)
	}
	if got := row(t, e.ls(), hostCondor, name); got.State != "up" || got.Job.ID != r.Job.ID || got.Job.Node != condorNode {
		t.Errorf("jt ls row %+v, want up, job %s on %s", got, r.Job.ID, condorNode)
	}

	// Another laptop finds the job by its attributes and reattaches.
	other := newEnv(t)
	if got := row(t, other.ls(hostCondor), hostCondor, name); got.Recorded || got.Job.ID != r.Job.ID || got.JobState != "running" {
		t.Errorf("jt ls %s from a fresh state: %+v, want job %s running, not recorded", hostCondor, got, r.Job.ID)
	}
	away := other.openJob(condorCluster, hostCondor, name)
	if away.Status != "running" || away.Job.ID != r.Job.ID || away.PID != r.PID {
		t.Errorf("open from a fresh state: %+v, want status running, job %s, pid %d", away, r.Job.ID, r.PID)
	}
	other.exitMaster(hostCondor)

	// kill -9 of the masters (to the submit host, and the hop to the node).
	pids := append([]int{e.masterPID(hostCondor)}, hopMasters(e)...)
	if len(pids) < 2 {
		t.Errorf("masters %v, want the submit host's and the node hop's", pids)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitDead(t, pid)
	}
	mustNotAnswer(t, r.URL)
	again := e.openJob(condorCluster, hostCondor, name)
	if again.Status != "running" || again.Job.ID != r.Job.ID || again.PID != r.PID {
		t.Errorf("reattach: %+v, want status running, job %s, pid %d", again, r.Job.ID, r.PID)
	}
	mustAnswer(t, again.URL)

	// Held from outside: jt open says so, in one line, with the fix.
	remote(t, hostCondor, "condor_hold "+r.Job.ID+"\n")
	if !pollUntil(30*time.Second, func() bool {
		j := condorJobs(t, userCondor, name)
		return len(j) == 1 && j[0] == r.Job.ID+" 5"
	}) {
		t.Fatalf("job %s not held: %v", r.Job.ID, condorJobs(t, userCondor, name))
	}
	_, stderr, code := e.run(append(append([]string{"open", "--no-browser"}, condorCluster.open...), "--name", name, hostCondor)...)
	if code != 1 || strings.Count(stderr, "jt: error:") != 1 || !strings.Contains(stderr, "jt: error: job "+r.Job.ID+" is held: via condor_hold") ||
		!strings.Contains(stderr, "condor_release "+r.Job.ID) || !strings.Contains(stderr, "jt close --kill") {
		t.Errorf("open of a held job: exit %d, want 1 and one error line with the hold reason and condor_release:\n%s", code, stderr)
	}
	if got := row(t, e.ls(), hostCondor, name); got.State != "queued" || got.JobState != "held" || !strings.Contains(got.JobReason, "condor_hold") {
		t.Errorf("jt ls row %+v, want queued (held, via condor_hold)", got)
	}

	_, stderr = e.jt("close", "--kill", "--name", name, hostCondor)
	if !strings.Contains(stderr, "cancelled job "+r.Job.ID) {
		t.Errorf("jt close --kill said %q", stderr)
	}
	if jobs := condorJobs(t, userCondor, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, condor_q still has %v", jobs)
	}
	if !pollUntil(10*time.Second, func() bool { return !pidAlive(r.PID) }) {
		t.Errorf("jupyter (pid %d) survives jt close --kill", r.PID)
	}
	if !pollUntil(10*time.Second, func() bool { return len(hopMasters(e)) == 0 }) {
		t.Errorf("node masters left after jt close --kill: %v", hopMasters(e))
	}
	if e.recorded(hostCondor, name) {
		t.Errorf("jt close --kill left the session recorded")
	}
	if out := remote(t, hostCondor, "ls -A \"$HOME/.local/state/jt/htcondor/\" 2>/dev/null; condor_history "+r.Job.ID+" -limit 1 -af JobStatus RemoveReason\n"); strings.Contains(out, name) || !strings.Contains(out, "3 via condor_rm") {
		t.Errorf("after jt close --kill: %q, want no files of %s, and the job removed by condor_rm in condor_history", out, name)
	}
}
