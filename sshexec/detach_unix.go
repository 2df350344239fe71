//go:build !windows

package sshexec

import "syscall"

// detachedAttr puts a detached ssh in a session of its own, so the end of
// the user's terminal does not end it.
func detachedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// ownGroupAttr puts an ssh that never asks the user anything (a script,
// an -O command) in a process group of its own: the terminal's Ctrl-C
// reaches jt alone, and jt ends the command when it has noted the
// interrupt. (Had ssh seen the signal too, it could exit before jt knew,
// and the failed step would look like an error, with nothing undone.)
func ownGroupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// interruptSignal reports whether a process ended by s was ended by the
// user's Ctrl-C or a SIGTERM.
func interruptSignal(s syscall.Signal) bool { return s == syscall.SIGINT || s == syscall.SIGTERM }
