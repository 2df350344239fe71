package e2e

// The clock of a session: jt open --idle (jt's watcher releases what
// nothing uses, through Jupyter's API) on a plain host and in a Slurm job, with a session kept busy
// beside them; the keeper's warnings before a job's end; and the start
// estimate of a queued job.

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// --idle 60s: an idle server on the host and an idle Slurm job stop by
// themselves (jt ls: stopped (idle); squeue empty), while a server whose
// kernel runs code every 20s lives on past the limit. Meanwhile a 3-minute
// job kept with --keep --warn gets its warnings, and jt ls marks it as
// ending soon. All in one run, the sessions side by side.
func TestE2EClockIdleAndWarn(t *testing.T) {
	needSlurm(t)
	e := newEnv(t)
	for _, n := range []string{"slidle", "slwarn"} {
		scancelSession(t, userA, n)
	}
	begin := time.Now()
	idle := e.open(hostA, "idle1", "--idle", "60s")
	busy := e.open(hostA, "busy1", "--idle", "60s")
	busyAt := time.Now()
	slidle := e.openSlurm(hostA, "slidle", "--idle", "60s", "--slurm-args", "--time=10 -c 1")
	e.opened[[2]string{hostA, "slwarn"}] = true
	keep := startJT(t, e, "open", "--no-browser", "--slurm", "--name", "slwarn", "--keep", "--warn", "170s,140s",
		"--slurm-args", "--time=3 -c 1", hostA)

	// Jupyter's own culler is off; jt's watcher runs beside the server,
	// with no token on its command line.
	if out, err := exec.Command("ps", "-o", "args=", "-p", strconv.Itoa(idle.PID)).Output(); err != nil ||
		strings.Contains(string(out), "cull_") || strings.Contains(string(out), "shutdown_no_activity") {
		t.Errorf("jupyter's command line: %q, %v", out, err)
	}
	_, token := parseURL(t, idle.URL)
	if !pollUntil(20*time.Second, func() bool {
		out, _ := exec.Command("ps", "-ww", "-eo", "args=").Output()
		for _, l := range lines(string(out)) {
			if strings.Contains(l, "idlewatch.py") && strings.Contains(l, "/sessions/idle1 ") && strings.HasSuffix(l, " "+strconv.Itoa(idle.PID)+" 127.0.0.1 60") {
				if strings.Contains(l, token) {
					t.Errorf("the watcher's command line holds the token: %q", l)
				}
				return true
			}
		}
		return false
	}) {
		t.Errorf("no idle watcher runs for idle1")
	}
	if got := row(t, e.ls(), hostA, "idle1"); got.State != "up" || got.Idle == "" {
		t.Errorf("jt ls row %+v, want up with an idle time", got)
	}

	warned := func() int { return strings.Count(keep.stderr(), "; save your work") }
	idleGone, slidleGone, soonSeen := false, false, false
	lastKernel := time.Time{}
	deadline := begin.Add(4 * time.Minute)
	for !(idleGone && slidleGone && warned() >= 2 && time.Since(busyAt) > 130*time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: idle server gone %v, idle job gone %v, %d warnings, busy for %v; keeper:\n%s",
				time.Since(begin).Round(time.Second), idleGone, slidleGone, warned(), time.Since(busyAt).Round(time.Second), keep.stderr())
		}
		if time.Since(lastKernel) >= 20*time.Second {
			if got := kernelOutput(t, busy.URL, "print(6*7)"); got != "42\n" {
				t.Errorf("the busy kernel printed %q", got)
			}
			lastKernel = time.Now()
		}
		if !idleGone && !pidAlive(idle.PID) {
			idleGone = true
			t.Logf("the idle server stopped %v after its open", time.Since(begin).Round(time.Second))
		}
		if !soonSeen && warned() >= 1 {
			// Its job has under 15 minutes left: jt ls says so.
			if got := row(t, e.ls(), hostA, "slwarn"); got.State != "up" || !got.EndsSoon {
				t.Errorf("kept 3-minute job: jt ls row %+v, want up and ending soon", got)
			}
			if stdout, _ := e.jt("ls"); !strings.Contains(stdout, "ending soon") {
				t.Errorf("jt ls:\n%s", stdout)
			}
			soonSeen = true
		}
		if !slidleGone && len(squeueJobs(t, userA, "slidle")) == 0 {
			slidleGone = true
			t.Logf("the idle job ended %v after its open", time.Since(begin).Round(time.Second))
		}
		time.Sleep(time.Second)
	}
	// The busy server outlived two of Jupyter's minute checks past its limit.
	mustAnswer(t, busy.URL)
	if !pidAlive(busy.PID) {
		t.Errorf("the busy server (pid %d) is gone", busy.PID)
	}
	rows := e.ls()
	if got := row(t, rows, hostA, "idle1"); got.State != "stopped (idle)" {
		t.Errorf("idle server: jt ls row %+v, want stopped (idle)", got)
	}
	if got := row(t, rows, hostA, "slidle"); got.State != "stopped (idle)" || got.SlurmJob != slidle.SlurmJob {
		t.Errorf("idle job: jt ls row %+v, want stopped (idle), job %s", got, slidle.SlurmJob)
	}
	if got := row(t, rows, hostA, "busy1"); got.State != "up" {
		t.Errorf("busy server: jt ls row %+v, want up", got)
	}
	if stdout, _ := e.jt("ls"); !strings.Contains(stdout, "stopped (idle)") || !strings.Contains(stdout, ", idle ") {
		t.Errorf("jt ls:\n%s", stdout)
	}
	// The keeper's two warnings, the 170s point first, each once.
	var ws []string
	for _, l := range lines(keep.stderr()) {
		if strings.Contains(l, "; save your work") {
			ws = append(ws, l)
		}
	}
	if len(ws) != 2 {
		t.Fatalf("keeper warnings %q, want 2", ws)
	}
	for i, max := range []time.Duration{170 * time.Second, 140 * time.Second} {
		_, rest, _ := strings.Cut(ws[i], " ends in ")
		d, err := time.ParseDuration(strings.Fields(rest)[0])
		if err != nil || d > max || d <= 0 || !strings.Contains(ws[i], "session slwarn on "+hostA+": job ") {
			t.Errorf("warning %d: %q, want the job's time left, at most %v", i, ws[i], max)
		}
	}
	keep.interrupt()
	if _, ok := keep.wait(30 * time.Second); !ok {
		t.Errorf("the keeper did not stop on Ctrl-C")
	}
	t.Logf("took %v", time.Since(begin).Round(time.Second))
}

// With node1 busy, a queued job's line says when Slurm expects it to
// start, and "no start estimate" while Slurm has none: first the job in
// the way has no time limit (nothing to plan with), then it gets one.
func TestE2ESlurmStartEstimate(t *testing.T) {
	needSlurm(t)
	e := newEnv(t)
	name := "slurmest"
	scancelSession(t, userA, name)
	scancelSession(t, userA, "fill")
	begin := time.Now()
	cpus := strings.TrimSpace(remote(t, hostA, "sinfo -h -n "+slurmNode+" -o %c\n"))
	fill := strings.TrimSpace(remote(t, hostA, "cd /tmp && sbatch --parsable -J jt-fill -c "+cpus+" --time=UNLIMITED --wrap 'sleep 600'\n"))
	if !pollUntil(30*time.Second, func() bool {
		out, _ := exec.Command("squeue", "-h", "-j", fill, "-o", "%T").Output()
		return strings.TrimSpace(string(out)) == "RUNNING"
	}) {
		t.Fatalf("the job filling %s does not run", slurmNode)
	}
	e.opened[[2]string{hostA, name}] = true
	b := startJT(t, e, "open", "--no-browser", "--slurm", "--name", name, "--slurm-args", "--time=2 -c 1", hostA)
	waitFor := func(what string) {
		t.Helper()
		if !pollUntil(90*time.Second, func() bool { return strings.Contains(b.stderr(), what) || b.exited() }) || b.exited() {
			t.Fatalf("jt open never said %q; stderr:\n%s", what, b.stderr())
		}
	}
	waitFor("no start estimate")
	if got := row(t, e.ls(hostA), hostA, name); got.State != "queued" || got.JobStart != "no estimate" {
		t.Errorf("jt ls row %+v, want queued with no estimate", got)
	}
	// Now the job in the way ends in 5 minutes: Slurm can plan.
	if out, err := exec.Command("scontrol", "update", "JobId="+fill, "TimeLimit=5").CombinedOutput(); err != nil {
		t.Fatalf("scontrol update: %v: %s", err, out)
	}
	waitFor("(the scheduler's estimate)")
	got := row(t, e.ls(hostA), hostA, name)
	if got.State != "queued" || !strings.HasPrefix(got.JobStart, "in ") {
		t.Errorf("jt ls row %+v, want queued with a start estimate", got)
	} else if d, err := time.ParseDuration(strings.TrimPrefix(got.JobStart, "in ")); err != nil || d > 5*time.Minute {
		t.Errorf("start estimate %q: want at most the 5 minutes left of the job in the way", got.JobStart)
	}
	if stdout, _ := e.jt("ls", hostA); !strings.Contains(stdout, "starts in ") {
		t.Errorf("jt ls %s:\n%s", hostA, stdout)
	}
	b.interrupt()
	if _, ok := b.wait(60 * time.Second); !ok {
		t.Fatalf("jt did not exit after Ctrl-C")
	}
	if jobs := squeueJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after Ctrl-C, squeue still has %v", jobs)
	}
	t.Logf("took %v", time.Since(begin).Round(time.Second))
}
