package session

import (
	"fmt"
	"time"

	"github.com/jt-sh/jt/validate"
)

// EndsSoon is how close to its job's end jt ls marks a session.
const EndsSoon = 15 * time.Minute

// endWarner tells the user, once per point, that a batch session's job
// nears its end: at each point before it (longest first), a notice and a
// desktop notification.
type endWarner struct {
	points []time.Duration
	done   map[time.Duration]bool
	end    time.Time // of the job the points were counted for
}

func newEndWarner(spec string) *endWarner {
	points, _ := validate.WarnPoints(spec) // checked by OpenRequest.Validate
	return &endWarner{points: points, done: map[time.Duration]bool{}}
}

// check says, at most once per point, how long the job ending at end has
// left; "" when nothing is due. Points already past when the keeper first
// sees a job count as said, bar the nearest one.
func (w *endWarner) check(end, now time.Time) (left time.Duration, due bool) {
	if end.IsZero() || len(w.points) == 0 {
		return 0, false
	}
	if !end.Equal(w.end) {
		w.end, w.done = end, map[time.Duration]bool{} // a new job: its own points
	}
	left = end.Sub(now)
	if left <= 0 {
		return 0, false
	}
	for _, p := range w.points {
		if left <= p && !w.done[p] {
			w.done[p], due = true, true
		}
	}
	return left, due
}

// warnEnd says, when a point before the end of host/name's job is due, how
// long it has left; notify (if any) shows it on the desktop too.
func (e *Engine) warnEnd(w *endWarner, host, name string, notify func(title, body string)) {
	s, ok, err := e.lookup(host, name)
	if err != nil || !ok || !s.Batch() {
		return
	}
	left, due := w.check(s.Job.End, e.Now())
	if !due {
		return
	}
	msg := fmt.Sprintf("session %s on %s: job %s ends in %v (%s UTC); save your work", name, host, s.Job.ID,
		left.Round(time.Second), s.Job.End.UTC().Format("15:04:05"))
	e.warn("%s", msg)
	if notify != nil {
		notify("jt: "+name+" on "+host+" ends in "+left.Round(time.Minute).String(), msg)
	}
}
