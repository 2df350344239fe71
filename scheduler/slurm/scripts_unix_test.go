//go:build unix

package slurm_test

import "syscall"

var sigterm = syscall.SIGTERM
