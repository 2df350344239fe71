package sshexec

import (
	"strconv"
	"syscall"
)

// processQueryLimited is PROCESS_QUERY_LIMITED_INFORMATION: enough to read
// a process's times, granted for the user's own processes.
const processQueryLimited = 0x1000

// stillActive is the exit code GetExitCodeProcess reports for a running
// process (STILL_ACTIVE).
const stillActive = 259

// ProcessStart tells a running process from a later one that got the same
// pid: its creation time, in 100 ns units. "" when pid does not run or
// cannot be opened.
func ProcessStart(pid int) string {
	if pid <= 0 {
		return ""
	}
	h, err := syscall.OpenProcess(processQueryLimited, false, uint32(pid))
	if err != nil {
		return ""
	}
	defer syscall.CloseHandle(h)
	var code uint32
	if err := syscall.GetExitCodeProcess(h, &code); err != nil || code != stillActive {
		return ""
	}
	var created, exited, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return ""
	}
	return strconv.FormatInt(created.Nanoseconds()/100, 10)
}

// findProcess cannot read another process's argv here: jt finds its
// forwards by their pid records instead (see CancelForward).
func findProcess(match func(args []string) bool) int { return 0 }

// Windows' OpenSSH has no ControlMaster: there is never a master to end.
func isOurMaster(pid int, controlDir string) bool { return false }

func findMaster(controlDir, host string) int { return 0 }
