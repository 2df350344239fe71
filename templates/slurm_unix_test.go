//go:build unix

package templates_test

import "syscall"

var sigterm = syscall.SIGTERM
