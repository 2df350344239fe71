package sshexec

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// killProcess ends a local process jt started (a detached forward).
func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if err := p.Kill(); err != nil && err != os.ErrProcessDone {
		return err
	}
	return nil
}

// WritePIDFile records pid with its start (ProcessStart), so that whoever
// reads the file later can tell whether that pid still names the same
// process. The file is written whole (temp file, rename), mode 0600.
func WritePIDFile(path string, pid int) error {
	line := strconv.Itoa(pid) + " " + ProcessStart(pid) + "\n"
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(line); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// RecordedPID is the pid a WritePIDFile file names, if that very process
// still runs: same pid and same start. It is 0 when the file is missing or
// malformed, records no start, or its pid now belongs to another process:
// nothing is ever signalled on an unchecked pid.
func RecordedPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return pidIfSame(string(b))
}

func pidIfSame(record string) int {
	pidText, start, _ := strings.Cut(strings.TrimSpace(record), " ")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || strings.TrimSpace(start) == "" {
		return 0
	}
	if ProcessStart(pid) != strings.TrimSpace(start) {
		return 0
	}
	return pid
}
