// Package htcondor runs jt's Jupyter as an HTCondor job (condor_submit,
// vanilla universe) on an execute node; the submit host's scripts find,
// watch and remove it with condor_q, condor_history and condor_rm. A job
// is jt's by its attributes: JtSession (the session's name) and JtNonce
// (the open that submitted it). The scripts (htcondor_*.sh.tmpl) are its
// own, built on jt's shared ones, and answer in the batch protocol.
package htcondor

import (
	"embed"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

func init() { scheduler.Register(HTCondor{}) }

// HTCondor is the scheduler.Scheduler of HTCondor.
type HTCondor struct{}

//go:embed *.sh.tmpl
var files embed.FS

var scripts = scheduler.NewScripts(files, "htcondor", "HTCondor")

// Render produces the script for one of the scheduler package's inputs.
func Render(data any) (string, error) { return scripts.Render(data) }

func (HTCondor) Name() string  { return "htcondor" }
func (HTCondor) Title() string { return "HTCondor" }

// commandRE is a submit command: NAME = VALUE, or +ATTRIBUTE = VALUE.
var commandRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\+?[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$`) })

// owned are the submit commands jt writes itself: what the job runs and
// where, its files, its environment, and the attributes that make it jt's.
var owned = map[string]bool{
	"universe": true, "executable": true, "arguments": true, "args": true, "output": true, "error": true, "log": true,
	"initialdir": true, "initial_dir": true, "should_transfer_files": true, "transfer_executable": true, "getenv": true,
	"environment": true, "env": true, "batch_name": true, "+jtsession": true, "+jtnonce": true, "my.jtsession": true, "my.jtnonce": true,
	"queue": true, "input": true,
}

// CheckArgs checks --scheduler-args for HTCondor: each word one submit
// command (request_disk=4G, +ProjectName="x"), none that jt writes.
func (HTCondor) CheckArgs(args []string) error {
	const label = "HTCondor submit commands"
	for _, a := range args {
		if strings.ContainsAny(a, "\x00\n\r") {
			return validate.Usagef("%s: %s contains a newline", label, visible.Quote(a))
		}
		if len(a) > validate.MaxValue {
			return validate.Usagef("%s: a word is %d bytes long, more than %d", label, len(a), validate.MaxValue)
		}
		m := commandRE().FindStringSubmatch(a)
		if m == nil {
			return validate.Usagef("%s: %s is not a submit command; write them like request_disk=4G or '+ProjectName=\"x\"'", label, visible.Quote(a))
		}
		if owned[strings.ToLower(m[1])] {
			return validate.Usagef("%s: jt writes %s itself (the job, its files and its attributes); leave it out", label, m[1])
		}
	}
	return nil
}

// own are the submit commands of what jt's resource options ask.
var own = map[string]string{
	"request_gpus": "--gpus", "require_gpus": "--gpus", "request_cpus": "--cpus", "request_memory": "--mem",
	"allowed_job_duration": "--time", "+maxruntime": "--time", "accounting_group": "--queue",
}

// Resources says r as submit commands: request_gpus (and require_gpus
// for a type), request_cpus, request_memory (MiB), allowed_job_duration
// (HTCondor holds a job past it), accounting_group.
func (HTCondor) Resources(r scheduler.Resources, args []string) ([]string, error) {
	asked := map[string]bool{"--gpus": r.GPUs > 0, "--cpus": r.CPUs > 0, "--mem": r.Mem > 0, "--time": r.Time > 0, "--queue": r.Queue != ""}
	for _, a := range args {
		if m := commandRE().FindStringSubmatch(a); m != nil && asked[own[strings.ToLower(m[1])]] {
			return nil, scheduler.GivenTwice(own[strings.ToLower(m[1])], a)
		}
	}
	var out []string
	if r.GPUs > 0 {
		out = append(out, "request_gpus = "+strconv.Itoa(r.GPUs))
		if r.GPUType != "" {
			out = append(out, `require_gpus = regexp("`+r.GPUType+`", DeviceName, "i")`)
		}
	}
	if r.CPUs > 0 {
		out = append(out, "request_cpus = "+strconv.Itoa(r.CPUs))
	}
	if r.Mem > 0 {
		out = append(out, "request_memory = "+strconv.FormatInt(r.MemMiB(), 10))
	}
	if r.Time > 0 {
		out = append(out, "allowed_job_duration = "+strconv.FormatInt(r.Seconds(), 10))
	}
	if r.Queue != "" {
		out = append(out, "accounting_group = "+r.Queue)
	}
	return out, nil
}

// Checks is jt doctor's script for an HTCondor submit host: the client
// commands, the schedd, the pool, and condor_submit -dry-run with args.
func (HTCondor) Checks(args []string) (templates.Script, error) {
	text, err := Render(scheduler.DoctorScript{Args: args})
	return templates.Script{Text: text, Kind: templates.KindDoctor}, err
}

func (HTCondor) Submit(r scheduler.Submit) (templates.Script, error) {
	return scheduler.SubmitScript(r, Render)
}

func (HTCondor) Started(b templates.Block, now time.Time) (scheduler.Started, error) {
	st, err := scheduler.ReadStarted(b, now, seconds)
	st.Job.State = "running"
	return st, err
}

// seconds reads the time left as the scripts write it: whole seconds.
func seconds(s string) (time.Duration, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func (HTCondor) Status(ids []string) templates.Script { return scheduler.StatusOf(ids, Render) }

func (HTCondor) Jobs(blocks []templates.Block) []scheduler.Job {
	var jobs []scheduler.Job
	for _, b := range blocks {
		a := b.BatchStatus()
		if b.Error || a.Job == "" {
			continue
		}
		j := scheduler.Job{ID: a.Job, Name: a.Name, Nonce: a.Nonce, State: a.State, Reason: a.Reason,
			Node: a.Nodes, Limit: a.Limit, Phase: phase(a.State), Idle: a.Idle,
			Resources: scheduler.Got("cpus", a.CPUs, "memory", a.Mem, "duration", a.Limit, "group", a.Queue, "gpus", strings.TrimPrefix(a.Gres, "gpus:"))}
		if d, ok := seconds(a.Left); ok && j.Phase == scheduler.Running {
			j.Left = d.String()
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

func (HTCondor) Cancel(c scheduler.Cancel) templates.Script { return scheduler.CancelOf(c, Render) }

func (HTCondor) Cancelled(b templates.Block) scheduler.Cancelled {
	a := b.BatchCancel()
	return scheduler.Cancelled{State: a.State, Jobs: strings.TrimSpace(a.Jobs), Stuck: strings.TrimSpace(a.Stuck)}
}

// phase maps the scripts' state words (htc_word) to a job's phase; "gone"
// is the status script's word for a job HTCondor no longer knows.
func phase(state string) scheduler.Phase {
	switch state {
	case "running":
		return scheduler.Running
	case "idle", "held", "suspended":
		return scheduler.Queued
	case "gone", "":
		return scheduler.Gone
	}
	return scheduler.Ended
}
