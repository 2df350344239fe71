package e2e

// The scheduler tests written once: a cluster is what a test needs to know
// of one scheduler's test cluster, and each case is a function of it, run
// by one top-level test per scheduler (TestE2ESlurmX, TestE2ESGEX), so
// that each cluster's tests go to the worker that owns it (claimIn).

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// cluster is one scheduler's test cluster, as the tests see it.
type cluster struct {
	sched      string // the scheduler's name: the state's job.scheduler
	host       string // the login (submit) host; "" is hostA
	node       string // the compute node jobs run on
	need       func(t *testing.T)
	open       []string                                       // jt open's flags for a job here
	jobs       func(t *testing.T, user, name string) []string // "ID STATE…" of the user's jobs named jt-NAME
	clear      func(t *testing.T, user, name string)          // cancel what a failed test left, now and at its end
	endJob     func(t *testing.T, id string)                  // end a job from outside jt, as a time limit would
	fill       func(t *testing.T) (id string)                 // a job of the user's on every CPU of the node, running
	waiting    string                                         // the state of a job that waits for the node
	waitLine   string                                         // in jt's progress line while it waits
	waitReason func(stderr string) bool                       // the line says why it waits, in the scheduler's words
	ended      string                                         // what jt ls's job state of an ended job starts with
	// asked is the scheduler's own view of what job id asked for; of
	// --cpus 2 --mem 1G --time 10m it holds each of askedWant, and jt ls
	// each of gotWant; gpuRefusal is its words refusing --gpus 1.
	asked      func(t *testing.T, id string) string
	askedWant  []string
	gotWant    []string
	gpuRefusal string
}

var slurmCluster = cluster{
	sched: "slurm", node: slurmNode, need: needSlurm, open: []string{"--slurm"},
	jobs:  squeueJobs,
	clear: scancelSession,
	endJob: func(t *testing.T, id string) {
		if out, err := exec.Command("scancel", id).CombinedOutput(); err != nil {
			t.Fatalf("scancel %s: %v: %s", id, err, out)
		}
	},
	fill: func(t *testing.T) string {
		cpus := strings.TrimSpace(remote(t, hostA, "sinfo -h -n "+slurmNode+" -o %c\n"))
		id := strings.TrimSpace(remote(t, hostA, "cd /tmp && sbatch --parsable -J jt-fill -c "+cpus+" --wrap 'sleep 300'\n"))
		if !pollUntil(30*time.Second, func() bool {
			out, _ := exec.Command("squeue", "-h", "-j", id, "-o", "%T").Output()
			return strings.TrimSpace(string(out)) == "RUNNING"
		}) {
			t.Fatalf("the job filling %s does not run: %v", slurmNode, squeueJobs(t, userA, "fill"))
		}
		return id
	},
	waiting: "PENDING", waitLine: "PENDING (",
	waitReason: func(stderr string) bool {
		return strings.Contains(stderr, "PENDING (Priority)") || strings.Contains(stderr, "PENDING (Resources)")
	},
	ended: "CANCELLED",
	asked: func(t *testing.T, id string) string {
		out, err := exec.Command("squeue", "-h", "-j", id, "-o", "cpus=%C mem=%m time=%l").CombinedOutput()
		if err != nil {
			t.Fatalf("squeue -j %s: %v: %s", id, err, out)
		}
		return string(out)
	},
	askedWant:  []string{"cpus=2 mem=1G time=10:00"},
	gotWant:    []string{"cpus=2", "mem=1G", "time=10:00", "partition=debug"},
	gpuRefusal: "Invalid generic resource (gres) specification",
}

var sgeCluster = cluster{
	sched: "sge", node: sgeNode, need: needSGE, open: []string{"--scheduler", "sge"},
	jobs:  qstatJobs,
	clear: qdelSession,
	endJob: func(t *testing.T, id string) {
		if out, err := exec.Command("qdel", id).CombinedOutput(); err != nil {
			t.Fatalf("qdel %s: %v: %s", id, err, out)
		}
	},
	fill: func(t *testing.T) string {
		id := strings.TrimSpace(remote(t, hostA, "cd /tmp && qsub -terse -N jt-fill -pe smp 4 -b y sleep 300\n"))
		if !pollUntil(30*time.Second, func() bool {
			j := qstatJobs(t, userA, "fill")
			return len(j) == 1 && strings.HasPrefix(j[0], id+" r ")
		}) {
			t.Fatalf("the job filling %s does not run: %v", sgeNode, qstatJobs(t, userA, "fill"))
		}
		return id
	},
	waiting: "qw", waitLine: " qw (",
	// Grid Engine's scheduling info, once it has one ("queue instance …
	// dropped because it is full", or "no free queue" with -pe).
	waitReason: func(stderr string) bool { return strings.Contains(stderr, " qw (") },
	ended:      "exit ",
	asked: func(t *testing.T, id string) string {
		out, err := exec.Command("qstat", "-j", id).CombinedOutput()
		if err != nil {
			t.Fatalf("qstat -j %s: %v: %s", id, err, out)
		}
		return string(out)
	},
	// -pe smp 2, and h_vmem per slot: the 1G asked, shared out.
	askedWant:  []string{"h_vmem=512M", "h_rt=600", "parallel environment:  smp range: 2"},
	gotWant:    []string{"pe=smp", "slots=2", "h_vmem=512M", "h_rt=0:10:00"},
	gpuRefusal: `unknown resource "gpu"`,
}

// The HTCondor pool's submit host is a host of its own (condor_test.go).
var condorCluster = cluster{
	sched: "htcondor", node: condorNode, need: needCondor, host: hostCondor,
	// Debian 13's Jupyter has no classic notebook.
	open:  []string{"--scheduler", "htcondor", "--lab"},
	jobs:  condorJobs,
	clear: condorRemove,
	asked: func(t *testing.T, id string) string {
		return remote(t, hostCondor, "condor_q "+id+" -l\n")
	},
	askedWant:  []string{"RequestCpus = 2", "RequestMemory = 1024", "AllowedJobDuration = 600"},
	gotWant:    []string{"cpus=2", "memory=1024M", "duration=0:10:00"},
	gpuRefusal: "no machine of the pool meets its requirements (TARGET.GPUs >= RequestGPUs)",
}

// login is the host jobs of c are submitted from.
func (c cluster) login() string {
	if c.host == "" {
		return hostA
	}
	return c.host
}

// openJob is env.open in a job of c: the answer must name a job on its node.
func (e *env) openJob(c cluster, host, name string, extra ...string) openResult {
	e.t.Helper()
	r, _ := e.openArgs(host, name, append(append(append([]string{}, c.open...), append([]string{"--name", name}, extra...)...), host)...)
	if r.Job.ID == "" || r.Job.Node != c.node {
		e.t.Fatalf("jt open %s --json: incomplete answer %+v, want a job on %s", strings.Join(c.open, " "), r, c.node)
	}
	if c.sched == "slurm" && (r.SlurmJob != r.Job.ID || r.SlurmNode != r.Job.Node) {
		e.t.Errorf("jt open --slurm --json: slurm_job %q and slurm_node %q, want the job's %q and %q", r.SlurmJob, r.SlurmNode, r.Job.ID, r.Job.Node)
	}
	return r
}

// While the job waits for a full node, jt says why, in the scheduler's
// words, and jt ls HOST finds it queued though nothing records it yet;
// Ctrl-C cancels it, leaving nothing in the queue and nothing recorded.
func TestE2ESlurmQueuedInterrupt(t *testing.T) { queuedInterrupt(t, slurmCluster, "slurmq") }

func TestE2ESGEQueuedInterrupt(t *testing.T) { queuedInterrupt(t, sgeCluster, "sgeq") }

func queuedInterrupt(t *testing.T, c cluster, name string) {
	c.need(t)
	e := newEnv(t)
	c.clear(t, userA, name)
	c.clear(t, userA, "fill")
	c.fill(t)

	e.opened[[2]string{hostA, name}] = true
	b := startJT(t, e, append(append([]string{"open", "--no-browser"}, c.open...), "--name", name, hostA)...)
	if !pollUntil(30*time.Second, func() bool { return strings.Contains(b.stderr(), c.waitLine) || b.exited() }) || b.exited() {
		t.Fatalf("jt did not say why the job waits; stderr:\n%s", b.stderr())
	}
	if !c.waitReason(b.stderr()) {
		t.Errorf("stderr names no reason in %s's words:\n%s", c.sched, b.stderr())
	}
	jobs := c.jobs(t, userA, name)
	if len(jobs) != 1 || !strings.HasSuffix(jobs[0], " "+c.waiting) {
		t.Fatalf("the queue: %v, want one job waiting (%s)", jobs, c.waiting)
	}
	id := strings.Fields(jobs[0])[0]
	if !strings.Contains(b.stderr(), "job "+id+" ") {
		t.Errorf("stderr does not name job %s:\n%s", id, b.stderr())
	}
	if got := row(t, e.ls(hostA), hostA, name); got.State != "queued" || got.Job.ID != id || got.Recorded || got.JobState != c.waiting {
		t.Errorf("jt ls %s row %+v, want job %s queued (%s), not recorded", hostA, got, id, c.waiting)
	}

	b.interrupt()
	code, ok := b.wait(60 * time.Second)
	if !ok {
		t.Fatalf("jt did not exit after Ctrl-C; stderr:\n%s", b.stderr())
	}
	if code == 0 {
		t.Errorf("jt exited 0 after Ctrl-C")
	}
	if jobs := c.jobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after Ctrl-C, the queue still has %v", jobs)
	}
	if e.recorded(hostA, name) {
		t.Errorf("an interrupted open was recorded")
	}
	if f, _ := e.loadState(); strings.Contains(fmt.Sprint(f), name) {
		t.Errorf("state mentions %s: %+v", name, f)
	}
	t.Logf("jt open while the node is full, then Ctrl-C:\n%s", b.stderr())
}

// A job that ends under jt (a time limit, preemption, scancel or qdel)
// shows as job ended, with the scheduler's last word of it; jt open then
// submits anew.
func TestE2ESlurmJobEnded(t *testing.T) { jobEnded(t, slurmCluster, "slurmend") }

func TestE2ESGEJobEnded(t *testing.T) { jobEnded(t, sgeCluster, "sgeend") }

func jobEnded(t *testing.T, c cluster, name string) {
	c.need(t)
	e := newEnv(t)
	c.clear(t, userA, name)
	first := e.openJob(c, hostA, name)
	mustAnswer(t, first.URL)

	c.endJob(t, first.Job.ID)
	if !pollUntil(30*time.Second, func() bool { return len(c.jobs(t, userA, name)) == 0 }) {
		t.Fatalf("job %s still queued: %v", first.Job.ID, c.jobs(t, userA, name))
	}
	if got := row(t, e.ls(), hostA, name); got.State != "job ended" || got.Job.ID != first.Job.ID || !strings.HasPrefix(got.JobState, c.ended) {
		t.Errorf("jt ls row %+v, want job ended, job %s, %s…", got, first.Job.ID, c.ended)
	}
	if stdout, _ := e.jt("ls"); !strings.Contains(stdout, "job ended") || !strings.Contains(stdout, first.Job.ID+" "+c.ended) {
		t.Errorf("jt ls does not show job %s ended (%s…):\n%s", first.Job.ID, c.ended, stdout)
	}

	second := e.openJob(c, hostA, name)
	if second.Status != "started" || second.Job.ID == first.Job.ID {
		t.Errorf("open after the job ended: %+v, want a new job (not %s)", second, first.Job.ID)
	}
	mustAnswer(t, second.URL)
	if got := row(t, e.ls(), hostA, name); got.State != "up" || got.Job.ID != second.Job.ID {
		t.Errorf("jt ls row %+v, want up with job %s", got, second.Job.ID)
	}
}
