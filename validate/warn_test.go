package validate

import (
	"slices"
	"testing"
	"time"
)

func TestWarnPoints(t *testing.T) {
	got, err := WarnPoints("2m, 15m,2m")
	if err != nil || !slices.Equal(got, []time.Duration{15 * time.Minute, 2 * time.Minute}) {
		t.Errorf("got %v %v", got, err)
	}
	for _, none := range []string{"", "none", " "} {
		if got, err := WarnPoints(none); err != nil || got != nil {
			t.Errorf("%q: %v %v", none, got, err)
		}
	}
	for _, bad := range []string{"15", "15m,", "-1m", "0s", "1000h", "$(touch x)", "1m,2m,3m,4m,5m,6m,7m,8m,9m,10m,11m", "15m\n2m"} {
		if _, err := WarnPoints(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
