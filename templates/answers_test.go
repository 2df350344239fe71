package templates_test

import (
	"testing"

	"github.com/jt-sh/jt/templates"
)

// The typed answers read what the gate let through, as fields: numbers as
// numbers, yes as true; a key the gate dropped, or the script did not
// send, as the zero value.
func TestTypedAnswers(t *testing.T) {
	read := func(kind templates.Kind, out string) templates.Block {
		t.Helper()
		r, err := templates.Read("gpu1", kind, []byte(out))
		if err != nil || len(r.Blocks) != 1 {
			t.Fatalf("Read: %v, %d blocks", err, len(r.Blocks))
		}
		return r.Blocks[0]
	}
	s := read(templates.KindSession, "@@JT-SESSION@@\nname=nb\nstate=elsewhere\nnode=n2\nhere=n1\nstarted=1700000000\nidle_period=600\nidle=yes\nmux=tmux\nsecret=dropped\n@@JT-END@@\n").Session()
	if want := (templates.SessionAnswer{Name: "nb", State: "elsewhere", Node: "n2", Here: "n1", Started: 1700000000, IdlePeriod: 600, Idle: true, Mux: "tmux"}); s != want {
		t.Errorf("Session() = %+v, want %+v", s, want)
	}
	if c := read(templates.KindClose, "@@JT-SESSION@@\nname=nb\nstate=stopped\npid=4242\n@@JT-END@@\n").Close(); c.PID != 4242 || c.State != "stopped" || c.Name != "nb" {
		t.Errorf("Close() = %+v", c)
	}
	o := read(templates.KindBatchOpen, "@@JT-ERROR@@\nerror=job 12 ended\nhint=see its log\nended=yes\njob=12\n@@JT-END@@\n")
	if a, f := o.BatchOpen(), o.Failure(); !a.Ended || a.Waits || a.Job != "12" || a.Port != 0 || f.Error != "job 12 ended" || f.Hint != "see its log" {
		t.Errorf("BatchOpen() = %+v, Failure() = %+v", a, f)
	}
	w := read(templates.KindBatchOpen, "@@JT-SESSION@@\nstatus=started\njob=12\nnode=node1\naddr=10.0.0.2\nwait=mode\n@@JT-END@@\n").BatchOpen()
	if !w.Waits || w.Status != "started" || w.Addr != "10.0.0.2" {
		t.Errorf("BatchOpen() of a waiting job = %+v", w)
	}
	p := read(templates.KindPorts, "@@JT-SESSION@@\npid=77\nport=8890\naddr=127.0.0.1\ncmd=python3\n@@JT-END@@\n").Ports()
	if p.PID != 77 || p.Port != 8890 || p.Addr != "127.0.0.1" || p.Cmd != "python3" {
		t.Errorf("Ports() = %+v", p)
	}
	st := read(templates.KindBatchStatus, "@@JT-SESSION@@\njob=12\nstate=RUNNING\nnodes=node1\ninfo_port=8888\ninfo_started=1700000000\nidle=yes\n@@JT-END@@\n").BatchStatus()
	if st.Job != "12" || st.State != "RUNNING" || st.Nodes != "node1" || st.InfoPort != 8888 || st.InfoStarted != 1700000000 || !st.Idle {
		t.Errorf("BatchStatus() = %+v", st)
	}
}
