package sshexec

import (
	"context"
	"errors"
	"strings"
	"testing"
)

var sentinels = []error{ErrAuth, ErrHostKey, ErrUnknownHost, ErrUnreachable, ErrTimeout, ErrNoMaster, ErrForwardRefused}

const hostKeyChanged = `@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
The fingerprint for the ED25519 key sent by the remote host is
SHA256:3Q3Dqv1mYHmW1Yb2qXnJ0uT3bRk0mX8w3f5r1i1J9Zk.
Please contact your system administrator.
Add correct host key in /home/a/.ssh/known_hosts to get rid of this message.
Offending ED25519 key in /home/a/.ssh/known_hosts:3
  remove with:
  ssh-keygen -f '/home/a/.ssh/known_hosts' -R 'gpu1'
Host key for gpu1 has changed and you have requested strict checking.
Host key verification failed.
`

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   error
	}{
		{"Permission denied (publickey).", ErrAuth},
		{"alice@gpu1: Permission denied (publickey,password).\r\n", ErrAuth},
		{"Received disconnect from 10.0.0.1 port 22:2: Too many authentication failures", ErrAuth},
		{"@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.", ErrHostKey},
		{hostKeyChanged, ErrHostKey},
		{"No ED25519 host key is known for gpu1 and you have requested strict checking.\nHost key verification failed.", ErrHostKey},
		{"ssh: Could not resolve hostname nope: Name or service not known", ErrUnknownHost},
		{"ssh: connect to host 10.0.0.1 port 22: Connection refused", ErrUnreachable},
		{"ssh: connect to host 10.0.0.1 port 22: No route to host", ErrUnreachable},
		{"Connection closed by 10.0.0.1 port 22", ErrUnreachable},
		{"ssh: connect to host 10.0.0.1 port 22: Connection timed out", ErrTimeout},
		{"Control socket connect(/x): No such file or directory", ErrNoMaster},
		// A stale socket left by a killed master: no master, not an unreachable host.
		{"Control socket connect(/tmp/jt-0/cm-abc): Connection refused", ErrNoMaster},
		{"mux_client_forward: forwarding request failed: Port forwarding failed", ErrForwardRefused},
		{"", nil},
		{"something else entirely", nil},
	} {
		e := newError([]string{"-O", "check", "--", "gpu1"}, Result{ExitCode: 255, Stderr: []byte(tc.stderr)}, errors.New("exit status 255"))
		for _, s := range sentinels {
			if got := errors.Is(e, s); got != (s == tc.want) {
				t.Errorf("%.60q: errors.Is(%v) = %v, want %v", tc.stderr, s, got, s == tc.want)
			}
		}
		if !e.SSHFailed() {
			t.Errorf("exit 255 not SSHFailed")
		}
		if msg := e.Error(); strings.ContainsAny(msg, "\n\r") || msg == "" {
			t.Errorf("%.60q: Error() = %q, want one non-empty line", tc.stderr, msg)
		}
	}
}

// A remote command's own failure (any exit but 255) says nothing about ssh:
// "Permission denied" from `tail` on the remote is not an ssh login failure.
func TestClassifyRemoteFailureIsNotSSH(t *testing.T) {
	for _, stderr := range []string{
		"tail: cannot open '/home/a/.local/state/jt/sessions/x/log' for reading: Permission denied",
		"sh: 1: cd: can't cd to /nope: No such file or directory",
	} {
		e := newError([]string{"--", "gpu1", RemoteShell}, Result{ExitCode: 1, Stderr: []byte(stderr)}, errors.New("exit status 1"))
		if e.SSHFailed() {
			t.Errorf("exit 1 reported as SSHFailed")
		}
		for _, s := range sentinels {
			if errors.Is(e, s) {
				t.Errorf("remote failure (exit 1) %q classified as %v", stderr, s)
			}
		}
	}
}

func TestErrorTimeoutAndCause(t *testing.T) {
	e := newError([]string{"x"}, Result{ExitCode: -1}, context.DeadlineExceeded)
	if !errors.Is(e, ErrTimeout) || !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("deadline: Is(ErrTimeout)=%v Is(DeadlineExceeded)=%v", errors.Is(e, ErrTimeout), errors.Is(e, context.DeadlineExceeded))
	}
	if e.Error() != "ssh did not answer in time" {
		t.Errorf("Error() = %q", e.Error())
	}
	cause := errors.New("exec: \"ssh\": executable file not found in $PATH")
	e = newError([]string{"x"}, Result{ExitCode: -1}, cause)
	if !errors.Is(e, cause) || e.Error() != cause.Error() {
		t.Errorf("no stderr: Error() = %q, Is(cause) = %v", e.Error(), errors.Is(e, cause))
	}
}

func TestTrimKeepsLastLinesOnOneLine(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString("debug1: line\r\n")
	}
	b.WriteString("\n@@@@@@@@@@\nPermission denied (publickey).\n\n")
	e := newError(nil, Result{ExitCode: 255, Stderr: []byte(b.String())}, errors.New("exit status 255"))
	if strings.Count(e.Stderr, ";") != 5 || strings.ContainsAny(e.Stderr, "\r\n") {
		t.Errorf("trimmed stderr = %q, want the last 6 lines joined", e.Stderr)
	}
	if !strings.HasSuffix(e.Stderr, "Permission denied (publickey).") || strings.Contains(e.Stderr, "@@@@") {
		t.Errorf("trimmed stderr = %q", e.Stderr)
	}
	if !errors.Is(e, ErrAuth) {
		t.Error("not ErrAuth")
	}
}

func TestErrorStderrVisible(t *testing.T) {
	e := newError([]string{"ssh"}, Result{ExitCode: 1, Stderr: []byte("bad\x1b]0;title\x07\r\njt: hint: rm -rf ~\n")}, errors.New("exit status 1"))
	if got, want := e.Error(), `bad\x1b]0;title\x07; jt: hint: rm -rf ~`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
