package session

import (
	"errors"

	"github.com/jt-sh/jt/sshexec"
)

// HintError carries a line telling the user what to do next, and optional
// detail lines (a log tail) shown under the error.
type HintError struct {
	Err    error
	Hint   string
	Detail []string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// Hinted is err with a hint.
func Hinted(err error, hint string) error {
	return &HintError{Err: err, Hint: hint}
}

// sshHinted adds the hint for a known ssh failure on host.
func sshHinted(err error, host string) error {
	var h *HintError
	if err == nil || errors.As(err, &h) {
		return err
	}
	if hint := SSHHint(err, host); hint != "" {
		return &HintError{Err: err, Hint: hint}
	}
	return err
}

// SSHHint is what to do about a known ssh failure on host, or "".
func SSHHint(err error, host string) string {
	switch {
	case errors.Is(err, sshexec.ErrHostKey):
		// ssh names the known_hosts entry it checked (the real host name
		// and port, not the alias): its own command is the right one.
		var se *sshexec.Error
		if errors.As(err, &se) && se.RemoveKey != "" {
			return "if you know the host key changed, remove the old one with: " + se.RemoveKey + " (then jt asks you to accept the new one via ssh)"
		}
		return "if you know the host key changed, remove the old entry from known_hosts (ssh-keygen -R with the host name and port ssh connects to)"
	case errors.Is(err, sshexec.ErrUnknownHost):
		return "is " + host + " in ~/.ssh/config? try `ssh " + host + "` first"
	case errors.Is(err, sshexec.ErrAuth):
		return "check that `ssh " + host + "` logs you in; load your key with ssh-add"
	case errors.Is(err, sshexec.ErrUnreachable), errors.Is(err, sshexec.ErrTimeout):
		return "check that the host is up and answers: ssh " + host
	}
	return ""
}

// Explain returns the hint and detail lines carried by err, if any.
func Explain(err error) (hint string, detail []string) {
	var h *HintError
	if errors.As(err, &h) {
		return h.Hint, h.Detail
	}
	return "", nil
}
