package session

import (
	"testing"
	"time"
)

func TestEndWarner(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	end := t0.Add(20 * time.Minute)
	w := newEndWarner("15m,2m")
	steps := []struct {
		at   time.Duration // after t0
		due  bool
		left time.Duration
	}{
		{0, false, 20 * time.Minute},
		{4 * time.Minute, false, 16 * time.Minute},
		{5 * time.Minute, true, 15 * time.Minute},
		{6 * time.Minute, false, 14 * time.Minute},
		{18*time.Minute + time.Second, true, 2*time.Minute - time.Second},
		{19 * time.Minute, false, time.Minute},
		{21 * time.Minute, false, 0},
	}
	for _, s := range steps {
		left, due := w.check(end, t0.Add(s.at))
		if due != s.due || (s.due && left != s.left) {
			t.Errorf("at +%v: due %v left %v, want %v %v", s.at, due, left, s.due, s.left)
		}
	}
	// A keeper that starts 1m before the end says so once, not twice.
	w = newEndWarner("15m,2m")
	if _, due := w.check(end, end.Add(-time.Minute)); !due {
		t.Error("no warning 1m before the end")
	}
	if _, due := w.check(end, end.Add(-50*time.Second)); due {
		t.Error("warned twice")
	}
	// A new job (another end) has points of its own; none: no warnings.
	if _, due := w.check(end.Add(time.Hour), end.Add(50*time.Minute)); !due {
		t.Error("the next job's 15m point was not due")
	}
	if _, due := newEndWarner("none").check(end, end.Add(-time.Minute)); due {
		t.Error("warn = none warned")
	}
	if _, due := newEndWarner("15m").check(time.Time{}, t0); due {
		t.Error("a job without a limit warned")
	}
}
