//go:build !windows

package sshexec

import "syscall"

// detachedAttr puts a detached ssh in a session of its own, so the end of
// the user's terminal does not end it.
func detachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
