package templates

import (
	"fmt"
	"strconv"
	"time"

	"github.com/jt-sh/jt/validate"
)

// Activity is the input of activity.sh: the verdicts of the idle watchers
// of sessions (see idle.sh.tmpl).
type Activity struct{ Sessions []ActivityOf }

// ActivityOf is one session whose verdict jt ls reads: a plain session
// (Scheduler "") or a batch job's (its scheduler and nonce name its run
// directory in the shared home).
type ActivityOf struct{ Name, Scheduler, Nonce string }

// Dir is the session's run directory under ~/.local/state/jt.
func (a ActivityOf) Dir() (string, error) {
	if !validate.IsName(a.Name) {
		return "", fmt.Errorf("session name %q is not one jt records", a.Name)
	}
	if a.Scheduler == "" {
		return "sessions/" + a.Name, nil
	}
	if !schedulerRE.MatchString(a.Scheduler) || !nonceRE.MatchString(a.Nonce) || a.Nonce == "" {
		return "", fmt.Errorf("scheduler %q or nonce %q is not one jt records", a.Scheduler, a.Nonce)
	}
	return a.Scheduler + "/" + a.Name + "/" + a.Nonce, nil
}

// Verdict is what a session's idle watcher last judged, as the gate read it.
type Verdict struct {
	Name string // the session the verdict is of
	// State is "busy", "idle", "released" (the watcher shut the server
	// down) or "off" (it cannot run: Reason "nopython"); "" when the
	// session has no verdict (no watcher, or none written yet).
	State string
	// Reason, of busy: "computing" (CPU used or a cell running),
	// "client" (a client connected to a kernel), "terminal", or "unknown"
	// (evidence the watcher could not read, which counts as activity).
	Reason string
	Idle   time.Duration // of idle: for how long nothing has been active
	Period time.Duration // the idle period the watcher releases after
	Age    time.Duration // how long ago it was written, by the host's clock
}

// VerdictOf reads one block of activity.sh's answer (checked by the gate).
func VerdictOf(b Block) Verdict {
	v := Verdict{Name: b.Values["name"], State: b.Values["state"], Reason: b.Values["reason"]}
	secs := func(k string) time.Duration {
		n, _ := strconv.ParseInt(b.Values[k], 10, 64)
		return time.Duration(n) * time.Second
	}
	v.Idle, v.Period = secs("idle"), secs("period")
	if at, now := secs("at"), secs("now"); v.State != "" {
		v.Age = max(now-at, 0)
	}
	return v
}

// Silent reports whether the watcher has not written for longer than its
// looks take: it has stopped, and nothing will be released.
func (v Verdict) Silent() bool {
	interval := min(max(v.Period/5, 2*time.Second), 30*time.Second)
	return v.State != "" && v.State != "released" && v.State != "off" && v.Age > 3*interval+20*time.Second
}

// Say is the verdict as jt ls shows it: "busy: kernel computing", "idle
// for 12s"…; "" for no verdict.
func (v Verdict) Say() string {
	if v.Silent() {
		return "watcher silent for " + v.Age.String()
	}
	switch v.State {
	case "busy":
		return "busy: " + map[string]string{"computing": "kernel computing", "client": "client connected",
			"terminal": "terminal open", "unknown": "cannot tell"}[v.Reason]
	case "idle":
		return "idle for " + v.Idle.String()
	case "released":
		return "released"
	case "off":
		return "not watched: no Python with zmq"
	}
	return ""
}
