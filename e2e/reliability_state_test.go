package e2e

// Reliability under faults, continued (reliability_test.go): a damaged,
// newer or unwritable state file.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// 6. Faults of the local state file.
func TestE2EReliabStateFaults(t *testing.T) {
	needE2E(t)
	t.Run("corrupt", func(t *testing.T) {
		e := newEnv(t)
		first := e.open(hostA, "sc")
		garbage := []byte("garbage [[[\nhost = \"hosta\"\n\x00\xff not toml = = \n")
		if err := os.WriteFile(e.statePath(), garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := e.run("ls", "--json", hostA)
		if code != 0 {
			t.Fatalf("jt ls with a damaged state file: exit %d\n%s", code, stderr)
		}
		aside := relAsideName(t, e, stderr)
		if !strings.Contains(stderr, hostA) {
			t.Errorf("the warning does not name the host found in the damaged file:\n%s", stderr)
		}
		if got, err := os.ReadFile(aside); err != nil || !bytes.Equal(got, garbage) {
			t.Errorf("%s holds %q (%v), want the damaged bytes %q", aside, got, err, garbage)
		}
		r := row(t, lsRows(t, stdout), hostA, "sc")
		if r.Recorded || r.PID != first.PID || r.State != "tunnel down" {
			t.Errorf("jt ls %s after the damage: %+v, want the running server (pid %d), recorded=false, tunnel down", hostA, r, first.PID)
		}
		again := e.open(hostA, "sc")
		if again.PID != first.PID || again.Status != "running" {
			t.Errorf("jt open after the damage: pid %d status %q, want pid %d running", again.PID, again.Status, first.PID)
		}
		mustAnswer(t, again.URL)
		if !e.recorded(hostA, "sc") {
			t.Errorf("the reattached session is not recorded again")
		}
	})

	// Two damaged files in a row (within the same second, the name of the
	// file moved aside being stamped to the second): neither is lost.
	t.Run("corrupt-twice", func(t *testing.T) {
		e := newEnv(t)
		if err := os.MkdirAll(filepath.Dir(e.statePath()), 0o700); err != nil {
			t.Fatal(err)
		}
		for try := 0; try < 5; try++ {
			// Start just after a second begins, to fit both in it.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
			from := time.Now().Unix()
			first := []byte(fmt.Sprintf("first damage %d [[[\n", try))
			second := []byte(fmt.Sprintf("second damage %d ]]]\n", try))
			os.WriteFile(e.statePath(), first, 0o600)
			_, stderr1, _ := e.run("url", hostA)
			os.WriteFile(e.statePath(), second, 0o600)
			_, stderr2, _ := e.run("url", hostA)
			sameSecond := time.Now().Unix() == from
			aside1, aside2 := relAsideName(t, e, stderr1), relAsideName(t, e, stderr2)
			if got, _ := os.ReadFile(aside2); !bytes.Equal(got, second) {
				t.Errorf("%s holds %q, want %q", aside2, got, second)
			}
			if got, _ := os.ReadFile(aside1); !bytes.Equal(got, first) {
				t.Fatalf("the first damaged file is lost: %s now holds %q, want %q (the second damaged file went to %s)", aside1, got, first, aside2)
			}
			if sameSecond {
				return
			}
		}
		t.Logf("could not fit two damaged files in one second; both were kept in every try")
	})

	t.Run("newer", func(t *testing.T) {
		e := newEnv(t)
		e.opened[[2]string{hostA, "sn"}] = true
		newer := []byte("schema_version = 99\n\n[[sessions]]\nhost = \"hosta\"\nname = \"future\"\nhologram = true\n")
		if err := os.MkdirAll(filepath.Dir(e.statePath()), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.statePath(), newer, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(e.statePath()) // so that the env's cleanup can run jt
		for _, args := range [][]string{
			{"open", "--no-browser", "--name", "sn", hostA},
			{"close", "--kill", "--all"},
		} {
			_, stderr, code := e.run(args...)
			if code == 0 {
				t.Errorf("jt %s with a state file from a newer jt: exit 0", strings.Join(args, " "))
			}
			if !strings.Contains(strings.ToLower(stderr), "upgrade") {
				t.Errorf("jt %s: the message does not say to upgrade jt:\n%s", strings.Join(args, " "), stderr)
			}
			if got, err := os.ReadFile(e.statePath()); err != nil || !bytes.Equal(got, newer) {
				t.Errorf("after jt %s the newer state file is %q (%v), want it unchanged", strings.Join(args, " "), got, err)
			}
		}
		if m, _ := filepath.Glob(e.statePath() + ".corrupt-*"); len(m) > 0 {
			t.Errorf("a newer state file was treated as damaged: %v", m)
		}
		noRemoteTrace(t, hostA, "sn")
	})

	t.Run("disk-full", func(t *testing.T) {
		e := newEnv(t)
		// The state directory on a 64 kB tmpfs of its own.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", e.State).CombinedOutput(); err != nil {
			missingReq(t, fmt.Sprintf("cannot mount a tmpfs (%v: %s)", err, out))
		}
		fill := filepath.Join(e.State, "fill")
		t.Cleanup(func() {
			// Before the env's cleanup (which needs a writable state file),
			// and the unmount after it.
			os.Remove(fill)
			e.run("close", "--kill", "--all")
			if out, err := exec.Command("umount", e.State).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", e.State, err, out)
			}
		})
		first := e.open(hostA, "fd1")
		before, err := os.ReadFile(e.statePath())
		if err != nil {
			t.Fatal(err)
		}
		if err := fillDisk(fill); err != nil {
			t.Fatalf("fill %s: %v", e.State, err)
		}

		e.opened[[2]string{hostA, "fd2"}] = true
		_, stderr, code := e.run("open", "--no-browser", "--json", "--name", "fd2", hostA)
		if code == 0 {
			t.Errorf("jt open with the state disk full: exit 0")
		}
		if !strings.Contains(stderr, "full") {
			t.Errorf("jt open with the state disk full does not say the disk is full:\n%s", stderr)
		}
		if got, err := os.ReadFile(e.statePath()); err != nil || !bytes.Equal(got, before) {
			t.Errorf("the state file changed with the disk full (%v):\nbefore:\n%s\nafter:\n%s", err, before, got)
		}
		noRemoteTrace(t, hostA, "fd2")
		mustAnswer(t, first.URL)

		if err := os.Remove(fill); err != nil {
			t.Fatal(err)
		}
		second := e.open(hostA, "fd2")
		mustAnswer(t, second.URL)
		if !e.recorded(hostA, "fd1") || !e.recorded(hostA, "fd2") {
			t.Errorf("after freeing space, both sessions should be recorded")
		}
	})
}

// relAsideName finds the state.toml.corrupt-… file jt's warning names.
func relAsideName(t *testing.T, e *env, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`\S*state\.toml\.corrupt-[0-9TZ]+(-[0-9]+)?`).FindString(stderr)
	if m == "" {
		t.Fatalf("no warning naming state.toml.corrupt-… on stderr:\n%s", stderr)
	}
	if filepath.Dir(m) != filepath.Dir(e.statePath()) {
		t.Errorf("the damaged file was moved to %s, not next to the state file", m)
	}
	return m
}

// fillDisk writes to path until the file system is full (ENOSPC).
func fillDisk(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := 0; i < 1<<20; i++ {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				// A last partial block, then nothing more fits.
				f.Write(buf[:1])
				return nil
			}
			return err
		}
	}
	return errors.New("never ran out of space")
}
