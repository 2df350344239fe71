package e2e

// End-to-end tests of jt open --slurm against a real Slurm cluster
// (scripts/slurm-cluster): the box's sshd is the login node, and node1 is a
// different network host (its own network namespace), so a Jupyter bound
// to 127.0.0.1 there, or a forward to localhost, would fail. Jobs run as
// the test user, whose home the node shares (same files).
//
// Without the cluster these tests skip; with JT_E2E=require they fail.

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slurmNode is the compute node scripts/slurm-cluster makes, and its address.
const (
	slurmNode     = "node1"
	slurmNodeAddr = "10.77.0.2"
)

// needSlurm skips (or fails under JT_E2E=require) without a working cluster.
func needSlurm(t *testing.T) {
	t.Helper()
	claimIn(t, "slurm")
	needE2E(t)
	// One test at a time on the cluster: some fill its node or stop its sshd.
	groupLock(t, "slurm")
	for _, bin := range []string{"sbatch", "squeue", "scancel", "sinfo", "scontrol"} {
		if _, err := exec.LookPath(bin); err != nil {
			missingReq(t, bin+" not found (run scripts/slurm-cluster start as root)")
		}
	}
	if out, err := exec.Command("scontrol", "ping").CombinedOutput(); err != nil || !strings.Contains(string(out), "is UP") {
		missingReq(t, fmt.Sprintf("slurmctld does not answer (%v: %s); run scripts/slurm-cluster start", err, strings.TrimSpace(string(out))))
	}
	out, _ := exec.Command("sinfo", "-h", "-n", slurmNode, "-o", "%T").Output()
	switch st := strings.TrimSpace(string(out)); {
	case strings.HasPrefix(st, "idle"), strings.HasPrefix(st, "mixed"), strings.HasPrefix(st, "allocated"), strings.HasPrefix(st, "completing"):
	default:
		missingReq(t, fmt.Sprintf("node %s is %q, not up; run scripts/slurm-cluster start", slurmNode, st))
	}
	if _, err := os.Stat("/run/netns/jtnode1"); err != nil {
		missingReq(t, "node1 has no network namespace of its own; run scripts/slurm-cluster start")
	}
}

// openSlurm is env.open with --slurm: the answer must name a job on the node.
func (e *env) openSlurm(host, name string, extra ...string) openResult {
	e.t.Helper()
	r, _ := e.openArgs(host, name, append(append([]string{"--slurm", "--name", name}, extra...), host)...)
	if r.SlurmJob == "" || r.SlurmNode != slurmNode {
		e.t.Fatalf("jt open --slurm --json: incomplete answer %+v, want a job on %s", r, slurmNode)
	}
	return r
}

// squeueJobs lists the test user's jobs named jt-NAME in the default
// squeue states (queued, running, completing), as "ID STATE".
func squeueJobs(t *testing.T, user, name string) []string {
	t.Helper()
	out, err := exec.Command("squeue", "-h", "-u", user, "--name", "jt-"+name, "-o", "%i %T").CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v: %s", err, out)
	}
	return lines(string(out))
}

// scancelSession cancels whatever a failed test left of session name.
func scancelSession(t *testing.T, user, name string) {
	t.Cleanup(func() { exec.Command("scancel", "-u", user, "--name", "jt-"+name).Run() })
	exec.Command("scancel", "-u", user, "--name", "jt-"+name).Run()
}

// waitNoJob waits until job id has left squeue's default listing.
func waitNoJob(t *testing.T, user, name, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := false
		for _, j := range squeueJobs(t, user, name) {
			if strings.HasPrefix(j, id+" ") {
				left = true
			}
		}
		if !left {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still in squeue: %v", id, squeueJobs(t, user, name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A notebook in a Slurm job on node1, used through the tunnel;
// jt ls shows the job; a dead master is replaced and jt open reattaches to
// the same job and server; jt close --kill cancels the job.
func TestE2ESlurmOpenReattachClose(t *testing.T) {
	needSlurm(t)
	e := newEnv(t)
	name := "slurm1"
	scancelSession(t, userA, name)

	// --tcp: the server on the node's address (private_test.go has the socket).
	r := e.openSlurm(hostA, name, "--tcp", "--slurm-args", "--time=10 --cpus-per-task 1")
	if r.Status != "started" {
		t.Errorf("first open: status %q, want started", r.Status)
	}
	mustAnswer(t, r.URL)
	if got := runKernel(t, r.URL); got != "2" {
		t.Errorf("kernel evaluated 1+1 to %q, want 2", got)
	}
	// The job is the test user's, named jt-NAME, running on node1.
	out, err := exec.Command("squeue", "-h", "-j", r.SlurmJob, "-o", "%T|%j|%u|%N|%l").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "RUNNING|jt-"+name+"|"+userA+"|"+slurmNode+"|10:00" {
		t.Errorf("squeue -j %s: %q, %v; want RUNNING|jt-%s|%s|%s|10:00", r.SlurmJob, out, err, name, userA, slurmNode)
	}
	// The token is on no command line on the login node or the node (one
	// machine here: /proc shows both).
	_, token := parseURL(t, r.URL)
	for _, c := range cmdlinesWith(token) {
		t.Errorf("the token is on a command line: %q", c)
	}
	// Jupyter runs on the node: another network host, where it listens on
	// the node's address (127.0.0.1 there would be unreachable from here).
	if self := netns(t, os.Getpid()); netns(t, r.PID) == self {
		t.Errorf("jupyter (pid %d) runs in the login node's network namespace", r.PID)
	}
	f, err := e.loadState()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sessions) != 1 {
		t.Fatalf("state has %d sessions, want 1", len(f.Sessions))
	}
	if s := f.Sessions[0]; s.Job.Scheduler != "slurm" || s.Job.ID != r.SlurmJob || s.Job.Node != slurmNode || s.RemoteHost != slurmNodeAddr || s.Job.End.Before(time.Now().Add(9*time.Minute)) {
		t.Errorf("state %+v; want job %s on %s (%s), ending in about 10 minutes", s, r.SlurmJob, slurmNode, slurmNodeAddr)
	}

	// The version: notebook 6's runtime file says none, so jt asked the
	// server (GET /api) through the tunnel while it proved it.
	if got := row(t, e.ls(), hostA, name); got.State != "up" || got.SlurmJob != r.SlurmJob || got.SlurmNode != slurmNode || got.JobState != "RUNNING" || got.TimeLeft == "" || !strings.HasPrefix(got.Version, "notebook 6.") {
		t.Errorf("jt ls row %+v, want up, job %s RUNNING on %s with time left, version notebook 6.x", got, r.SlurmJob, slurmNode)
	}
	if stdout, _ := e.jt("ls"); !strings.Contains(stdout, r.SlurmJob+" RUNNING") || !strings.Contains(stdout, slurmNode+":"+strconv.Itoa(r.RemotePort)) {
		t.Errorf("jt ls does not show job %s and %s:%d:\n%s", r.SlurmJob, slurmNode, r.RemotePort, stdout)
	}

	// The master dies (kill -9): the job and its server live on, and jt
	// open --slurm reattaches to them from the queue.
	pid := e.masterPID(hostA)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDead(t, pid)
	mustNotAnswer(t, r.URL)
	if got := row(t, e.ls(), hostA, name); got.State != "tunnel down" || got.PID != r.PID {
		t.Errorf("after the master died: jt ls row %+v, want tunnel down with pid %d", got, r.PID)
	}
	again := e.openSlurm(hostA, name)
	if again.Status != "running" || again.SlurmJob != r.SlurmJob || again.PID != r.PID {
		t.Errorf("reattach: %+v, want status running, job %s, pid %d", again, r.SlurmJob, r.PID)
	}
	mustAnswer(t, again.URL)
	if jobs := squeueJobs(t, userA, name); len(jobs) != 1 {
		t.Errorf("jobs named jt-%s: %v, want only the first", name, jobs)
	}

	_, stderr := e.jt("close", "--kill", "--name", name, hostA)
	if !strings.Contains(stderr, "cancelled job "+r.SlurmJob) {
		t.Errorf("jt close --kill said %q", stderr)
	}
	if jobs := squeueJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, squeue still has %v", jobs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pidAlive(r.PID) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pidAlive(r.PID) {
		t.Errorf("jupyter (pid %d) survives jt close --kill", r.PID)
	}
	mustNotAnswer(t, again.URL)
	if e.recorded(hostA, name) {
		t.Errorf("jt close --kill left the session recorded")
	}
	if out := remote(t, hostA, "ls -A \"$HOME/.local/state/jt/slurm/\"; true\n"); strings.Contains(out, name) {
		t.Errorf("the session's files remain: %q", out)
	}
}

// A partition that does not exist: sbatch's message, a failure,
// no job and no record.
func TestE2ESlurmBadPartition(t *testing.T) {
	needSlurm(t)
	e := newEnv(t)
	name := "slurmbad"
	scancelSession(t, userA, name)
	e.opened[[2]string{hostA, name}] = true
	start := time.Now()
	_, stderr, code := e.run("open", "--no-browser", "--slurm", "--slurm-args", "--partition=nope --time=5", "--name", name, hostA)
	t.Logf("refused in %v", time.Since(start).Round(time.Millisecond))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, "invalid partition specified: nope") || !strings.Contains(stderr, "sbatch refused the job") {
		t.Errorf("stderr does not carry sbatch's message:\n%s", stderr)
	}
	if jobs := squeueJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("squeue has %v", jobs)
	}
	if e.recorded(hostA, name) {
		t.Errorf("a refused job was recorded")
	}
	// A mistake in the options is caught before anything runs (exit 2).
	if _, stderr, code := e.run("open", "--no-browser", "--slurm-args", "gpu", "--name", name, hostA); code != 2 || !strings.Contains(stderr, "not an option") {
		t.Errorf("--slurm-args gpu: exit %d, %q; want 2 and a usage error", code, stderr)
	}
}

// jt doctor --slurm checks the login node's Slurm: its commands, the
// controller, and sbatch --test-only with the options jt open would give
// (an unknown partition fails with sbatch's words); it submits nothing.
func TestE2ESlurmDoctor(t *testing.T) {
	needSlurm(t)
	e := newEnv(t)
	stdout, stderr, code := e.run("doctor", "--slurm", "--slurm-args", "--time=10", hostA)
	if code != 0 {
		t.Fatalf("jt doctor --slurm: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"ok   sbatch, squeue and scancel on ", "ok   squeue answers", "ok   sbatch --test-only --time=10: a job of yours would be accepted (to start at ", "on nodes " + slurmNode + " in partition debug"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("doctor does not say %q:\n%s", want, stdout)
		}
	}
	stdout, _, code = e.run("doctor", "--slurm", "--slurm-args", "-p nosuch", hostA)
	if code != 1 || !strings.Contains(stdout, "FAIL sbatch would refuse a job of yours (sbatch --test-only -p nosuch)") || !strings.Contains(stdout, "invalid partition specified: nosuch") {
		t.Errorf("doctor with an unknown partition: exit %d, want 1, a FAIL line and sbatch's words:\n%s", code, stdout)
	}
	if jobs := squeueJobs(t, userA, "doctor"); len(jobs) != 0 {
		t.Errorf("jt doctor left jobs: %v", jobs)
	}
}
