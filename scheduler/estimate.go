package scheduler

import (
	"time"

	"github.com/jt-sh/jt/templates"
)

// NoEstimate is what jt says of a queued job whose scheduler has no start
// estimate for it.
const NoEstimate = "no estimate"

// clock is how schedulers and date(1) write a host's local time.
const clock = "2006-01-02T15:04:05"

// Estimate says when a queued job may start, from the scheduler's estimate
// start and the host's clock now, both in the host's local time (so no
// time zone is needed): "in 4m10s", "now" (the estimate has passed), or
// NoEstimate.
func Estimate(start, now string) string {
	if templates.CheckClock(start) != "" || templates.CheckClock(now) != "" {
		return NoEstimate
	}
	s, err1 := time.Parse(clock, templates.NoEstimate(start))
	n, err2 := time.Parse(clock, now)
	if err1 != nil || err2 != nil {
		return NoEstimate
	}
	d := s.Sub(n)
	if d <= 0 {
		return "now"
	}
	// About a year ahead is the scheduler saying "never" in its own way:
	// Slurm gives a job it cannot plan a start a year after it last looked
	// at it, so by the time jt asks the year is seconds short.
	if d > 300*24*time.Hour {
		return NoEstimate
	}
	return "in " + d.Round(time.Second).String()
}
