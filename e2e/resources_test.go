package e2e

import (
	"strings"
	"testing"
)

// jt's resource options reach each scheduler as its own options (read
// back from the scheduler), and jt ls shows what the job got; --gpus 1 on
// a cluster without GPUs is refused by the scheduler, in its words, with
// jt's one-line hint, and nothing is left queued.
func TestE2ESlurmResources(t *testing.T) { resources(t, slurmCluster, "slurmres") }

func TestE2ESGEResources(t *testing.T) { resources(t, sgeCluster, "sgeres") }

func resources(t *testing.T, c cluster, name string) {
	c.need(t)
	e := newEnv(t)
	hostA := c.login()
	// Grid Engine gives CPUs as slots of a parallel environment; Slurm
	// reads no parallel_env.
	e.useConfig("[defaults]\nparallel_env = \"smp\"\n")
	c.clear(t, userA, name)
	r := e.openJob(c, hostA, name, "--cpus", "2", "--mem", "1G", "--time", "10m")
	mustAnswer(t, r.URL)
	asked := c.asked(t, r.Job.ID)
	for _, w := range c.askedWant {
		if !strings.Contains(asked, w) {
			t.Errorf("%s's view of job %s lacks %q:\n%s", c.sched, r.Job.ID, w, asked)
		}
	}
	got := row(t, e.ls(), hostA, name)
	for _, w := range c.gotWant {
		if !strings.Contains(" "+got.Resources+" ", " "+w+" ") {
			t.Errorf("jt ls resources %q, want %s", got.Resources, w)
		}
	}
	if stdout, _ := e.jt("ls"); !strings.Contains(stdout, "RESOURCES") || !strings.Contains(stdout, c.gotWant[0]) {
		t.Errorf("jt ls shows no resources:\n%s", stdout)
	}
	e.jt("close", "--kill", "--name", name, hostA)

	gpu := name + "g"
	c.clear(t, userA, gpu)
	_, stderr, code := e.run(append(append([]string{"open", "--no-browser"}, c.open...), "--gpus", "1", "--name", gpu, hostA)...)
	if code == 0 || !strings.Contains(stderr, c.gpuRefusal) || !strings.Contains(stderr, "jt: hint:") || !strings.Contains(stderr, "--gpus") {
		t.Errorf("jt open --gpus 1: exit %d, want the scheduler's refusal (%q) and a hint naming --gpus:\n%s", code, c.gpuRefusal, stderr)
	}
	if n := strings.Count(stderr, "jt: hint:"); n != 1 {
		t.Errorf("%d hint lines, want one:\n%s", n, stderr)
	}
	if jobs := c.jobs(t, userA, gpu); len(jobs) != 0 {
		t.Errorf("a refused job is queued: %v", jobs)
	}
	if e.recorded(hostA, gpu) {
		t.Errorf("a refused open was recorded")
	}
}
