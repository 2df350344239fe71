package sge_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/sge"
	"github.com/jt-sh/jt/templates/scripttest"
)

// checks runs jt doctor's Grid Engine script and returns status and
// message of each check by name.
func checks(t *testing.T, home string, args []string, env ...string) map[string][2]string {
	t.Helper()
	var c scheduler.Checker = sge.SGE{}
	script, err := c.Checks(args)
	if err != nil {
		t.Fatal(err)
	}
	return scripttest.Checks(t, home, script, env...)
}

func TestDoctorAllGood(t *testing.T) {
	home := t.TempDir()
	bin, argvFile := fakeSGE(t)
	os.WriteFile(filepath.Join(bin, "qsub"), []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >\""+argvFile+"\"\necho 'verification: found suitable queue(s)'\n"), 0o755)
	args := []string{"-q", "all.q", "-P", "$(touch " + home + "/pwned)"}
	got := checks(t, home, args, "PATH="+bin+":"+os.Getenv("PATH"))
	for _, id := range []string{"gridengine", "qmaster", "submit"} {
		if got[id][0] != "ok" {
			t.Errorf("check %s: %q", id, got[id])
		}
	}
	if _, ok := got["cell"]; !ok {
		t.Error("no cell check")
	}
	argv, _ := os.ReadFile(argvFile)
	want := "-w\nv\n-b\ny\n-N\njt-doctor\n-q\nall.q\n-P\n$(touch " + home + "/pwned)\n/bin/true\n"
	if string(argv) != want {
		t.Errorf("qsub argv %q, want %q", argv, want)
	}
	if _, err := os.Stat(filepath.Join(home, "pwned")); err == nil {
		t.Error("an option ran as code")
	}
	if !strings.Contains(got["submit"][1], "$(touch") {
		t.Errorf("the submit check does not show the options as given: %q", got["submit"])
	}
}

// qsub -w v refusing (here: a user id below min_uid) is a failed check
// with qsub's own words.
func TestDoctorSubmitRefused(t *testing.T) {
	home := t.TempDir()
	bin, _ := fakeSGE(t)
	os.WriteFile(filepath.Join(bin, "qsub"), []byte("#!/bin/sh\necho 'Unable to run job: job rejected: your user id 0 is lower than minimum user id 1000 of cluster configuration'\necho Exiting.\nexit 1\n"), 0o755)
	got := checks(t, home, nil, "PATH="+bin+":"+os.Getenv("PATH"))
	if got["submit"][0] != "fail" || !strings.Contains(got["submit"][1], "lower than minimum user id 1000") {
		t.Errorf("submit check %q", got["submit"])
	}
}

func TestDoctorQmasterDown(t *testing.T) {
	home := t.TempDir()
	bin, _ := fakeSGE(t)
	os.WriteFile(filepath.Join(bin, "qstat"), []byte("#!/bin/sh\necho 'error: commlib error: got select error (Connection refused)' >&2\nexit 1\n"), 0o755)
	got := checks(t, home, nil, "PATH="+bin+":"+os.Getenv("PATH"))
	if got["qmaster"][0] != "fail" || !strings.Contains(got["qmaster"][1], "Connection refused") {
		t.Errorf("qmaster check %q", got["qmaster"])
	}
	if _, ran := got["submit"]; ran {
		t.Error("submit was checked with no qmaster")
	}
}

func TestDoctorNoCommands(t *testing.T) {
	got := checks(t, t.TempDir(), nil, "PATH="+scripttest.PathWithout(t, "q"))
	if got["gridengine"][0] != "fail" || !strings.Contains(got["gridengine"][1], "no qsub") {
		t.Errorf("gridengine check %q", got["gridengine"])
	}
	if len(got) != 1 {
		t.Errorf("checks after a missing qsub: %v", got)
	}
}
