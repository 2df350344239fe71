package session

import (
	"testing"
	"time"

	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// jt ls reads the verdicts of sessions opened with --idle through a master
// only, plain and batch, and gives them to up rows alone.
func TestWatchedAndVerdicts(t *testing.T) {
	recorded := []state.Session{
		{Host: "h", Name: "plain", IdleSeconds: 60},
		{Host: "h", Name: "never"},
		{Host: "h", Name: "direct", IdleSeconds: 60, Transport: "direct"},
		{Host: "h", Name: "job", IdleSeconds: 60, Job: &state.Job{Scheduler: "slurm", ID: "7", Nonce: "ab12"}},
	}
	got := watched(recorded)
	want := []templates.ActivityOf{{Name: "plain"}, {Name: "job", Scheduler: "slurm", Nonce: "ab12"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("watched: %+v, want %+v", got, want)
	}
	rows := []Status{
		{Session: recorded[0], State: StateUp, Idle: "1s"},
		{Session: recorded[3], State: StateUp, Idle: "1s"},
		{Session: state.Session{Host: "h", Name: "down", IdleSeconds: 60}, State: StateTunnelDown},
		{Session: state.Session{Host: "other", Name: "plain", IdleSeconds: 60}, State: StateUp, Idle: "5s"},
	}
	withVerdicts(rows, "h", map[string]templates.Verdict{
		"plain": {State: "idle", Idle: 42 * time.Second, Period: time.Minute},
		"job":   {State: "busy", Reason: "computing", Period: time.Minute},
		"down":  {State: "busy", Reason: "client", Period: time.Minute},
	})
	for i, w := range []struct{ activity, idle string }{{"idle for 42s", "42s"}, {"busy: kernel computing", "0s"}, {"", ""}, {"", "5s"}} {
		if rows[i].Activity != w.activity || rows[i].Idle != w.idle {
			t.Errorf("row %s/%s: activity %q idle %q; want %q %q", rows[i].Host, rows[i].Name, rows[i].Activity, rows[i].Idle, w.activity, w.idle)
		}
	}
}
