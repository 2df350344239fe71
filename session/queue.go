package session

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/templates"
)

// queueRelay receives a batch open's script output as it comes: queue
// lines become progress, the rest is kept as the answer.
type queueRelay struct {
	e    *Engine
	host string
	mu   sync.Mutex
	line []byte
	rest bytes.Buffer
	last templates.QueueLine
	seen bool
	// ended is set when the script answered that the job is over: there
	// is nothing left to cancel.
	ended bool
}

func (r *queueRelay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range p {
		if c != '\n' {
			r.line = append(r.line, c)
			continue
		}
		r.handle(string(r.line))
		r.line = r.line[:0]
	}
	return len(p), nil
}

// Answer is what the script printed apart from its queue lines.
func (r *queueRelay) Answer() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.line) > 0 {
		r.handle(string(r.line))
		r.line = nil
	}
	return r.rest.Bytes()
}

func (r *queueRelay) handle(line string) {
	q, ok := templates.ParseQueueLine(line)
	if !ok {
		r.rest.WriteString(line)
		r.rest.WriteByte('\n')
		return
	}
	// A new start estimate is news too (Slurm's backfill plans now and then).
	changed := !r.seen || q.State != r.last.State || q.Reason != r.last.Reason || q.Job != r.last.Job || q.Start != r.last.Start
	r.last, r.seen = q, true
	// A change always shows (the user needs the job id); the passing of
	// time only on a terminal.
	msg := fmt.Sprintf("job %s on %s: %s", plain(q.Job), r.host, plain(q.State))
	if q.Reason != "" && q.Reason != "None" {
		msg += " (" + plain(q.Reason) + ")"
	}
	if q.State == "RUNNING" && q.Nodes != "" {
		msg += " on " + plain(q.Nodes) + ", waiting for Jupyter"
	} else {
		msg += ", " + (time.Duration(q.Elapsed) * time.Second).String() + " waiting"
	}
	if q.Estimates {
		msg += ", " + startText(scheduler.Estimate(q.Start, q.Now))
	}
	if changed {
		r.e.warn("%s", msg)
	} else {
		r.e.progress("%s", msg)
	}
}

// again readies r for the next script of the same open: a new answer;
// the queue lines go on from what was shown.
func (r *queueRelay) again() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line, r.ended = nil, false
	r.rest.Reset()
}

func (r *queueRelay) lastLine() templates.QueueLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// plain keeps what a remote answered from moving the terminal: control
// characters become '?'.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// startText is a start estimate as the user reads it: "starts in 4m10s
// (the scheduler's estimate)", "no estimate".
func startText(est string) string {
	if est == scheduler.NoEstimate {
		return "no start estimate"
	}
	return "starts " + est + " (the scheduler's estimate)"
}
