// Package slurm runs jt's Jupyter as a Slurm batch job (sbatch) on a
// compute node; the login node's scripts find, watch and cancel it with
// squeue and scancel. The scripts (slurm_*.sh.tmpl, scripts.go) are its
// own, built on jt's shared ones, and answer in the batch protocol.
package slurm

import (
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
)

func init() { scheduler.Register(Slurm{}) }

// Slurm is the scheduler.Scheduler of Slurm.
type Slurm struct{}

func (Slurm) Name() string  { return "slurm" }
func (Slurm) Title() string { return "Slurm" }

// options are the rules for sbatch options: jt sets the job's name, its
// comment and output file, and nothing may replace its job script.
var options = validate.Options{
	Label: "sbatch options",
	Tool:  "sbatch",
	Owned: []string{"-J", "--job-name", "--comment", "-o", "--output", "--wrap", "--parsable", "--open-mode"},
	Why:   "job name jt-NAME, its comment and output file",
}

func (Slurm) CheckArgs(args []string) error { return options.Check(args) }

// Checks is jt doctor's script for a Slurm login node: the client
// commands, the controller, and sbatch --test-only with args.
func (Slurm) Checks(args []string) (templates.Script, error) {
	text, err := Render(scheduler.DoctorScript{Args: args})
	return templates.Script{Text: text, Kind: templates.KindDoctor}, err
}

func (Slurm) Submit(r scheduler.Submit) (templates.Script, error) {
	return scheduler.SubmitScript(r, Render)
}

func (Slurm) Started(b templates.Block, now time.Time) (scheduler.Started, error) {
	return scheduler.ReadStarted(b, now, Duration)
}

func (Slurm) Status(ids []string) templates.Script { return scheduler.StatusOf(ids, Render) }

func (Slurm) Jobs(blocks []templates.Block) []scheduler.Job {
	var jobs []scheduler.Job
	for _, b := range blocks {
		a := b.BatchStatus()
		j := scheduler.Job{ID: a.Job, Name: a.Name, Nonce: a.Nonce, State: a.State, Reason: a.Reason,
			Node: a.Nodes, Limit: a.Limit, Left: left(a.Left), Phase: phase(a.State), Idle: a.Idle,
			Resources: scheduler.Got("cpus", a.CPUs, "mem", a.Mem, "time", a.Limit, "partition", a.Queue, "gres", a.Gres)}
		if j.Phase == scheduler.Queued {
			j.Estimate = scheduler.Estimate(a.Start, a.Now)
		}
		if j.Phase == scheduler.Running {
			j.Addr, j.Dir, j.Port = a.InfoAddr, a.InfoDir, a.InfoPort
			if b.Server != nil {
				j.PID = b.Server.PID
			}
			if a.InfoStarted != 0 {
				j.Started = time.Unix(a.InfoStarted, 0).UTC()
			}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

func (Slurm) Cancel(c scheduler.Cancel) templates.Script { return scheduler.CancelOf(c, Render) }

func (Slurm) Cancelled(b templates.Block) scheduler.Cancelled {
	a := b.BatchCancel()
	if a.State == "noslurm" {
		a.State = "absent"
	}
	return scheduler.Cancelled{State: a.State, Jobs: strings.TrimSpace(a.Jobs), Stuck: strings.TrimSpace(a.Stuck)}
}

// phase maps squeue's state to a job's phase; "gone" is slurm_status.sh's
// word for a job squeue and sacct no longer know.
func phase(state string) scheduler.Phase {
	switch state {
	case "RUNNING":
		return scheduler.Running
	case "PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED":
		return scheduler.Queued
	case "gone":
		return scheduler.Gone
	}
	return scheduler.Ended
}

// left turns squeue's time left into jt's way of writing it.
func left(s string) string {
	if d, ok := Duration(s); ok {
		return d.String()
	}
	if s == "UNLIMITED" {
		return "unlimited"
	}
	return ""
}

// Duration reads Slurm's time format: [DAYS-]HOURS:MINUTES:SECONDS,
// MINUTES:SECONDS or MINUTES; not UNLIMITED, NOT_SET or INVALID.
func Duration(s string) (time.Duration, bool) {
	days := 0
	if d, rest, ok := strings.Cut(s, "-"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, false
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 || s == "" {
		return 0, false
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, false
		}
		nums[i] = n
	}
	var h, m, sec int
	switch len(nums) {
	case 1:
		m = nums[0]
		if days > 0 {
			h, m = nums[0], 0 // DAYS-HOURS
		}
	case 2:
		m, sec = nums[0], nums[1]
		if days > 0 {
			h, m, sec = nums[0], nums[1], 0 // DAYS-HOURS:MINUTES
		}
	case 3:
		h, m, sec = nums[0], nums[1], nums[2]
	}
	return time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, true
}
