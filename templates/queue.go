package templates

import (
	"strconv"
	"strings"
)

// QueueMark starts each progress line that a batch scheduler's Submit
// script (Slurm's slurm_open.sh, …) prints while its job waits:
// "@@JT-QUEUE@@ JOB|STATE|REASON|ELAPSED|NODES|STATUS".
const QueueMark = "@@JT-QUEUE@@ "

// QueueLine is one progress line of a job waiting in the queue.
type QueueLine struct {
	Job, State, Reason, Nodes string
	Elapsed                   int    // seconds since jt submitted (or found) it
	Status                    string // "started" (this open submitted it) or "running" (found)
}

// ParseQueueLine reads a progress line; ok is false for any other line.
func ParseQueueLine(line string) (q QueueLine, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimRight(line, "\r"), QueueMark)
	if !found {
		return q, false
	}
	f := strings.Split(rest, "|")
	if len(f) != 6 {
		return q, false
	}
	q = QueueLine{Job: f[0], State: f[1], Reason: Visible(f[2], 256), Nodes: f[4], Status: f[5]}
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
	return q, true
}
