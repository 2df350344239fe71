//go:build !windows

package sshexec

import (
	"fmt"
	"os"
	"syscall"
)

func checkOwner(dir string, fi os.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s belongs to uid %d, not to you", ErrUnsafeDir, dir, st.Uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %v, open to others; run chmod 700 %s", ErrUnsafeDir, dir, fi.Mode().Perm(), dir)
	}
	return nil
}
