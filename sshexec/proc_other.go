//go:build !linux

package sshexec

import (
	"os/exec"
	"strconv"
	"strings"
)

// findProcess returns the first process whose argv matches, from ps (macOS,
// BSD). Arguments with spaces are split wrongly by ps, but jt's forwards
// have none: their match is on the trailing -L spec and host.
func findProcess(match func(args []string) bool) int {
	out, err := exec.Command("ps", "-axo", "pid=,args=").Output()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err == nil && match(f[1:]) {
			return pid
		}
	}
	return 0
}

// isOurMaster cannot look at another process's argv portably; the pid file
// is jt's own and recent, which is the best available check here.
func isOurMaster(pid int, controlDir string) bool { return pid > 0 }

func findMaster(controlDir, host string) int { return 0 }
