//go:build !windows

package session

import (
	"errors"
	"syscall"
)

// processAlive reports whether a local process exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// stopProcess asks a local jt to stop (as Ctrl-C would). The caller has
// checked that pid is still the process it means.
func stopProcess(pid int) { syscall.Kill(pid, syscall.SIGINT) }
