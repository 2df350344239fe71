package sshexec

import (
	"context"
	"slices"
	"testing"
)

// argvRunner records each argv; -O check fails (no master) unless live.
type argvRunner struct {
	live  bool
	calls [][]string
	modes []Mode
}

func (r *argvRunner) Run(_ context.Context, c Cmd) (Result, error) {
	r.calls = append(r.calls, c.Args)
	r.modes = append(r.modes, c.Mode)
	if slices.Contains(c.Args, "check") && !r.live {
		return Result{ExitCode: 255}, ErrNoMaster
	}
	return Result{Stderr: []byte("Master running (pid=42)\n")}, nil
}

// A quiet master is the master's own argv with BatchMode=yes first (ssh
// keeps the first value, so no config file can make it ask); a live
// master is left as it is.
func TestEnsureMasterQuiet(t *testing.T) {
	r := &argvRunner{}
	c := &Client{ControlDir: "/run/user/1000/jt", ConfigFile: "/home/a/ssh config", Runner: r, Options: []string{"BatchMode=no"}}
	started, err := c.EnsureMasterQuiet(context.Background(), "gpu1")
	if err != nil || !started {
		t.Fatalf("EnsureMasterQuiet: started %v, err %v; want a started master", started, err)
	}
	if len(r.calls) != 2 {
		t.Fatalf("calls %q, want -O check then the master", r.calls)
	}
	quiet, want := r.calls[1], c.MasterArgs("gpu1")
	if !slices.Equal(quiet[:2], []string{"-o", "BatchMode=yes"}) || !slices.Equal(quiet[2:], want) {
		t.Errorf("quiet master argv %q, want -o BatchMode=yes then %q", quiet, want)
	}
	if r.modes[1] != Master {
		t.Errorf("quiet master ran in mode %v, want Master (a daemonising ssh)", r.modes[1])
	}

	live := &argvRunner{live: true}
	c.Runner = live
	if started, err := c.EnsureMasterQuiet(context.Background(), "gpu1"); started || err != nil || len(live.calls) != 1 {
		t.Errorf("with a live master: started %v, err %v, calls %q; want the one -O check", started, err, live.calls)
	}
}
