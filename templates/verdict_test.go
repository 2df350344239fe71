package templates_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/templates"
)

func activityAnswer(lines ...string) []byte {
	return []byte("@@JT-HELLO@@\n@@JT-SESSION@@\nname=default\nnow=1000\n" + strings.Join(lines, "\n") + "\n@@JT-END@@\n@@JT-DONE@@\n")
}

// A verdict read through the gate, as jt ls says it.
func TestVerdictSay(t *testing.T) {
	for _, c := range []struct {
		lines []string
		say   string
		idle  time.Duration
	}{
		{[]string{"at=998", "period=20", "state=busy", "reason=computing"}, "busy: kernel computing", 0},
		{[]string{"at=998", "period=20", "state=busy", "reason=client"}, "busy: client connected", 0},
		{[]string{"at=998", "period=20", "state=busy", "reason=terminal"}, "busy: terminal open", 0},
		{[]string{"at=998", "period=20", "state=busy", "reason=unknown"}, "busy: cannot tell", 0},
		{[]string{"at=998", "period=20", "state=idle", "idle=12"}, "idle for 12s", 12 * time.Second},
		{[]string{"at=998", "period=7200", "state=idle", "idle=3725"}, "idle for 1h2m5s", 3725 * time.Second},
		{[]string{"at=990", "period=20", "state=released"}, "released", 0},
		{[]string{"at=990", "period=20", "state=off", "reason=nopython"}, "not watched: no Python with zmq", 0},
		// Not written for longer than three looks and 20s: the watcher stopped.
		{[]string{"at=900", "period=20", "state=busy", "reason=computing"}, "watcher silent for 1m40s", 0},
		{[]string{"at=900", "period=7200", "state=busy", "reason=computing"}, "busy: kernel computing", 0},
		{nil, "", 0}, // no verdict file
		{[]string{"at=999", "period=20", "bogus=1", "state=idle", "idle=3"}, "idle for 3s", 3 * time.Second},
	} {
		r, err := templates.Read("h", templates.KindActivity, activityAnswer(c.lines...))
		if err != nil || len(r.Blocks) != 1 {
			t.Fatalf("%q: %v, %d blocks", c.lines, err, len(r.Blocks))
		}
		v := templates.VerdictOf(r.Blocks[0])
		if got := v.Say(); got != c.say || v.Idle != c.idle {
			t.Errorf("%q: says %q, idle %v; want %q, %v", c.lines, got, v.Idle, c.say, c.idle)
		}
	}
}

// The verdict file is written on the host: anything off its grammar is
// refused, never shown.
func TestVerdictHostile(t *testing.T) {
	for _, l := range []string{
		"state=computing", "state=busy\x1b[31m", "state=", "reason=computing; rm -rf", "reason=client connected",
		"idle=-1", "idle=12s", "idle=99999999999999999999", "period=5", "period=abc", "at=12:00",
		"name=../x", "name=", "now=-3", "state=busy " + strings.Repeat("x", 10000),
	} {
		if _, err := templates.Read("h", templates.KindActivity, activityAnswer(l)); !templates.Refused(err) {
			t.Errorf("%q: %v; want it refused", l, err)
		}
	}
}

// activity.sh names each session's run directory from jt's own records;
// a name or nonce off their grammar is an error, and nothing is rendered.
func TestActivityRender(t *testing.T) {
	s, err := templates.Render(templates.Activity{Sessions: []templates.ActivityOf{{Name: "default"}, {Name: "gpu", Scheduler: "slurm", Nonce: "ab12"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"verdict 'default' \"$base/\"'sessions/default'\n", "verdict 'gpu' \"$base/\"'slurm/gpu/ab12'\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("activity.sh lacks %q:\n%s", want, s)
		}
	}
	for _, a := range []templates.ActivityOf{{Name: "../x"}, {Name: "a b"}, {Name: "x", Scheduler: "Slurm", Nonce: "ab"}, {Name: "x", Scheduler: "slurm"}, {Name: "x", Scheduler: "slurm", Nonce: "../.."}} {
		if _, err := templates.Render(templates.Activity{Sessions: []templates.ActivityOf{a}}); err == nil {
			t.Errorf("%+v rendered", a)
		}
	}
}
