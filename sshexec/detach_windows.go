package sshexec

import "syscall"

// detachedAttr keeps a detached ssh out of jt's console process group, so
// Ctrl-C in that console does not end it.
func detachedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
