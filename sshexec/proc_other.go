//go:build !linux && !windows

package sshexec

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ps runs ps for one process with the C locale (so that dates read the
// same every time); "" when it fails or pid does not run.
func ps(pid int, columns string) string {
	if pid <= 0 {
		return ""
	}
	cmd := exec.Command("ps", "-o", columns, "-p", strconv.Itoa(pid))
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ProcessStart tells a running process from a later one that got the same
// pid: its start time as ps shows it (to the second). "" when pid does not
// run (a zombie counts as gone) or ps cannot say.
func ProcessStart(pid int) string {
	out := ps(pid, "stat=,lstart=")
	stat, start, _ := strings.Cut(out, " ")
	if stat == "" || strings.HasPrefix(stat, "Z") {
		return ""
	}
	return strings.Join(strings.Fields(start), " ")
}

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

// isOurMaster checks, before a kill, that pid is still an ssh master of
// jt's: ps shows an ssh whose argv names jt's control directory. When ps
// cannot tell, the answer is no.
func isOurMaster(pid int, controlDir string) bool {
	args := ps(pid, "args=")
	f := strings.Fields(args)
	return len(f) > 0 && filepath.Base(f[0]) == "ssh" && strings.Contains(args, "ControlPath="+controlDir)
}

func findMaster(controlDir, host string) int { return 0 }
