package e2e

// Local processes, as /proc shows them: every look at /proc on this side
// is here (what runs on the host is asked by the scripts of
// remote_test.go).

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a running process and its command line.
type proc struct {
	pid     int
	cmdline string // /proc/PID/cmdline: the words NUL-separated, trailing NULs trimmed
}

// argv is the process's command line split into its words.
func (p proc) argv() []string { return strings.Split(p.cmdline, "\x00") }

// processes lists the processes that run now with a command line (kernel
// threads and zombies have none).
func processes() ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var ps []proc
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		ps = append(ps, proc{pid: pid, cmdline: strings.TrimRight(string(b), "\x00")})
	}
	return ps, nil
}

// procLive reports whether pid is a live process: not gone, not a zombie.
func procLive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(data), ')')
	return !(i > 0 && i+2 < len(data) && (data[i+2] == 'Z' || data[i+2] == 'X'))
}

// waitDead waits until a local process is gone (or a zombie).
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for procLive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d survives SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pidAlive reports whether signal 0 reaches pid (a zombie too).
func pidAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func killLocal(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// netns is the network namespace of a process.
func netns(t *testing.T, pid int) string {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatalf("network namespace of pid %d: %v", pid, err)
	}
	return ns
}

// sshdPIDsOf lists the local sshd processes running as user: the
// unprivileged half of each connection the box serves for that user.
func sshdPIDsOf(t *testing.T, user string) []int {
	t.Helper()
	out, err := exec.Command("pgrep", "-u", user, "-x", "sshd").Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// jtMasters lists the live ssh -fN processes of this env for host: jt's
// masters (and any plain ssh -fN that took a master's place).
func jtMasters(e *env, host string) []int {
	var pids []int
	ps, _ := processes()
	for _, p := range ps {
		args := p.argv()
		if filepath.Base(args[0]) != "ssh" || args[len(args)-1] != host || !slices.Contains(args, "-fN") ||
			!strings.Contains(p.cmdline, "ControlPath="+filepath.Join(e.Runtime, "jt")+"/") {
			continue
		}
		pids = append(pids, p.pid)
	}
	sort.Ints(pids)
	return pids
}

// forwardProcs lists local ssh processes that hold a forward of localPort.
func forwardProcs(t *testing.T, localPort int) []int {
	t.Helper()
	spec := "127.0.0.1:" + strconv.Itoa(localPort) + ":"
	var pids []int
	ps, _ := processes()
	for _, p := range ps {
		if filepath.Base(p.argv()[0]) == "ssh" && strings.Contains(p.cmdline, spec) {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// jtProcesses lists the live jt processes of env e: those running the
// test binary with e's state directory (other tests, in other workers of
// a parallel run, run the same binary).
func (e *env) jtProcesses() []int {
	e.t.Helper()
	ps, err := processes()
	if err != nil {
		e.t.Fatal(err)
	}
	var pids []int
	for _, p := range ps {
		if p.argv()[0] != e2e.jt || !procLive(p.pid) {
			continue
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.pid))
		if err == nil && slices.Contains(strings.Split(string(environ), "\x00"), "XDG_STATE_HOME="+e.State) {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// cmdlinesWith lists the command lines that hold s, words separated by
// spaces, as "PID cmdline".
func cmdlinesWith(s string) []string {
	var found []string
	ps, _ := processes()
	for _, p := range ps {
		if strings.Contains(p.cmdline, s) {
			found = append(found, strconv.Itoa(p.pid)+" "+strings.ReplaceAll(p.cmdline, "\x00", " "))
		}
	}
	return found
}

// listeningPorts returns the TCP ports the processes listen on.
func listeningPorts(pids []int) map[int]bool {
	inodes := map[string]bool{}
	for _, pid := range pids {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
			}
		}
	}
	ports := map[int]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
				continue
			}
			if i := strings.LastIndexByte(fields[1], ':'); i >= 0 {
				if p, err := strconv.ParseUint(fields[1][i+1:], 16, 16); err == nil {
					ports[int(p)] = true
				}
			}
		}
		f.Close()
	}
	return ports
}

// cmdlineSampler reads the command line of every process, over and over,
// keeping each distinct command line once.
type cmdlineSampler struct {
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	seen   map[string]bool
	rounds int
}

func sampleCmdlines() *cmdlineSampler {
	s := &cmdlineSampler{stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]bool{}}
	go func() {
		defer close(s.done)
		for {
			ps, _ := processes()
			s.mu.Lock()
			for _, p := range ps {
				s.seen[p.cmdline] = true
			}
			s.rounds++
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *cmdlineSampler) finish() (cmdlines []string, rounds int) {
	close(s.stop)
	<-s.done
	for c := range s.seen {
		cmdlines = append(cmdlines, c)
	}
	return cmdlines, s.rounds
}
