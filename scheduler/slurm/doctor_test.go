//go:build unix

package slurm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/slurm"
	"github.com/jt-sh/jt/templates/scripttest"
)

// checks runs jt doctor's Slurm script and returns status and message of
// each check by name.
func checks(t *testing.T, home string, args []string, env ...string) map[string][2]string {
	t.Helper()
	var c scheduler.Checker = slurm.Slurm{}
	script, err := c.Checks(args)
	if err != nil {
		t.Fatal(err)
	}
	return scripttest.Checks(t, home, script, env...)
}

// sbatch --test-only with the user's options as the words they are (none
// run as code), jt's own after them; its start estimate in the message.
func TestSlurmDoctorAllGood(t *testing.T) {
	home := t.TempDir()
	bin, argvFile := fakeSlurm(t)
	os.WriteFile(filepath.Join(bin, "sbatch"), []byte("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >\""+argvFile+"\"\necho 'sbatch: Job 270 to start at 2026-12-01T19:13:28 using 1 processors on nodes node1 in partition debug' >&2\n"), 0o755)
	args := []string{"-p", "gpu", "--account", "$(touch " + home + "/pwned)"}
	got := checks(t, home, args, "PATH="+bin+":"+os.Getenv("PATH"))
	for _, id := range []string{"slurm", "controller", "submit"} {
		if got[id][0] != "ok" {
			t.Errorf("check %s: %q", id, got[id])
		}
	}
	argv, _ := os.ReadFile(argvFile)
	want := "--test-only\n-p\ngpu\n--account\n$(touch " + home + "/pwned)\n-J\njt-doctor\n-o\n/dev/null\n--wrap\ntrue\n"
	if string(argv) != want {
		t.Errorf("sbatch argv %q, want %q", argv, want)
	}
	if _, err := os.Stat(filepath.Join(home, "pwned")); err == nil {
		t.Error("an option ran as code")
	}
	if !strings.Contains(got["submit"][1], "to start at 2026-12-01T19:13:28 using 1 processors on nodes node1 in partition debug") {
		t.Errorf("the submit check does not say where and when: %q", got["submit"])
	}
}

// sbatch refusing is a failed check with its own words; squeue failing
// stops the checks there; no sbatch, at the first.
func TestSlurmDoctorFailures(t *testing.T) {
	home := t.TempDir()
	bin, _ := fakeSlurm(t)
	path := "PATH=" + bin + ":" + os.Getenv("PATH")
	got := checks(t, home, []string{"-p", "bad"}, path)
	if got["submit"][0] != "fail" || !strings.Contains(got["submit"][1], "invalid partition specified: bad") {
		t.Errorf("submit with a bad partition: %q", got["submit"])
	}
	os.WriteFile(filepath.Join(bin, "squeue"), []byte("#!/bin/sh\necho 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2\nexit 1\n"), 0o755)
	got = checks(t, home, nil, path)
	if got["controller"][0] != "fail" || !strings.Contains(got["controller"][1], "Unable to contact slurm controller") {
		t.Errorf("controller down: %q", got["controller"])
	}
	if _, ok := got["submit"]; ok {
		t.Errorf("a submit check after the controller failed: %q", got)
	}
	got = checks(t, home, nil, "PATH="+scripttest.PathWithout(t, "sbatch"))
	if got["slurm"][0] != "fail" || !strings.Contains(got["slurm"][1], "no sbatch") || len(got) != 1 {
		t.Errorf("no sbatch: %q", got)
	}
}
