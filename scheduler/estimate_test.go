package scheduler_test

import (
	"testing"

	"github.com/jt-sh/jt/scheduler"
)

func TestEstimate(t *testing.T) {
	for _, c := range []struct{ start, now, want string }{
		{"2026-12-01T16:04:05", "2026-12-01T16:00:00", "in 4m5s"},
		{"2026-12-02T00:00:00", "2026-12-01T23:59:30", "in 30s"},
		{"2026-12-01T15:00:00", "2026-12-01T16:00:00", "now"},
		{"N/A", "2026-12-01T16:00:00", scheduler.NoEstimate},
		{"Unknown", "2026-12-01T16:00:00", scheduler.NoEstimate},
		{"", "2026-12-01T16:00:00", scheduler.NoEstimate},
		{"2027-12-31T00:00:00", "2026-12-01T16:00:00", scheduler.NoEstimate},
		// Slurm's "a year from when it looked", read 22 s later (seen on the test cluster).
		{"2027-12-01T16:00:00", "2026-12-01T16:00:22", scheduler.NoEstimate},
		{"2026-13-01T16:04:05", "2026-12-01T16:00:00", scheduler.NoEstimate},
		{"2026-12-01T16:04:05", "", scheduler.NoEstimate},
		{"$(touch x)", "2026-12-01T16:00:00", scheduler.NoEstimate},
	} {
		if got := scheduler.Estimate(c.start, c.now); got != c.want {
			t.Errorf("Estimate(%q, %q) = %q, want %q", c.start, c.now, got, c.want)
		}
	}
}
