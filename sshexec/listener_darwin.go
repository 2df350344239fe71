package sshexec

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lsofListeners is the macOS proof: lsof, asked about the holder alone,
// must show it listening on 127.0.0.1:port. Other users' sockets are not
// visible to lsof; the kernel gives a connection to 127.0.0.1 to a socket
// bound there before a wildcard one.
type lsofListeners struct{ port int }

func listenersOn(port int) (lsofListeners, error) { return lsofListeners{port}, nil }

func (l lsofListeners) heldBy(pid int) error {
	lsof, err := exec.LookPath("lsof")
	if err != nil {
		lsof = "/usr/sbin/lsof"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, lsof, "-nP", "-a", "-p", strconv.Itoa(pid),
		"-iTCP@127.0.0.1:"+strconv.Itoa(l.port), "-sTCP:LISTEN", "-Fn").Output()
	if err == nil && strings.Contains(string(out), "\nn127.0.0.1:"+strconv.Itoa(l.port)+"\n") {
		return nil
	}
	if _, lerr := os.Stat(lsof); lerr != nil {
		return fmt.Errorf("127.0.0.1:%d: cannot tell who listens (no lsof): %w", l.port, lerr)
	}
	return fmt.Errorf("127.0.0.1:%d: %w (not ssh pid %d)", l.port, ErrPortTaken, pid)
}

// processIdentity tells when process pid started and whether it is this
// user's, from the kernel's process table.
func processIdentity(pid int) (time.Time, bool, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return time.Time{}, false, err
	}
	if int(kp.Proc.P_pid) != pid {
		return time.Time{}, false, fmt.Errorf("no process %d", pid)
	}
	tv := kp.Proc.P_starttime
	return time.Unix(int64(tv.Sec), int64(tv.Usec)*1000), int(kp.Eproc.Ucred.Uid) == ownUID, nil
}
