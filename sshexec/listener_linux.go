package sshexec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procRoot is where the proc filesystem is read (a fake tree in tests).
var procRoot = "/proc"

// clockTicks is the kernel's USER_HZ, the unit of a process's start time
// in /proc/PID/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100

// procListeners is the Linux proof: the kernel's socket tables.
type procListeners struct {
	port    int
	entries []tcpListener
}

func listenersOn(port int) (procListeners, error) {
	all, err := tcpListenersNow()
	if err != nil {
		return procListeners{}, err
	}
	p := procListeners{port: port, entries: candidates(all, port)}
	return p, checkUIDs(port, p.entries, ownUID)
}

func (p procListeners) heldBy(pid int) error {
	socks, err := socketInodes(pid)
	if err != nil {
		return fmt.Errorf("127.0.0.1:%d: %w (open files of ssh pid %d: %v)", p.port, ErrPortTaken, pid, err)
	}
	return checkHeld(p.port, p.entries, pid, socks)
}

// socketInodes lists the socket inodes process pid has open.
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	socks := map[uint64]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if n, ok := strings.CutPrefix(target, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(n, "]"), 10, 64); err == nil {
				socks[ino] = true
			}
		}
	}
	return socks, nil
}

// processIdentity tells when process pid started and whether it is this
// user's (the owner of /proc/PID is the process's effective uid).
func processIdentity(pid int) (time.Time, bool, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	fi, err := os.Stat(dir)
	if err != nil {
		return time.Time{}, false, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false, errors.New("no owner")
	}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return time.Time{}, false, err
	}
	ticks, err := statStartTicks(stat)
	if err != nil {
		return time.Time{}, false, err
	}
	boot, err := bootTime()
	if err != nil {
		return time.Time{}, false, err
	}
	start := boot.Add(time.Duration(ticks) * time.Second / clockTicks)
	return start, int(st.Uid) == ownUID, nil
}

// statStartTicks reads field 22 (starttime) of /proc/PID/stat. The command
// name, field 2, may hold spaces and parentheses: count after the last ')'.
func statStartTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("process stat without a command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return 0, errors.New("process stat too short")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// bootTime is when the system booted (btime of /proc/stat).
func bootTime() (time.Time, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	// Not a bufio.Scanner: the intr line can be longer than its buffer.
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("btime %q", v)
			}
			return time.Unix(s, 0), nil
		}
	}
	return time.Time{}, errors.New("no btime in stat")
}
