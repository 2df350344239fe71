package sshexec

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/jt-sh/jt/visible"
)

// Sentinels for the failures a user acts on. *Error unwraps to them.
var (
	ErrAuth           = errors.New("authentication failed")
	ErrHostKey        = errors.New("host key verification failed")
	ErrUnknownHost    = errors.New("unknown host")
	ErrUnreachable    = errors.New("host unreachable")
	ErrTimeout        = errors.New("timed out")
	ErrNoMaster       = errors.New("no master connection")
	ErrForwardRefused = errors.New("forward refused")
	ErrNoAnswer       = errors.New("no answer from the host")
)

// Error is a failed ssh invocation: its argv, exit code and what it said.
type Error struct {
	Args     []string
	ExitCode int
	Stderr   string // trimmed
	// RemoveKey is ssh's own command to forget a changed host key
	// (ssh-keygen -f FILE -R HOST), when it printed one.
	RemoveKey string
	kind      error
	cause     error
}

var (
	removeKeyRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`ssh-keygen -f ("[^"\n]+"|'[^'\n]+'|\S+) -R ("[^"\n]+"|'[^'\n]+'|\S+)`)
	})
	fingerprintRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`fingerprint for the (\S+) key sent by the remote host is\s*(SHA256:[A-Za-z0-9+/=]+)`)
	})
	offendingRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Offending \S+ key in (\S+)`) })
)

// hostKeyMessage keeps what matters of ssh's long host-key warning on one
// line: what changed, the new fingerprint, where the old key is.
func hostKeyMessage(stderr string) string {
	msg := "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED (someone may be eavesdropping, or the host key was just changed)"
	if !strings.Contains(strings.ToUpper(stderr), "IDENTIFICATION HAS CHANGED") {
		return "host key verification failed"
	}
	if m := fingerprintRE().FindStringSubmatch(stderr); m != nil {
		msg += "; the " + m[1] + " key the host sent is " + m[2]
	}
	if m := offendingRE().FindStringSubmatch(stderr); m != nil {
		msg += "; the old key is in " + m[1]
	}
	return msg + "; host key verification failed"
}

func newError(args []string, res Result, cause error) *Error {
	e := &Error{Args: args, ExitCode: res.ExitCode, Stderr: trim(string(res.Stderr)), cause: cause}
	// Only ssh's own failures (255) say something about the connection;
	// a remote command's "Permission denied" is not an ssh login failure.
	if res.ExitCode == 255 || res.ExitCode < 0 || errors.Is(cause, context.DeadlineExceeded) || errors.Is(cause, ErrNoAnswer) {
		e.kind = classify(e.Stderr, cause)
	}
	if e.kind == ErrHostKey {
		raw := string(res.Stderr)
		e.Stderr = hostKeyMessage(raw)
		if m := removeKeyRE().FindString(raw); m != "" {
			e.RemoveKey = m
		}
	}
	return e
}

func (e *Error) Error() string {
	msg := e.Stderr
	if msg == "" {
		msg = e.cause.Error()
	}
	if e.kind == ErrTimeout {
		return "ssh did not answer in time"
	}
	if e.kind == ErrNoAnswer {
		return e.cause.Error()
	}
	return msg
}

// Unwrap exposes the sentinel kind (if any) and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.cause}
}

// Interrupted reports whether err is an ssh that the user's Ctrl-C (or a
// SIGTERM) ended. An ssh that may ask on the terminal (a login) gets the
// terminal's signal as jt does, and can end before jt has noted it.
func Interrupted(err error) bool {
	var x *exec.ExitError
	if !errors.As(err, &x) {
		return false
	}
	ws, ok := x.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && interruptSignal(ws.Signal())
}

// SSHFailed reports whether ssh itself failed (exit 255), as opposed to
// the remote command.
func (e *Error) SSHFailed() bool { return e.ExitCode == 255 }

func classify(stderr string, cause error) error {
	s := strings.ToLower(stderr)
	switch {
	case errors.Is(cause, context.DeadlineExceeded):
		return ErrTimeout
	case errors.Is(cause, ErrNoAnswer):
		return ErrNoAnswer
	case strings.Contains(s, "remote host identification has changed"),
		strings.Contains(s, "host key verification failed"):
		return ErrHostKey
	case strings.Contains(s, "permission denied"), strings.Contains(s, "too many authentication failures"):
		return ErrAuth
	case strings.Contains(s, "could not resolve hostname"):
		return ErrUnknownHost
	case strings.Contains(s, "connection timed out"), strings.Contains(s, "operation timed out"):
		return ErrTimeout
	case strings.Contains(s, "connection refused") && !strings.Contains(s, "control socket"),
		strings.Contains(s, "no route to host"), strings.Contains(s, "network is unreachable"),
		strings.Contains(s, "connection closed by"), strings.Contains(s, "connection reset"):
		return ErrUnreachable
	case strings.Contains(s, "control socket connect"), strings.Contains(s, "no such file or directory"):
		return ErrNoMaster
	case strings.Contains(s, "forwarding request failed"), strings.Contains(s, "port forwarding failed"),
		strings.Contains(s, "address already in use"), strings.Contains(s, "could not request local forwarding"):
		return ErrForwardRefused
	}
	return nil
}

// trim keeps the last few meaningful lines of ssh's stderr.
func trim(s string) string {
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(s, "\r", "")), "\n")
	var kept []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "@@@@") {
			continue
		}
		kept = append(kept, l)
	}
	if len(kept) > 6 {
		kept = kept[len(kept)-6:]
	}
	// The remote side writes some of it: it must not drive the terminal.
	return visible.Text(strings.Join(kept, "; "), 4096)
}
