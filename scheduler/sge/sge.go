// Package sge runs jt's Jupyter as a Grid Engine job (qsub) on an
// execution host; the login node's scripts find, watch and delete it with
// qstat and qdel. The scripts (sge_*.sh.tmpl, scripts.go) are its own,
// built on jt's shared ones, and answer in the batch protocol; qstat's
// XML is read here (qstat.go), not in the scripts.
package sge

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/templates"
)

func init() { scheduler.Register(SGE{}) }

// SGE is the scheduler.Scheduler of Grid Engine (SGE, Son of Grid Engine).
type SGE struct{}

// Checks is jt doctor's script for a Grid Engine login node: the client
// commands, the cell, the qmaster, and qsub verifying a job with args.
func (SGE) Checks(args []string) (templates.Script, error) {
	text, err := Render(scheduler.DoctorScript{Args: args})
	return templates.Script{Text: text, Kind: templates.KindDoctor}, err
}

func (SGE) Name() string  { return "sge" }
func (SGE) Title() string { return "Grid Engine" }

func (SGE) Submit(r scheduler.Submit) (templates.Script, error) {
	return scheduler.SubmitScript(r, Render)
}

func (SGE) Started(b templates.Block, now time.Time) (scheduler.Started, error) {
	st, err := scheduler.ReadStarted(b, now, seconds)
	st.Job.State = "r"
	return st, err
}

// seconds reads the time left as the scripts write it for Grid Engine:
// whole seconds.
func seconds(s string) (time.Duration, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func (SGE) Status(ids []string) templates.Script { return scheduler.StatusOf(ids, Render) }

func (SGE) Cancel(c scheduler.Cancel) templates.Script { return scheduler.CancelOf(c, Render) }

func (SGE) Cancelled(b templates.Block) scheduler.Cancelled {
	a := b.BatchCancel()
	return scheduler.Cancelled{State: a.State, Jobs: strings.TrimSpace(a.Jobs), Stuck: strings.TrimSpace(a.Stuck)}
}

// phase maps qstat's state letters to a job's phase: r running (t is
// still on its way to the host), d being deleted, the rest waiting
// (qw, hqw, Eqw, s, S, T).
func phase(state string) scheduler.Phase {
	switch {
	case state == "":
		return scheduler.Gone
	case strings.Contains(state, "d"):
		return scheduler.Ended
	case strings.Contains(state, "r"):
		return scheduler.Running
	}
	return scheduler.Queued
}

// clock writes a number of seconds as Grid Engine does: H:MM:SS.
func clock(s int) string {
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
}
