package main

// Layer 3 of STYLE.md "Tests, in layers": jt as a user types it, with
// rogpeppe/go-internal's testscript (testdata/script/*.txtar). TestMain
// registers jt with testscript.Main: the scripts run this test binary as
// "jt" from a directory testscript puts first on their PATH.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"jt": func() { os.Exit(run(os.Args, os.Stderr)) },
	})
}

// fakeSSH is what JT_SSH points at unless a script says otherwise: it
// records that it ran (a usage error must never get that far) and fails as
// ssh does.
const fakeSSH = `#!/bin/sh
printf '%s\n' "$*" >>"$WORK/ssh-ran"
echo "ssh: connect to host fake port 22: Connection refused" >&2
exit 255
`

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// $WORK is too long for a control socket path: a short runtime dir.
			rt, err := os.MkdirTemp("/tmp", "jts")
			if err != nil {
				return err
			}
			env.Defer(func() { os.RemoveAll(rt) })
			env.Setenv("XDG_RUNTIME_DIR", rt)
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "state"))
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("JT_SSH_CONFIG", "")
			env.Setenv("BROWSER", "")
			env.Setenv("DISPLAY", "")
			env.Setenv("WAYLAND_DISPLAY", "")
			ssh := filepath.Join(env.WorkDir, "fakessh")
			env.Setenv("JT_SSH", ssh)
			return os.WriteFile(ssh, []byte(fakeSSH), 0o755)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": exitcode,
		},
	})
}

// exitcode N command args... runs command and checks its exit status is N;
// its stdout and stderr are kept for the stdout and stderr commands.
func exitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
