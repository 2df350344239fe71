package validate

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WarnPoints reads the keeper's warning points before a job's end: a
// comma-separated list of durations ("15m,2m"), each from 1s to 30 days,
// at most 10; "" or "none" is no warning at all. They come back longest
// first, without repeats.
func WarnPoints(s string) ([]time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d < time.Second || d > 30*24*time.Hour {
			return nil, fmt.Errorf("%q is not a duration from 1s to 720h (like 15m,2m)", part)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) > 10 {
		return nil, fmt.Errorf("%d points: at most 10", len(out))
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int(b - a) })
	return out, nil
}
