package sshexec

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcessStart tells a running process from a later one that got the same
// pid: the boot it belongs to and its start time in clock ticks since that
// boot. "" when pid does not run (a zombie counts as gone) or cannot be read.
func ProcessStart(pid int) string {
	if pid <= 0 {
		return ""
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after its last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return ""
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + "/" + f[19]
}

// isOurMaster checks, before a kill, that pid is still an ssh master of
// jt's (its argv names jt's control directory), not a recycled pid.
func isOurMaster(pid int, controlDir string) bool {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "ControlPath="+controlDir)
}

// findProcess returns the first process whose argv matches.
func findProcess(match func(args []string) bool) int {
	entries, _ := os.ReadDir(procRoot)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
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
	entries, _ := os.ReadDir(procRoot)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
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
