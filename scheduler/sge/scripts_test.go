package sge_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/sge"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// The scripts' inputs are every scheduler's (the scheduler package's
// tests parse them with hostile values); Render knows no other input.
func TestRenderSGERefuses(t *testing.T) {
	if _, err := sge.Render(templates.Open{}); err == nil {
		t.Error("Render(Open) should refuse")
	}
}

// fakeSGE puts qsub, qstat and qdel stand-ins first on PATH: qsub records
// its argv one word per line and answers job 42 (or refuses -q nosuch as
// Grid Engine does); qstat lists no jobs.
func fakeSGE(t *testing.T) (bin, argvFile string) {
	t.Helper()
	bin = t.TempDir()
	argvFile = filepath.Join(bin, "argv")
	writeExec := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeExec("qsub", `for a in "$@"; do printf '%s\n' "$a"; done >"`+argvFile+`"
for a in "$@"; do last=$a; done
cp "$last" "`+argvFile+`.job"
stat -c %a "$last" >"`+argvFile+`.mode"
case " $* " in *" -q nosuch "*) echo 'Unable to run job: Job was rejected because job requests unknown queue "nosuch".'; echo Exiting.; exit 1 ;; esac
echo 42
`)
	writeExec("qstat", "echo \"<?xml version='1.0'?>\"; echo '<job_info></job_info>'\n")
	writeExec("qdel", "exit 0\n")
	return bin, argvFile
}

// Each qsub option arrives as the one word it was, after the user's
// options come jt's own, and the job script is written as rendered, 0600.
func TestSGEOpenSubmitsWords(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("stat -c is GNU's")
	}
	home := t.TempDir()
	bin, argvFile := fakeSGE(t)
	args := []string{"-l", "h_rt=1:00:00", "-pe", "smp", "4", "-P", "$(touch " + home + "/pwned)", "-q", "it's a \"q\""}
	job, err := sge.Render(scheduler.JobScript{Name: "s1", Nonce: "00ff", Command: "jupyter lab '$(touch " + home + "/pwned)'"})
	if err != nil {
		t.Fatal(err)
	}
	script, err := sge.Render(scheduler.OpenScript{Name: "s1", Nonce: "00ff", Args: args, Job: job, Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	// qstat knows no job 42: the script says it ended, after submitting.
	r := scripttest.Run(t, home, script, "PATH="+bin+":"+os.Getenv("PATH"))
	got, err := os.ReadFile(argvFile)
	if err != nil {
		t.Fatalf("qsub did not run: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	run := filepath.Join(home, ".local/state/jt/sge/s1/00ff")
	want := append([]string{"-terse"}, args...)
	want = append(want, "-N", "jt-s1", "-o", run+"/log", "-j", "y", "-S", "/bin/sh", "-C", "", run+"/job.sh")
	if g := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n"); strings.Join(g, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("qsub argv:\n%q\nwant\n%q", g, want)
	}
	if data, _ := os.ReadFile(argvFile + ".job"); string(data) != job+"\n" {
		t.Errorf("job script differs from the rendered one:\n%s", data)
	}
	if mode, _ := os.ReadFile(argvFile + ".mode"); strings.TrimSpace(string(mode)) != "600" {
		t.Errorf("job script mode %s, want 600", mode)
	}
	if _, err := os.Stat(filepath.Join(home, "pwned")); err == nil {
		t.Error("a value ran as code")
	}
	if id, _ := os.ReadFile(run + "/job"); string(id) != "42\n" {
		t.Errorf("job file %q, want 42", id)
	}
	if len(r.Reply.Blocks) != 1 || !r.Reply.Blocks[0].Error || !strings.Contains(r.Reply.Blocks[0].Values["error"], "job 42 ended") {
		t.Errorf("answer %+v, want the error that job 42 ended", r.Reply.Blocks)
	}
}

// A refused submission answers qsub's own message, and leaves no files.
func TestSGEOpenRefused(t *testing.T) {
	home := t.TempDir()
	bin, _ := fakeSGE(t)
	script, err := sge.Render(scheduler.OpenScript{Name: "s2", Nonce: "00aa", Args: []string{"-q", "nosuch"}, Job: "#!/bin/sh\n", Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := scripttest.Run(t, home, script, "PATH="+bin+":"+os.Getenv("PATH"))
	if len(r.Reply.Blocks) != 1 || !r.Reply.Blocks[0].Error {
		t.Fatalf("answer %+v, want one error", r.Reply.Blocks)
	}
	b := r.Reply.Blocks[0]
	if b.Values["error"] != `qsub refused the job: Job was rejected because job requests unknown queue "nosuch".` || !strings.Contains(b.Values["hint"], "qconf -sql") {
		t.Errorf("error %q, hint %q", b.Values["error"], b.Values["hint"])
	}
	if b.Values["job"] != "" {
		t.Errorf("a refused job answered job %q", b.Values["job"])
	}
	if _, err := os.Stat(filepath.Join(home, ".local/state/jt/sge/s2")); err == nil {
		t.Error("a refused job left its directory")
	}
}

// Without Grid Engine on PATH the answers say which command is missing.
func TestSGENoCommands(t *testing.T) {
	home := t.TempDir()
	empty := "PATH=" + scripttest.PathWithout(t, "q")
	script, _ := sge.Render(scheduler.OpenScript{Name: "s3", Nonce: "00bb", Job: "#!/bin/sh\n", Timeout: 5})
	r := scripttest.Run(t, home, script, empty)
	if len(r.Reply.Blocks) != 1 || !strings.Contains(r.Reply.Blocks[0].Values["error"], "qsub not found") {
		t.Errorf("open: %+v", r.Reply.Blocks)
	}
	script, _ = sge.Render(scheduler.CancelScript{Name: "s3"})
	if r := scripttest.Run(t, home, script, empty); len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Values["state"] != "absent" {
		t.Errorf("cancel: %+v", r.Reply.Blocks)
	}
}
