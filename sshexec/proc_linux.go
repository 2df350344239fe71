package sshexec

import (
	"os"
	"strconv"
	"strings"
)

// isOurMaster checks, before a kill, that pid is still an ssh master of
// jt's (its argv names jt's control directory), not a recycled pid.
func isOurMaster(pid int, controlDir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "ControlPath="+controlDir)
}

// findProcess returns the first process whose argv matches.
func findProcess(match func(args []string) bool) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		if match(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")) {
			return pid
		}
	}
	return 0
}

// findMaster looks for jt's master of host among the running processes:
// the fallback when no pid was recorded.
func findMaster(controlDir, host string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > 2 && args[len(args)-1] == host && args[len(args)-2] == "--" &&
			strings.Contains(string(b), "ControlPath="+controlDir) && strings.Contains(string(b), "\x00-fN\x00") {
			return pid
		}
	}
	return 0
}
