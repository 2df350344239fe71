package session

import (
	"strings"
	"testing"
	"time"
)

func TestReadLastActivity(t *testing.T) {
	now := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	got := readLastActivity(strings.NewReader(`{"connections": 0, "kernels": 0, "last_activity": "2026-12-01T15:58:30.123456Z", "started": "2026-12-01T15:00:00Z"}`))
	if s := idleFor(got, now); s != "1m30s" {
		t.Errorf("idle %q, want 1m30s", s)
	}
	for _, bad := range []string{`{}`, `{"last_activity": "yesterday"}`, `not json`, `{"last_activity": 5}`, ``} {
		if s := idleFor(readLastActivity(strings.NewReader(bad)), now); s != "" {
			t.Errorf("%q: idle %q, want none", bad, s)
		}
	}
	// A server clock ahead of this one's: no idle time, not a negative one.
	if s := idleFor(now.Add(time.Minute), now); s != "0s" {
		t.Errorf("clock ahead: %q", s)
	}
	// An endless answer is read no further than 64 kB.
	if s := idleFor(readLastActivity(strings.NewReader(`{"x": "`+strings.Repeat("a", 100<<10)+`", "last_activity": "2026-12-01T15:58:30Z"}`)), now); s != "" {
		t.Errorf("a 100 kB answer was read: %q", s)
	}
}
