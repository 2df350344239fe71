package sshexec

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// anyListeners: Windows has no master (no multiplexing); the forward's own
// ssh, checked by start time and owner, is all that can be proved here.
type anyListeners struct{ port int }

func listenersOn(port int) (anyListeners, error) { return anyListeners{port}, nil }

func (l anyListeners) heldBy(pid int) error { return nil }

const processQueryLimitedInformation = 0x1000

// processIdentity tells when process pid started and whether it runs as
// this user (its token's user SID is ours).
func processIdentity(pid int) (time.Time, bool, error) {
	h, err := syscall.OpenProcess(processQueryLimitedInformation, false, uint32(pid))
	if err != nil {
		return time.Time{}, false, err
	}
	defer syscall.CloseHandle(h)
	var created, exited, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return time.Time{}, false, err
	}
	var code uint32
	if err := syscall.GetExitCodeProcess(h, &code); err != nil {
		return time.Time{}, false, err
	}
	if code != 259 { // STILL_ACTIVE
		return time.Time{}, false, fmt.Errorf("process %d has exited", pid)
	}
	theirs, err := tokenSID(h)
	if err != nil {
		return time.Time{}, false, err
	}
	self, err := syscall.GetCurrentProcess()
	if err != nil {
		return time.Time{}, false, err
	}
	mine, err := tokenSID(self)
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Unix(0, created.Nanoseconds()), theirs == mine, nil
}

func tokenSID(h syscall.Handle) (string, error) {
	var t syscall.Token
	if err := syscall.OpenProcessToken(h, syscall.TOKEN_QUERY, &t); err != nil {
		return "", err
	}
	defer t.Close()
	u, err := t.GetTokenUser()
	if err != nil {
		return "", err
	}
	if u.User.Sid == nil {
		return "", errors.New("no user in the process token")
	}
	return u.User.Sid.String()
}
