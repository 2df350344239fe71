package slurm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/slurm"
	"github.com/jt-sh/jt/templates"
)

func TestRegistered(t *testing.T) {
	s, err := scheduler.Named("slurm")
	if err != nil || s.Name() != "slurm" || s.Title() != "Slurm" {
		t.Fatalf("scheduler.Named(slurm) = %v, %v", s, err)
	}
	if _, err := scheduler.Named("pbs"); err == nil || !strings.Contains(err.Error(), "slurm") {
		t.Errorf("an unknown scheduler: %v", err)
	}
}

// squeue's states, as jt ls reads them: one phase each.
func TestJobsPhases(t *testing.T) {
	blocks := []templates.Block{
		{Values: map[string]string{"job": "1", "name": "a", "state": "RUNNING", "left": "59:10", "nodes": "c1",
			"info_addr": "10.0.0.2", "info_port": "8888", "info_started": "1700000000", "info_dir": "/home/u"},
			Server: &templates.ServerInfo{PID: 77}},
		{Values: map[string]string{"job": "2", "name": "b", "state": "PENDING", "reason": "Priority", "start": "2026-12-01T16:04:05", "now": "2026-12-01T16:00:00"}},
		{Values: map[string]string{"job": "3", "state": "TIMEOUT", "reason": "TimeLimit"}},
		{Values: map[string]string{"job": "4", "state": "gone"}},
		{Values: map[string]string{"job": "5", "state": "RUNNING", "left": "UNLIMITED"}},
		{Values: map[string]string{"job": "6", "state": "SUSPENDED"}},
		{Values: map[string]string{"job": "7", "state": "PENDING", "start": "N/A", "now": "2026-12-01T16:00:00"}},
		{Values: map[string]string{"job": "8", "state": "COMPLETED", "idle": "yes"}},
	}
	jobs := slurm.Slurm{}.Jobs(blocks)
	want := []scheduler.Phase{scheduler.Running, scheduler.Queued, scheduler.Ended, scheduler.Gone, scheduler.Running, scheduler.Queued, scheduler.Queued, scheduler.Ended}
	if len(jobs) != len(want) {
		t.Fatalf("%d jobs, want %d", len(jobs), len(want))
	}
	for i, j := range jobs {
		if j.Phase != want[i] {
			t.Errorf("job %s (%s): phase %v, want %v", j.ID, j.State, j.Phase, want[i])
		}
	}
	r := jobs[0]
	if r.Left != "59m10s" || r.Addr != "10.0.0.2" || r.Port != 8888 || r.PID != 77 || r.Node != "c1" || r.Dir != "/home/u" || !r.Started.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("running job %+v", r)
	}
	if jobs[1].Reason != "Priority" || jobs[1].Addr != "" || jobs[4].Left != "unlimited" {
		t.Errorf("pending %+v, unlimited %+v", jobs[1], jobs[4])
	}
	if !jobs[7].Idle || jobs[2].Idle {
		t.Errorf("idle: %+v, %+v", jobs[7], jobs[2])
	}
	if jobs[1].Estimate != "in 4m5s" || jobs[6].Estimate != scheduler.NoEstimate || r.Estimate != "" {
		t.Errorf("estimates: %q %q %q", jobs[1].Estimate, jobs[6].Estimate, r.Estimate)
	}
}

// What the submit script answered once Jupyter runs, and what is refused.
func TestStarted(t *testing.T) {
	now := time.Unix(1700000600, 0)
	b := templates.Block{Values: map[string]string{"status": "started", "name": "s", "job": "42", "nonce": "ab",
		"node": "c7", "addr": "10.1.2.7", "port": "8890", "left": "59:50", "limit": "1:00:00", "runtime": "nbserver-5.json", "started": "1700000500"},
		Server: &templates.ServerInfo{PID: 5, Port: 9999, Token: "t", BaseURL: "/", NotebookDir: "/home/u"}}
	st, err := slurm.Slurm{}.Started(b, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Job.ID != "42" || st.Job.Port != 8890 || st.Job.Addr != "10.1.2.7" || !st.End.Equal(now.Add(59*time.Minute+50*time.Second)) || st.Status != "started" {
		t.Errorf("started %+v", st)
	}
	for name, change := range map[string]func(*templates.Block){
		"no runtime file": func(b *templates.Block) { b.Server = nil },
		"no job id":       func(b *templates.Block) { b.Values["job"] = "" },
		"a host name":     func(b *templates.Block) { b.Values["addr"] = "evil.example" },
	} {
		bad := templates.Block{Values: map[string]string{}, Server: b.Server}
		for k, v := range b.Values {
			bad.Values[k] = v
		}
		change(&bad)
		if _, err := (slurm.Slurm{}).Started(bad, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCancelled(t *testing.T) {
	c := slurm.Slurm{}.Cancelled(templates.Block{Values: map[string]string{"state": "noslurm", "jobs": " 1 2 "}})
	if c.State != "absent" || c.Jobs != "1 2" {
		t.Errorf("cancelled %+v", c)
	}
}
