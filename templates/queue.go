package templates

import (
	"strconv"
	"strings"

	"github.com/jt-sh/jt/visible"
)

// QueueMark starts each progress line that a batch scheduler's Submit
// script (Slurm's slurm_open.sh, …) prints while its job waits:
// "@@JT-QUEUE@@ JOB|STATE|REASON|ELAPSED|NODES|STATUS", optionally followed
// by "|START|NOW": the scheduler's start estimate and the host's clock, both
// as the host writes local time (see CheckClock), START empty or "N/A"
// when the scheduler has none.
const QueueMark = "@@JT-QUEUE@@ "

// QueueLine is one progress line of a job waiting in the queue.
type QueueLine struct {
	Job, State, Reason, Nodes string
	Elapsed                   int    // seconds since jt submitted (or found) it
	Status                    string // "started" (this open submitted it) or "running" (found)
	// Start and Now: the scheduler's start estimate and the host's clock
	// (CheckClock's grammar); Start is "" when there is none.
	Start, Now string
	// Estimates says the scheduler's script reports start estimates at all.
	Estimates bool
}

// ParseQueueLine reads a progress line; ok is false for any other line.
func ParseQueueLine(line string) (q QueueLine, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimRight(line, "\r"), QueueMark)
	if !found {
		return q, false
	}
	f := strings.Split(rest, "|")
	if len(f) != 6 && len(f) != 8 {
		return q, false
	}
	q = QueueLine{Job: f[0], State: f[1], Reason: visible.Text(f[2], 256), Nodes: f[4], Status: f[5]}
	// Held to the gate's grammars: the job id and node go into messages
	// and into the commands jt suggests.
	if (q.Job != "" && !jobRE.MatchString(q.Job)) || !jobStateRE.MatchString(q.State) || !nodeListRE.MatchString(q.Nodes) {
		return QueueLine{}, false
	}
	if q.Status != "started" && q.Status != "running" {
		return QueueLine{}, false
	}
	n, err := strconv.Atoi(f[3])
	if err != nil || n < 0 {
		return QueueLine{}, false
	}
	q.Elapsed = n
	if len(f) == 8 {
		if CheckClock(f[6]) != "" || CheckClock(f[7]) != "" || f[7] == "" {
			return QueueLine{}, false
		}
		q.Start, q.Now, q.Estimates = NoEstimate(f[6]), f[7], true
	}
	return q, true
}

// clockRE is a local time as Slurm and date(1) write it: 2026-12-01T16:04:05.
var clockRE = lazy(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)

// CheckClock is the grammar of a start estimate or a host's clock: a local
// time, or nothing ("", "N/A", "Unknown", "None": the scheduler has no
// estimate).
func CheckClock(s string) string {
	if NoEstimate(s) == "" || clockRE.MatchString(s) {
		return ""
	}
	return "not a time like 2026-12-01T16:04:05"
}

// NoEstimate is s, or "" when s is a scheduler's word for no time.
func NoEstimate(s string) string {
	switch s {
	case "", "N/A", "Unknown", "None", "NONE":
		return ""
	}
	return s
}
