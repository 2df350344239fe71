package scheduler

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/visible"
)

// ReadStarted reads the batch protocol's answer of a Submit script once
// Jupyter runs (templates.KindBatchOpen, checked by the gate). left reads
// the scheduler's way of writing the time the job has left.
func ReadStarted(b templates.Block, now time.Time, left func(string) (time.Duration, bool)) (Started, error) {
	v := b.Values
	if v["wait"] == "mode" && v["job"] != "" {
		return Started{Status: v["status"], Log: v["log"], WaitsForWord: true,
			Job: Job{ID: v["job"], Name: v["name"], Nonce: v["nonce"], Node: v["node"], Addr: v["addr"], Phase: Running}}, nil
	}
	if b.Server == nil {
		return Started{}, fmt.Errorf("answered without Jupyter's runtime file for job %s", v["job"])
	}
	if v["job"] == "" {
		return Started{}, fmt.Errorf("answered no job id")
	}
	port, err := strconv.Atoi(v["port"])
	if err != nil || port <= 0 || port > 65535 {
		port = b.Server.Port
	}
	if net.ParseIP(v["addr"]) == nil {
		return Started{}, fmt.Errorf("job %s answered an unusable node address %s", v["job"], visible.Quote(v["addr"]))
	}
	st := Started{
		Status:  v["status"],
		Server:  *b.Server,
		Log:     v["log"],
		Runtime: v["runtime"],
		Job: Job{ID: v["job"], Name: v["name"], Nonce: v["nonce"], Node: v["node"], Limit: v["limit"],
			Addr: v["addr"], Port: port, PID: b.Server.PID, Dir: v["dir"], Phase: Running},
		KernelWarning: templates.KernelWarning(b),
	}
	if t, err := strconv.ParseInt(v["started"], 10, 64); err == nil {
		st.Job.Started = time.Unix(t, 0).UTC()
	}
	if d, ok := left(v["left"]); ok {
		st.End = now.Add(d).UTC().Truncate(time.Second)
	}
	return st, nil
}
