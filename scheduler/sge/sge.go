// Package sge runs jt's Jupyter as a Grid Engine job (qsub) on an
// execution host; the login node's scripts find, watch and delete it with
// qstat and qdel. The scripts (sge_*.sh.tmpl, scripts.go) are its own,
// built on jt's shared ones, and answer in the batch protocol; qstat's
// XML is read here (qstat.go), not in the scripts.
package sge

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
)

func init() { scheduler.Register(SGE{}) }

// SGE is the scheduler.Scheduler of Grid Engine (SGE, Son of Grid Engine).
type SGE struct{}

func (SGE) Name() string  { return "sge" }
func (SGE) Title() string { return "Grid Engine" }

func (SGE) Submit(r scheduler.Submit) (templates.Script, error) {
	job, err := Render(JobScript{
		Name: r.Name, Nonce: r.Nonce, Dir: r.Dir, Flavour: r.Flavour, Command: r.Command, Port: r.Port, Env: r.Env,
	})
	if err != nil {
		return templates.Script{}, err
	}
	text, err := Render(OpenScript{Name: r.Name, Nonce: r.Nonce, Args: r.Args, Job: job, Timeout: r.Timeout})
	return templates.Script{Text: text, Kind: templates.KindBatchOpen}, err
}

func (SGE) Started(b templates.Block, now time.Time) (scheduler.Started, error) {
	v := b.Values
	if b.Server == nil {
		return scheduler.Started{}, fmt.Errorf("answered without Jupyter's runtime file for job %s", v["job"])
	}
	if v["job"] == "" {
		return scheduler.Started{}, fmt.Errorf("answered no job id")
	}
	port, err := strconv.Atoi(v["port"])
	if err != nil || port <= 0 || port > 65535 {
		port = b.Server.Port
	}
	if net.ParseIP(v["addr"]) == nil {
		return scheduler.Started{}, fmt.Errorf("job %s answered an unusable node address %s", v["job"], sshexec.Printable(v["addr"]))
	}
	st := scheduler.Started{
		Status:  v["status"],
		Server:  *b.Server,
		Log:     v["log"],
		Runtime: v["runtime"],
		Job: scheduler.Job{ID: v["job"], Name: v["name"], Nonce: v["nonce"], Node: v["node"], Limit: v["limit"],
			Addr: v["addr"], Port: port, PID: b.Server.PID, Dir: v["dir"], Phase: scheduler.Running, State: "r"},
		KernelWarning: templates.KernelWarning(b),
	}
	if t, err := strconv.ParseInt(v["started"], 10, 64); err == nil {
		st.Job.Started = time.Unix(t, 0).UTC()
	}
	if left, err := strconv.Atoi(v["left"]); err == nil && left >= 0 {
		st.End = now.Add(time.Duration(left) * time.Second).UTC().Truncate(time.Second)
	}
	return st, nil
}

func (SGE) Status(ids []string) templates.Script {
	text, err := Render(StatusScript{Jobs: ids})
	if err != nil {
		panic(err) // job ids come checked from the state file: a bug
	}
	return templates.Script{Text: text, Kind: templates.KindBatchStatus}
}

func (SGE) Cancel(c scheduler.Cancel) templates.Script {
	text, err := Render(CancelScript{Name: c.Name, Nonce: c.Nonce, KeepJob: c.KeepQueued})
	if err != nil {
		panic(err) // name and nonce are jt's own, checked: a bug
	}
	return templates.Script{Text: text, Kind: templates.KindBatchCancel}
}

func (SGE) Cancelled(b templates.Block) scheduler.Cancelled {
	return scheduler.Cancelled{State: b.Values["state"], Jobs: strings.TrimSpace(b.Values["jobs"]), Stuck: strings.TrimSpace(b.Values["stuck"])}
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
