package session

import (
	"encoding/json"
	"io"
	"time"
)

// readLastActivity reads /api/status's answer, bounded: its
// last_activity, zero when the server does not say.
func readLastActivity(r io.Reader) time.Time {
	var st struct {
		LastActivity time.Time `json:"last_activity"`
	}
	if json.NewDecoder(io.LimitReader(r, 64<<10)).Decode(&st) != nil {
		return time.Time{}
	}
	return st.LastActivity
}

// idleFor is how long ago last was, as jt ls writes it ("" when unknown);
// a server clock ahead of this one's counts as no idle time.
func idleFor(last, now time.Time) string {
	if last.IsZero() {
		return ""
	}
	return max(now.Sub(last), 0).Round(time.Second).String()
}
