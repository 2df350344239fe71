package sshexec

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestProcessStart(t *testing.T) {
	self := ProcessStart(os.Getpid())
	if self == "" {
		t.Fatal("no start time for this very process")
	}
	if again := ProcessStart(os.Getpid()); again != self {
		t.Errorf("the start of one process changed: %q, then %q", self, again)
	}
	// Another process started later: the same boot, a start no earlier
	// (clock ticks are 10 ms: two starts may share one).
	other := startSleep(t)
	s := ProcessStart(other.Process.Pid)
	boot, ticks, _ := strings.Cut(self, "/")
	oboot, oticks, _ := strings.Cut(s, "/")
	n, _ := strconv.ParseUint(ticks, 10, 64)
	on, err := strconv.ParseUint(oticks, 10, 64)
	if s == "" || oboot != boot || err != nil || on < n {
		t.Errorf("start of another process = %q (this one's: %q)", s, self)
	}
	if s := ProcessStart(0); s != "" {
		t.Errorf("ProcessStart(0) = %q", s)
	}
}

func TestProcessStartOfZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	// Not reaped yet: a zombie, which no kill must be aimed at.
	for i := 0; i < 200 && ProcessStart(cmd.Process.Pid) != ""; i++ {
		exec.Command("sleep", "0.01").Run()
	}
	if s := ProcessStart(cmd.Process.Pid); s != "" {
		t.Errorf("a zombie has start %q, want none", s)
	}
}

func TestRecordedPID(t *testing.T) {
	dir := t.TempDir()
	live := startSleep(t)
	path := filepath.Join(dir, "x.pid")
	if err := WritePIDFile(path, live.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pid file: %v, %v", fi, err)
	}
	if got := RecordedPID(path); got != live.Process.Pid {
		t.Errorf("RecordedPID of a live process = %d, want %d", got, live.Process.Pid)
	}

	pid := strconv.Itoa(live.Process.Pid)
	// Another process's start: the same boot, a second later (this test
	// process may have started in the same 10 ms tick as the sleep).
	boot, ticks, _ := strings.Cut(ProcessStart(live.Process.Pid), "/")
	n, _ := strconv.ParseUint(ticks, 10, 64)
	other := boot + "/" + strconv.FormatUint(n+100, 10)
	for name, content := range map[string]string{
		"older format, pid alone": pid + "\n",
		"pid reused":              pid + " " + other + "\n",
		"garbage":                 "x y\n",
		"negative":                "-1 " + ProcessStart(os.Getpid()) + "\n",
		"empty":                   "",
	} {
		os.WriteFile(path, []byte(content), 0o600)
		if got := RecordedPID(path); got != 0 {
			t.Errorf("%s (%q): RecordedPID = %d, want 0", name, content, got)
		}
	}

	record := pid + " " + ProcessStart(live.Process.Pid) + "\n"
	live.Process.Kill()
	live.Wait()
	os.WriteFile(path, []byte(record), 0o600)
	if got := RecordedPID(path); got != 0 {
		t.Errorf("a dead process's record: RecordedPID = %d, want 0", got)
	}
	if got := RecordedPID(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("missing file: %d", got)
	}
}

func TestIsOurMasterChecksArgv(t *testing.T) {
	other := startSleep(t)
	if isOurMaster(other.Process.Pid, t.TempDir()) {
		t.Error("a sleep counts as jt's ssh master")
	}
	if isOurMaster(0, t.TempDir()) {
		t.Error("pid 0 counts as jt's ssh master")
	}
}
