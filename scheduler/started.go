package scheduler

import (
	"fmt"
	"net"
	"time"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/visible"
)

// ReadStarted reads the batch protocol's answer of a Submit script once
// Jupyter runs (templates.KindBatchOpen, checked by the gate). left reads
// the scheduler's way of writing the time the job has left.
func ReadStarted(b templates.Block, now time.Time, left func(string) (time.Duration, bool)) (Started, error) {
	a := b.BatchOpen()
	if a.Waits && a.Job != "" {
		return Started{Status: a.Status, Log: a.Log, WaitsForWord: true,
			Job: Job{ID: a.Job, Name: a.Name, Nonce: a.Nonce, Node: a.Node, Addr: a.Addr, Phase: Running}}, nil
	}
	if b.Server == nil {
		return Started{}, fmt.Errorf("answered without Jupyter's runtime file for job %s", a.Job)
	}
	if a.Job == "" {
		return Started{}, fmt.Errorf("answered no job id")
	}
	port := a.Port
	if port <= 0 || port > 65535 {
		port = b.Server.Port
	}
	if net.ParseIP(a.Addr) == nil {
		return Started{}, fmt.Errorf("job %s answered an unusable node address %s", a.Job, visible.Quote(a.Addr))
	}
	st := Started{
		Status:  a.Status,
		Server:  *b.Server,
		Log:     a.Log,
		Runtime: a.Runtime,
		Job: Job{ID: a.Job, Name: a.Name, Nonce: a.Nonce, Node: a.Node, Limit: a.Limit,
			Addr: a.Addr, Port: port, PID: b.Server.PID, Dir: a.Dir, Phase: Running},
		KernelWarning: templates.KernelWarning(b),
	}
	if a.Started != 0 {
		st.Job.Started = time.Unix(a.Started, 0).UTC()
	}
	if d, ok := left(a.Left); ok {
		st.End = now.Add(d).UTC().Truncate(time.Second)
	}
	return st, nil
}
