package e2e

// End-to-end tests of jt open --scheduler sge against a real Grid Engine
// cluster (scripts/sge-cluster): the box's sshd is the login side, and
// sgenode1 is another network host (its own network namespace), so a
// Jupyter bound to 127.0.0.1 there, or a forward to localhost, would fail.
// Jobs run as the test user, whose home the node shares (same files).
//
// The cluster is started when it is down and the tests run as root;
// without it they skip, and with JT_E2E=require they fail.

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sgeNode is the execution host scripts/sge-cluster makes, and its address.
const (
	sgeNode     = "sgenode1"
	sgeNodeAddr = "10.78.0.2"
)

var sgeStart sync.Once

// sgeUp says why the cluster cannot run jobs, or "".
func sgeUp() string {
	for _, bin := range []string{"qsub", "qstat", "qdel", "qhost"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin + " not found"
		}
	}
	if _, err := os.Stat("/run/netns/jtsge1"); err != nil {
		return sgeNode + " has no network namespace of its own"
	}
	out, err := exec.Command("qhost", "-h", sgeNode).CombinedOutput()
	for _, l := range lines(string(out)) {
		if f := strings.Fields(l); len(f) > 3 && f[0] == sgeNode && f[3] != "-" {
			return ""
		}
	}
	return fmt.Sprintf("qhost -h %s shows no live execution host (%v): %s", sgeNode, err, strings.TrimSpace(string(out)))
}

// needSGE starts the cluster if it is down (as root, once), then skips
// (or fails under JT_E2E=require) without a working one.
func needSGE(t *testing.T) {
	t.Helper()
	claimIn(t, "sge")
	needE2E(t)
	groupLock(t, "sge")
	if sgeUp() != "" && os.Geteuid() == 0 {
		sgeStart.Do(func() {
			if out, err := exec.Command("../scripts/sge-cluster", "start").CombinedOutput(); err != nil {
				t.Logf("scripts/sge-cluster start: %v: %s", err, out)
			}
		})
	}
	if why := sgeUp(); why != "" {
		missingReq(t, why+"; run scripts/sge-cluster start as root")
	}
}

// openSGE is env.open with --scheduler sge: the answer must name a job on
// the execution host.
func (e *env) openSGE(host, name string, extra ...string) openResult {
	e.t.Helper()
	r, _ := e.openArgs(host, name, append(append([]string{"--scheduler", "sge", "--name", name}, extra...), host)...)
	if r.Job.ID == "" || r.Job.Node != sgeNode {
		e.t.Fatalf("jt open --scheduler sge --json: incomplete answer %+v, want a job on %s", r, sgeNode)
	}
	return r
}

// qstatJobs lists the user's jobs named jt-NAME as "ID STATE QUEUE".
func qstatJobs(t *testing.T, user, name string) []string {
	t.Helper()
	out, err := exec.Command("qstat", "-u", user).CombinedOutput()
	if err != nil {
		t.Fatalf("qstat: %v: %s", err, out)
	}
	var jobs []string
	for _, l := range lines(string(out)) {
		f := strings.Fields(l)
		if len(f) >= 5 && f[2] == "jt-"+name {
			q := ""
			if len(f) >= 9 && strings.Contains(f[7], "@") {
				q = f[7]
			}
			jobs = append(jobs, strings.TrimSpace(f[0]+" "+f[4]+" "+q))
		}
	}
	return jobs
}

// qdelSession deletes whatever a failed test left of session name.
func qdelSession(t *testing.T, user, name string) {
	del := func() {
		for _, j := range qstatJobs(t, user, name) {
			exec.Command("qdel", strings.Fields(j)[0]).Run()
		}
	}
	t.Cleanup(del)
	del()
}

// A notebook in a Grid Engine job on sgenode1, used through the tunnel;
// jt ls shows the job, its node and time left; another laptop (a fresh
// state) and a dead master reattach to the same job and server; jt close
// --kill deletes the job.
func TestE2ESGEOpenReattachClose(t *testing.T) {
	needSGE(t)
	e := newEnv(t)
	name := "sge1"
	qdelSession(t, userA, name)

	// --tcp: the server on the host's address (TestE2ESGEPrivate has the socket).
	r, stderr := e.openArgs(hostA, name, "--tcp", "--scheduler", "sge", "--scheduler-args", "-l h_rt=600", "--name", name, hostA)
	t.Logf("jt open --scheduler sge --scheduler-args '-l h_rt=600' --name %s %s:\n%s", name, hostA, stderr)
	if r.Job.ID == "" || r.Job.Node != sgeNode {
		t.Fatalf("jt open --scheduler sge --json: incomplete answer %+v, want a job on %s", r, sgeNode)
	}
	if r.Status != "started" {
		t.Errorf("first open: status %q, want started", r.Status)
	}
	mustAnswer(t, r.URL)
	if got := kernelOutput(t, r.URL, "import socket; socket.gethostname()"); got != "'"+sgeNode+"'" {
		t.Errorf("the kernel runs on %s, want %s", got, sgeNode)
	}
	if jobs := qstatJobs(t, userA, name); len(jobs) != 1 || jobs[0] != r.Job.ID+" r all.q@"+sgeNode {
		t.Errorf("qstat: %v, want job %s running on all.q@%s", jobs, r.Job.ID, sgeNode)
	}
	_, token := parseURL(t, r.URL)
	for _, c := range cmdlinesWith(token) {
		t.Errorf("the token is on a command line: %q", c)
	}
	if self := netns(t, os.Getpid()); netns(t, r.PID) == self {
		t.Errorf("jupyter (pid %d) runs in the login side's network namespace", r.PID)
	}
	f, err := e.loadState()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sessions) != 1 {
		t.Fatalf("state has %d sessions, want 1", len(f.Sessions))
	}
	if s := f.Sessions[0]; s.Job.Scheduler != "sge" || s.Job.ID != r.Job.ID || s.RemoteHost != sgeNodeAddr || s.Job.End.Before(time.Now().Add(9*time.Minute)) || s.Job.End.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("state %+v; want job %s on %s (%s), ending in about 10 minutes", s, r.Job.ID, sgeNode, sgeNodeAddr)
	}
	if got := row(t, e.ls(), hostA, name); got.State != "up" || got.Job.ID != r.Job.ID || got.Job.Node != sgeNode || got.TimeLeft == "" {
		t.Errorf("jt ls row %+v, want up, job %s on %s with time left", got, r.Job.ID, sgeNode)
	}
	// jt logs finds the job's log in its run directory.
	if logs, _ := e.jt("logs", "--name", name, hostA); !strings.Contains(logs, "Jupyter") {
		t.Errorf("jt logs of the job shows no Jupyter log:\n%s", logs)
	}
	stdout, _ := e.jt("ls")
	t.Logf("jt ls:\n%s", stdout)
	if !strings.Contains(stdout, r.Job.ID) || !strings.Contains(stdout, sgeNode+":"+strconv.Itoa(r.RemotePort)) {
		t.Errorf("jt ls does not show job %s and %s:%d:\n%s", r.Job.ID, sgeNode, r.RemotePort, stdout)
	}

	// Another laptop: no state, the same user; jt ls HOST finds the job
	// (time left from h_rt and its start), jt open reattaches to it.
	other := newEnv(t)
	if got := row(t, other.ls(hostA), hostA, name); got.Recorded || got.Job.ID != r.Job.ID || got.JobState != "r" || !strings.HasPrefix(got.TimeLeft, "9m") {
		t.Errorf("jt ls %s from a fresh state: %+v, want job %s (r), not recorded, 9m… left", hostA, got, r.Job.ID)
	}
	away := other.openSGE(hostA, name)
	if away.Status != "running" || away.Job.ID != r.Job.ID || away.PID != r.PID {
		t.Errorf("open from a fresh state: %+v, want status running, job %s, pid %d", away, r.Job.ID, r.PID)
	}
	mustAnswer(t, away.URL)
	other.exitMaster(hostA)

	// The master dies (kill -9): the job and its server live on.
	pid := e.masterPID(hostA)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDead(t, pid)
	mustNotAnswer(t, r.URL)
	again := e.openSGE(hostA, name)
	if again.Status != "running" || again.Job.ID != r.Job.ID || again.PID != r.PID {
		t.Errorf("reattach: %+v, want status running, job %s, pid %d", again, r.Job.ID, r.PID)
	}
	mustAnswer(t, again.URL)

	_, stderr = e.jt("close", "--kill", "--name", name, hostA)
	if !strings.Contains(stderr, "cancelled job "+r.Job.ID) {
		t.Errorf("jt close --kill said %q", stderr)
	}
	if jobs := qstatJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, qstat still has %v", jobs)
	}
	if !pollUntil(10*time.Second, func() bool { return !pidAlive(r.PID) }) {
		t.Errorf("jupyter (pid %d) survives jt close --kill", r.PID)
	}
	if e.recorded(hostA, name) {
		t.Errorf("jt close --kill left the session recorded")
	}
	if out := remote(t, hostA, "ls -A \"$HOME/.local/state/jt/sge/\"; true\n"); strings.Contains(out, name) {
		t.Errorf("the session's files remain: %q", out)
	}
}

// What qsub refuses fails at once with its message, and leaves no job
// and no record; jt's own options are refused before anything runs.
func TestE2ESGERefused(t *testing.T) {
	needSGE(t)
	e := newEnv(t)
	name := "sgebad"
	qdelSession(t, userA, name)
	e.opened[[2]string{hostA, name}] = true
	for _, c := range []struct{ args, msg string }{
		{"-q nosuch", `unknown queue "nosuch"`},
		{"-l nosuch=1", `unknown resource "nosuch"`},
		{"-pe nosuch 2", `parallel environment "nosuch" does not exist`},
	} {
		start := time.Now()
		_, stderr, code := e.run("open", "--no-browser", "--scheduler", "sge", "--scheduler-args", c.args, "--name", name, hostA)
		t.Logf("%s: refused in %v", c.args, time.Since(start).Round(time.Millisecond))
		if code != 1 || !strings.Contains(stderr, "qsub refused the job") || !strings.Contains(stderr, c.msg) {
			t.Errorf("%s: exit %d, want 1 and qsub's %q:\n%s", c.args, code, c.msg, stderr)
		}
		if jobs := qstatJobs(t, userA, name); len(jobs) != 0 {
			t.Errorf("%s: qstat has %v", c.args, jobs)
		}
		if e.recorded(hostA, name) {
			t.Errorf("%s: a refused job was recorded", c.args)
		}
	}
	for _, args := range []string{"-N x", "-o /tmp/x", "-l", "gpu"} {
		if _, stderr, code := e.run("open", "--no-browser", "--scheduler", "sge", "--scheduler-args", args, "--name", name, hostA); code != 2 {
			t.Errorf("--scheduler-args %q: exit %d, %q; want 2 and a usage error", args, code, stderr)
		}
	}
}

// A held job (-h) is said to be held, with qrls in the hint; it stays in
// the queue, jt ls shows it queued, and jt close --kill deletes it.
func TestE2ESGEHeld(t *testing.T) {
	needSGE(t)
	e := newEnv(t)
	name := "sgeheld"
	qdelSession(t, userA, name)
	e.opened[[2]string{hostA, name}] = true
	_, stderr, code := e.run("open", "--no-browser", "--scheduler", "sge", "--scheduler-args=-h", "--name", name, hostA)
	jobs := qstatJobs(t, userA, name)
	if len(jobs) != 1 || !strings.HasSuffix(jobs[0], " hqw") {
		t.Fatalf("qstat: %v, want one held job", jobs)
	}
	id := strings.Fields(jobs[0])[0]
	if code != 1 || !strings.Contains(stderr, "job "+id+" is held (hqw)") || !strings.Contains(stderr, "qrls "+id) {
		t.Errorf("exit %d, want 1, job %s is held, and qrls in the hint:\n%s", code, id, stderr)
	}
	if got := row(t, e.ls(hostA), hostA, name); got.State != "queued" || got.Job.ID != id || got.JobState != "hqw" || got.JobReason != "Job is in hold state" {
		t.Errorf("jt ls %s row %+v, want job %s queued (hqw, in hold state)", hostA, got, id)
	}
	if _, stderr, code := e.run("close", "--kill", "--name", name, hostA); code != 0 || !strings.Contains(stderr, "cancelled job "+id) {
		t.Errorf("jt close --kill: exit %d: %s", code, stderr)
	}
	if jobs := qstatJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, qstat has %v", jobs)
	}
}

// A job in error state (Eqw: its directory does not exist on the node)
// fails with the reason from qstat -j and a hint; jt close --kill deletes it.
func TestE2ESGEErrorState(t *testing.T) {
	needSGE(t)
	e := newEnv(t)
	name := "sgeerr"
	qdelSession(t, userA, name)
	e.opened[[2]string{hostA, name}] = true
	_, stderr, code := e.run("open", "--no-browser", "--scheduler", "sge", "--scheduler-args", "-wd /nonexistent", "--name", name, hostA)
	jobs := qstatJobs(t, userA, name)
	if len(jobs) != 1 || !strings.HasSuffix(jobs[0], " Eqw") {
		t.Fatalf("qstat: %v, want one job in error state", jobs)
	}
	id := strings.Fields(jobs[0])[0]
	if code != 1 || !strings.Contains(stderr, "job "+id+" is in error state (Eqw): error: can't chdir to /nonexistent") || !strings.Contains(stderr, "qmod -cj "+id) {
		t.Errorf("exit %d, want 1, job %s in error state with qstat -j's reason, and qmod -cj in the hint:\n%s", code, id, stderr)
	}
	if got := row(t, e.ls(hostA), hostA, name); got.State != "queued" || got.Job.ID != id || got.JobState != "Eqw" || !strings.Contains(got.JobReason, "can't chdir to /nonexistent") {
		t.Errorf("jt ls %s row %+v, want job %s queued (Eqw) with its reason", hostA, got, id)
	}
	if _, stderr, code := e.run("close", "--kill", "--name", name, hostA); code != 0 || !strings.Contains(stderr, "cancelled job "+id) {
		t.Errorf("jt close --kill: exit %d: %s", code, stderr)
	}
	if jobs := qstatJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, qstat has %v", jobs)
	}
}

// jt doctor --scheduler sge checks the login node's Grid Engine: its
// commands, the cell, the qmaster, and that qsub would take the user's
// job (verified with qsub -w v, never submitted); a queue qsub does not
// know fails that check with qsub's words, and no job is left either way.
func TestE2ESGEDoctor(t *testing.T) {
	needSGE(t)
	e := newEnv(t)
	stdout, stderr, code := e.run("doctor", "--scheduler", "sge", "--scheduler-args", "-l h_rt=600", hostA)
	if code != 0 {
		t.Fatalf("jt doctor --scheduler sge: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"ok   qsub, qstat and qdel on ", "ok   cell default in SGE_ROOT ", "ok   qstat answers", "ok   qsub -w v -l h_rt=600: a job of yours would find a queue"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("doctor does not say %q:\n%s", want, stdout)
		}
	}
	stdout, _, code = e.run("doctor", "--scheduler", "sge", "--scheduler-args", "-q nosuch", hostA)
	if code != 1 || !strings.Contains(stdout, "FAIL qsub would refuse a job of yours (qsub -w v -q nosuch)") || !strings.Contains(stdout, `unknown queue "nosuch"`) {
		t.Errorf("doctor with an unknown queue: exit %d, want 1, a FAIL line and qsub's words:\n%s", code, stdout)
	}
	if jobs := qstatJobs(t, userA, "doctor"); len(jobs) != 0 {
		t.Errorf("jt doctor left jobs: %v", jobs)
	}
}
