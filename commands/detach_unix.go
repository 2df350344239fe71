//go:build !windows

package commands

import "syscall"

// detachedAttr puts a background jt in a session of its own, so that the
// end of the user's terminal does not end it.
func detachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
