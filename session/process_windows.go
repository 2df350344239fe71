package session

import "os"

// processAlive reports whether a local process exists; on Windows
// FindProcess opens a handle, which fails for a process that is gone.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// stopProcess ends a local jt: Windows has no signal to ask it with. The
// caller has checked that pid is still the process it means.
func stopProcess(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
		p.Release()
	}
}
