//go:build unix

package sshexec_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

// fakeSSH writes a stand-in for ssh that records its argv (NUL-separated)
// and stdin, prints fixed output and exits with code. It returns the
// runner and the recording directory.
func fakeSSH(t *testing.T, body string) (*sshexec.ExecRunner, string) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n" +
		"printf '%s\\0' \"$@\" >\"$REC/argv\"\n" +
		"cat >\"$REC/stdin\"\n" +
		body + "\n"
	path := filepath.Join(dir, "ssh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &sshexec.ExecRunner{Path: path, Env: append(os.Environ(), "REC="+dir)}, dir
}

func recordedArgv(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "argv"))
	if err != nil {
		t.Fatalf("the fake ssh did not run: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func TestExecRunnerPassesArgvVerbatim(t *testing.T) {
	r, rec := fakeSSH(t, `echo out; echo err >&2; exit 0`)
	args := []string{"-o", "ControlPath=/tmp/x y/cm-%C", "--", "gpu1", "a b  c", "$(touch pwned)", "`id`", "'q'", `"dq"`, "*", "line\nbreak", ""}
	script := "echo hello from the script\n$(not run here)\n"
	res, err := r.Run(context.Background(), sshexec.Cmd{Args: args, Stdin: strings.NewReader(script)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := recordedArgv(t, rec); !slices.Equal(got, args) {
		t.Errorf("argv arrived as %q, want %q", got, args)
	}
	if b, _ := os.ReadFile(filepath.Join(rec, "stdin")); string(b) != script {
		t.Errorf("stdin arrived as %q, want %q", b, script)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 0 {
		t.Errorf("Result = %+v", res)
	}
	if _, err := os.Stat(filepath.Join(rec, "pwned")); err == nil {
		t.Error("an argument was run by a shell")
	}
}

func TestExecRunnerExitCodes(t *testing.T) {
	for _, tc := range []struct {
		code      int
		stderr    string
		sshFailed bool
		kind      error
	}{
		{255, "Permission denied (publickey).", true, sshexec.ErrAuth},
		{255, "Control socket connect(/tmp/jt-0/cm-x): No such file or directory", true, sshexec.ErrNoMaster},
		{1, "", false, nil},
		{3, "jt: no log for session x on gpu1", false, nil},
	} {
		r, _ := fakeSSH(t, "echo '"+tc.stderr+"' >&2; exit "+strconv.Itoa(tc.code))
		args := []string{"-O", "check", "--", "gpu1"}
		res, err := r.Run(context.Background(), sshexec.Cmd{Args: args})
		var e *sshexec.Error
		if !errors.As(err, &e) {
			t.Fatalf("exit %d: err = %T %v, want *sshexec.Error", tc.code, err, err)
		}
		if e.ExitCode != tc.code || res.ExitCode != tc.code || e.SSHFailed() != tc.sshFailed {
			t.Errorf("exit %d: ExitCode %d/%d, SSHFailed %v", tc.code, e.ExitCode, res.ExitCode, e.SSHFailed())
		}
		if !slices.Equal(e.Args, args) {
			t.Errorf("Error.Args = %q", e.Args)
		}
		if e.Stderr != tc.stderr {
			t.Errorf("Error.Stderr = %q, want %q", e.Stderr, tc.stderr)
		}
		if tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("exit %d %q: not %v", tc.code, tc.stderr, tc.kind)
		}
	}
}

func TestExecRunnerMissingBinary(t *testing.T) {
	r := &sshexec.ExecRunner{Path: filepath.Join(t.TempDir(), "no-ssh")}
	_, err := r.Run(context.Background(), sshexec.Cmd{Args: []string{"--", "h"}})
	var e *sshexec.Error
	if !errors.As(err, &e) || e.ExitCode != -1 || e.SSHFailed() {
		t.Errorf("err = %v (%+v), want *Error with ExitCode -1", err, e)
	}
}

func TestExecRunnerDeadline(t *testing.T) {
	r, _ := fakeSSH(t, `exec sleep 30`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := r.Run(ctx, sshexec.Cmd{Args: []string{"--", "h"}, Stdin: strings.NewReader("")})
	if !errors.Is(err, sshexec.ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
}

// Master mode: ssh -f daemonises and the daemon keeps stderr open. Run must
// still return without error (a pipe would make Wait hit WaitDelay), and
// what ssh printed before daemonising must come back in Result.Stderr.
func TestExecRunnerMasterDaemonKeepsStderr(t *testing.T) {
	r, rec := fakeSSH(t, `echo "Warning: Permanently added 'gpu1' to the list of known hosts." >&2
sleep 5 >/dev/null &
echo $! >"$REC/daemon"
exit 0`)
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(rec, "daemon")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	res, err := r.Run(context.Background(), sshexec.Cmd{Args: []string{"-fN", "--", "gpu1"}, Mode: sshexec.Master})
	if err != nil {
		t.Fatalf("Run(Master) = %v: the daemon holding stderr blocked Wait", err)
	}
	if !bytes.Contains(res.Stderr, []byte("Permanently added")) {
		t.Errorf("master stderr = %q", res.Stderr)
	}
}

// A script that says nothing within AnswerWithin is ended as ErrNoAnswer
// (a dead link behind a live master); one that answers at once may then
// take its time.
func TestExecRunnerAnswerWithin(t *testing.T) {
	silent, _ := fakeSSH(t, "sleep 30")
	_, err := silent.Run(context.Background(), sshexec.Cmd{Args: []string{"x"}, AnswerWithin: 200 * time.Millisecond})
	if !errors.Is(err, sshexec.ErrNoAnswer) {
		t.Fatalf("silent ssh: %v, want ErrNoAnswer", err)
	}
	talking, _ := fakeSSH(t, "echo hello; sleep 0.5; echo done")
	res, err := talking.Run(context.Background(), sshexec.Cmd{Args: []string{"x"}, AnswerWithin: 200 * time.Millisecond})
	if err != nil || string(res.Stdout) != "hello\ndone\n" {
		t.Fatalf("answering ssh: %q, %v", res.Stdout, err)
	}
}

// In Stream mode (batch open, the keeper, jt logs -f) the remote's stderr
// reaches the terminal with its control characters made visible, and what
// is kept of it is bounded, however much comes.
func TestStreamStderrIsVisibleAndBounded(t *testing.T) {
	r, _ := fakeSSH(t, `printf '\033]0;PWNED\007\033[2J\n' >&2; yes 'jt stderr flood, 32 bytes a line' | head -c 40000000 >&2; exit 3`)
	shown, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer shown.Close()
	r.Stderr = shown
	var out bytes.Buffer
	res, err := r.Run(context.Background(), sshexec.Cmd{Args: []string{"--", "h"}, Stdin: strings.NewReader(""), Mode: sshexec.Stream, Stdout: &out})
	if err == nil {
		t.Fatal("exit 3 gave no error")
	}
	if len(res.Stderr) > 1<<20 {
		t.Errorf("kept %d bytes of stderr, want at most 1 MiB", len(res.Stderr))
	}
	head := make([]byte, 64)
	n, _ := shown.ReadAt(head, 0)
	if got := string(head[:n]); !strings.HasPrefix(got, `\x1b]0;PWNED\x07\x1b[2J`+"\n") || strings.ContainsAny(got, "\x1b\a") {
		t.Errorf("the terminal got %q, want the escapes made visible", got)
	}
}

// A script or -O command runs in a process group of its own (the
// terminal's Ctrl-C reaches jt alone, which then ends it); a login, which
// may ask on the terminal, stays in jt's.
func TestExecRunnerProcessGroups(t *testing.T) {
	r, _ := fakeSSH(t, `set -- $(cat /proc/$$/stat); echo "$5"`)
	res, err := r.Run(context.Background(), sshexec.Cmd{Args: []string{"-O", "check", "--", "h"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if own := syscall.Getpgrp(); pgid == 0 || pgid == own {
		t.Errorf("a captured command ran in process group %d, jt's is %d: want one of its own", pgid, own)
	}
	r, rec := fakeSSH(t, `set -- $(cat /proc/$$/stat); echo "$5" >"$REC/pgid"`)
	r.Stdin, r.Stderr = os.Stdin, os.Stderr
	if _, err := r.Run(context.Background(), sshexec.Cmd{Args: []string{"-fN", "--", "h"}, Mode: sshexec.Master}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(rec, "pgid"))
	if got, own := strings.TrimSpace(string(b)), strconv.Itoa(syscall.Getpgrp()); got != own {
		t.Errorf("a login ran in process group %s, want jt's own %s", got, own)
	}
}

// Interrupted tells an ssh the user's Ctrl-C ended from one that failed.
func TestInterrupted(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{`kill -INT $$`, true},
		{`kill -TERM $$`, true},
		{`kill -HUP $$`, false},
		{`exit 255`, false},
		{`exit 130`, false},
	} {
		r, _ := fakeSSH(t, c.body)
		_, err := r.Run(context.Background(), sshexec.Cmd{Args: []string{"--", "h"}})
		if err == nil {
			t.Fatalf("%s: no error", c.body)
		}
		if got := sshexec.Interrupted(err); got != c.want {
			t.Errorf("%s: Interrupted(%v) = %v, want %v", c.body, err, got, c.want)
		}
	}
	if sshexec.Interrupted(context.Canceled) || sshexec.Interrupted(nil) {
		t.Errorf("Interrupted is true for an error that is no ssh's")
	}
}
