package sshexec

import "syscall"

// detachedAttr keeps a detached ssh out of jt's console process group, so
// Ctrl-C in that console does not end it.
func detachedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// ownGroupAttr keeps an ssh that never asks the user anything out of the
// console's Ctrl-C: jt alone sees it, and ends the command itself.
func ownGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// interruptSignal: Windows ends processes without Unix signals.
func interruptSignal(syscall.Signal) bool { return false }
