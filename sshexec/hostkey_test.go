package sshexec

import (
	"errors"
	"strings"
	"testing"
)

// What OpenSSH 9.2 prints when a host key changed (captured here).
const changedKeyStderr = `@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
The fingerprint for the ED25519 key sent by the remote host is
SHA256:jvTOH/PWEOet5Zw4sWcCGLs9l0p8i5oaDND5M8XJlr4.
Please contact your system administrator.
Add correct host key in /tmp/kk/kh to get rid of this message.
Offending ED25519 key in /tmp/kk/kh:1
  remove with:
  ssh-keygen -f "/tmp/kk/kh" -R "[127.0.0.1]:40387"
Host key for [127.0.0.1]:40387 has changed and you have requested strict checking.
Host key verification failed.
`

func TestHostKeyChangedMessage(t *testing.T) {
	e := newError([]string{"-fN", "--", "gpu1"}, Result{Stderr: []byte(changedKeyStderr), ExitCode: 255}, errors.New("exit status 255"))
	if !errors.Is(e, ErrHostKey) {
		t.Fatalf("not ErrHostKey: %v", e)
	}
	msg := e.Error()
	for _, want := range []string{"REMOTE HOST IDENTIFICATION HAS CHANGED", "ED25519", "SHA256:jvTOH/PWEOet5Zw4sWcCGLs9l0p8i5oaDND5M8XJlr4", "/tmp/kk/kh:1", "verification failed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message spans lines: %q", msg)
	}
	if e.RemoveKey != `ssh-keygen -f "/tmp/kk/kh" -R "[127.0.0.1]:40387"` {
		t.Errorf("RemoveKey = %q", e.RemoveKey)
	}
}
