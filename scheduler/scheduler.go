// Package scheduler is what jt asks of a batch scheduler (Slurm, and the
// next ones) to run Jupyter as a job on a compute node: the scripts that
// submit or find a session's job and wait for it, report the jobs' status
// and cancel them, and the reading of their answers into typed values.
// The engine (package session) runs the scripts; a scheduler never runs
// ssh, never prints and never touches the state file.
package scheduler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jt-sh/jt/templates"
)

// Scheduler is one batch system. Each lives in a package of its own and
// registers itself (Register) under its name. Its scripts answer in the
// batch protocol: templates.KindBatchOpen, KindBatchStatus and
// KindBatchCancel.
type Scheduler interface {
	// Name is the scheduler's name in flags, profiles and the state file.
	Name() string
	// Title is the name in messages: "Slurm".
	Title() string
	// CheckArgs checks the user's options for the submit command (already
	// split into words): nothing jt sets itself, nothing the scheduler
	// would read as its job script.
	CheckArgs(args []string) error
	// Resources says r in the submit command's options, which go before
	// the user's args: what the scheduler cannot express (Cannot), or what
	// args set too (GivenTwice), is an error.
	Resources(r Resources, args []string) ([]string, error)
	// Submit is the login node script that finds the session's job (by
	// its name jt-NAME) or submits one, prints a progress line (see
	// templates.QueueMark) on each change while it waits, and answers
	// once Jupyter runs on the node.
	Submit(Submit) (templates.Script, error)
	// Started reads Submit's answer.
	Started(b templates.Block, now time.Time) (Started, error)
	// Status is the script that reports the user's jt jobs, and what the
	// scheduler still knows of the recorded ones (ids).
	Status(ids []string) templates.Script
	// Jobs reads Status's answer.
	Jobs(blocks []templates.Block) []Job
	// Cancel is the script that cancels a session's jobs (see Cancel).
	Cancel(Cancel) templates.Script
	// Cancelled reads Cancel's answer.
	Cancelled(b templates.Block) Cancelled
}

// Checker is a Scheduler that jt doctor can ask about a login node: its
// script answers as doctor.sh does (templates.KindDoctor), one block a check.
type Checker interface {
	Checks(args []string) (templates.Script, error)
}

// Submit is what a batch open asks for.
type Submit struct {
	Name    string
	Nonce   string // marks the job this open submits
	Dir     string // working directory on the node; "" or "~" is the home
	Flavour string
	Command string
	Port    int // on the node; 0 picks the first free one from 8888
	Env     templates.Env
	Args    []string // the user's options for the submit command
	Timeout int      // seconds Jupyter may take once the job runs
	Idle    int      // seconds without activity before jt's watcher releases the server (the job ends); 0: never
	// Listen is how the job's Jupyter is to listen: "tcp" on the node's
	// address, or "ask": the job waits for jt's word (Give), which jt
	// gives once it knows whether it can reach the node by ssh. A
	// scheduler whose job cannot wait listens on TCP.
	Listen string
	// Give is jt's word to a job that waits for it: "socket" (a unix
	// socket in a private directory on the node) or "tcp"; "" answers
	// Started with WaitsForWord set instead.
	Give string
	// Console is "screen": the job keeps Jupyter in a screen window on the
	// node (where screen is installed), for jt attach; "none": no window.
	Console string
}

// Phase is where a job is in its life.
type Phase int

const (
	Gone    Phase = iota // the scheduler no longer knows it
	Queued               // waiting (pending, held, configuring, suspended)
	Running              // running
	Ended                // over: completed, cancelled, timed out, failed
)

// Job is what the scheduler says of one job.
type Job struct {
	ID     string
	Name   string // the session name (the job is named jt-NAME)
	Nonce  string
	State  string // the scheduler's own word: RUNNING, PENDING, qw…
	Reason string // why it waits or ended, in the scheduler's words
	Phase  Phase
	Node   string
	Limit  string // the time limit as the scheduler writes it
	// Resources are what the job got, "name=value" pairs in the
	// scheduler's own words ("cpus=2 mem=1G"), space separated.
	Resources string
	// Left is the time a running job has left, as jt writes it ("59m10s"),
	// "unlimited", or "" when unknown.
	Left string
	// Estimate: when a queued job may start, by the scheduler's estimate
	// ("in 4m10s", "now") or NoEstimate; "" for a job that is not queued.
	Estimate string
	// Idle: the job ended because its Jupyter was shut down for want
	// of activity (jt open --idle).
	Idle bool
	// Of a running job's Jupyter, from the file the job writes.
	Addr    string
	Port    int
	PID     int
	Dir     string
	Started time.Time
}

// Got writes the resources of pairs name, value whose value is set.
func Got(pairs ...string) string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := pairs[i+1]; v != "" && v != "N/A" && v != "(null)" {
			out = append(out, pairs[i]+"="+v)
		}
	}
	return strings.Join(out, " ")
}

// Started is the answer of a Submit script: Jupyter runs in the job.
type Started struct {
	Status  string // "started" (this open submitted the job) or "running" (found)
	Job     Job
	Server  templates.ServerInfo
	Log     string
	Runtime string // Jupyter's runtime file name, which names its flavour
	// End is when the job's time limit ends; zero without a limit.
	End           time.Time
	KernelWarning string
	// WaitsForWord: the job runs (Job.Node) and waits for Submit.Give;
	// Server is empty.
	WaitsForWord bool
}

// Cancel asks to cancel a session's jobs and remove their files. With
// Nonce, only the job that the jt open with that nonce submitted (its
// undo); with KeepQueued, only stop that open's waiting script.
type Cancel struct {
	Name       string
	Nonce      string
	KeepQueued bool
}

// Cancelled is what a Cancel script did.
type Cancelled struct {
	// State: "cancelled", "stuck" (still queued after the cancel), "none"
	// (nothing was queued or running), "kept" or "absent" (no scheduler
	// commands on the host).
	State string
	Jobs  string // the ids cancelled, space separated
	Stuck string // the ids still in the queue
}

var registry = map[string]Scheduler{}

// Register makes s known by its name; each scheduler's package calls it
// from init.
func Register(s Scheduler) {
	if _, dup := registry[s.Name()]; dup {
		panic("scheduler " + s.Name() + " registered twice")
	}
	registry[s.Name()] = s
}

// Named is the scheduler called name.
func Named(name string) (Scheduler, error) {
	if s, ok := registry[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("no scheduler %q: jt knows %v", name, Names())
}

// Names lists the registered schedulers, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
