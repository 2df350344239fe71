//go:build linux

package sshbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStat returns a process's parent pid and state letter from
// /proc/PID/stat; ok is false without /proc or without the process.
func procStat(pid int) (ppid int, st byte, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may itself contain spaces
	// or parentheses; the fields after the last ')' are fixed.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0], true
}

// alive reports whether pid is a live process. A zombie is not alive:
// it can no longer do anything, and it holds no ports.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if _, st, ok := procStat(pid); ok && (st == 'Z' || st == 'X') {
		return false
	}
	return true
}

// waitGone waits until pid is no longer alive.
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// pids lists the processes in /proc (empty where there is no /proc).
func pids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// childPIDs lists the live children of pid.
func childPIDs(parent int) []int {
	var out []int
	for _, pid := range pids() {
		if ppid, st, ok := procStat(pid); ok && ppid == parent && st != 'Z' && st != 'X' {
			out = append(out, pid)
		}
	}
	return out
}

// userPIDs lists the live processes whose real uid is uid.
func userPIDs(uid int) []int {
	var out []int
	for _, pid := range pids() {
		if _, st, ok := procStat(pid); !ok || st == 'Z' || st == 'X' {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
				// real, effective: pkill -u matches the effective one.
				if f[1] == strconv.Itoa(uid) || f[2] == strconv.Itoa(uid) {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}
