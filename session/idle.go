package session

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/jt-sh/jt/state"
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

// answersAt is answers, with the server's last activity.
func (e *Engine) answersAt(ctx context.Context, s state.Session) (time.Time, bool) {
	if s.LocalPort == 0 {
		return time.Time{}, false
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	last, err := e.probeStatus(pctx, s)
	return last, err == nil
}
