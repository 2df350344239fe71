package sshexec

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkRunner answers -O check like a master with pid, or fails.
type checkRunner struct {
	pid   int
	err   error
	calls int
}

func (r *checkRunner) Run(ctx context.Context, c Cmd) (Result, error) {
	r.calls++
	if r.err != nil {
		return Result{ExitCode: 255}, r.err
	}
	return Result{Stderr: []byte("Master running (pid=" + strconv.Itoa(r.pid) + ")\r\n")}, nil
}

// fakeProc is a proc tree: a tcp table, a boot time, and processes with
// their open sockets and start times (in clock ticks after boot).
type fakeProc struct {
	t    *testing.T
	root string
}

const fakeBoot = 1700000000

func newFakeProc(t *testing.T, tcp, tcp6 string) *fakeProc {
	root := t.TempDir()
	p := &fakeProc{t: t, root: root}
	p.write("net/tcp", tcpHeader+tcp)
	if tcp6 != "" {
		p.write("net/tcp6", tcpHeader+tcp6)
	}
	p.write("stat", "cpu  1 2 3\nintr "+strings.Repeat("0 ", 40000)+"\nbtime "+strconv.Itoa(fakeBoot)+"\nprocesses 9\n")
	old := procRoot
	procRoot = root
	t.Cleanup(func() { procRoot = old })
	return p
}

func (p *fakeProc) write(name, text string) {
	p.t.Helper()
	path := filepath.Join(p.root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// process adds pid, started ticks after boot, with the given fds.
func (p *fakeProc) process(pid int, ticks int, fds map[int]string) {
	p.t.Helper()
	// A command name with spaces and a ')' must not shift the fields.
	fields := make([]string, 50)
	for i := range fields {
		fields[i] = "0"
	}
	fields[19] = strconv.Itoa(ticks)
	p.write(strconv.Itoa(pid)+"/stat", strconv.Itoa(pid)+" (ssh) -fN x) S "+strings.Join(fields[1:], " ")+"\n")
	if err := os.MkdirAll(filepath.Join(p.root, strconv.Itoa(pid), "fd"), 0o755); err != nil {
		p.t.Fatal(err)
	}
	for fd, target := range fds {
		if err := os.Symlink(target, filepath.Join(p.root, strconv.Itoa(pid), "fd", strconv.Itoa(fd))); err != nil {
			p.t.Fatal(err)
		}
	}
}

func TestListenerOwnedMaster(t *testing.T) {
	me := strconv.Itoa(ownUID)
	lo := hexAddr("127.0.0.1")
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		tcp, tcp6 string
		master    *checkRunner
		want      error // nil, ErrPortTaken, ErrNoListener, or errAny
		wantCalls int
	}{
		{"the master's listener", tcpLine(lo, 18888, "0A", me, "4242"), "", &checkRunner{pid: 4321}, nil, 1},
		{"nothing listens", tcpLine(lo, 18889, "0A", me, "4242"), "", &checkRunner{pid: 4321}, ErrNoListener, 0},
		{"another user's listener", tcpLine(lo, 18888, "0A", "65534", "777"), "", &checkRunner{pid: 4321}, ErrPortTaken, 0},
		{"another user's wildcard beside ours", tcpLine(lo, 18888, "0A", me, "4242") + tcpLine(hexAddr("0.0.0.0"), 18888, "0A", "65534", "778"), "", &checkRunner{pid: 4321}, ErrPortTaken, 0},
		{"another user on [::]", tcpLine(lo, 18888, "0A", me, "4242"), tcpLine(hexAddr("::"), 18888, "0A", "65534", "779"), &checkRunner{pid: 4321}, ErrPortTaken, 0},
		{"[::1] is not in the way", tcpLine(lo, 18888, "0A", me, "4242"), tcpLine(hexAddr("::1"), 18888, "0A", "65534", "780"), &checkRunner{pid: 4321}, nil, 1},
		{"our own other program", tcpLine(lo, 18888, "0A", me, "5555"), "", &checkRunner{pid: 4321}, ErrPortTaken, 1},
		{"the master is gone", tcpLine(lo, 18888, "0A", me, "4242"), "", &checkRunner{err: ErrNoMaster}, ErrPortTaken, 1},
		{"the master hangs", tcpLine(lo, 18888, "0A", me, "4242"), "", &checkRunner{err: ErrTimeout}, ErrTimeout, 1},
		{"a master that does not tell its pid", tcpLine(lo, 18888, "0A", me, "4242"), "", &checkRunner{pid: 0}, ErrPortTaken, 1},
		{"a master pid without /proc entry", tcpLine(lo, 18888, "0A", me, "4242"), "", &checkRunner{pid: 999}, ErrPortTaken, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newFakeProc(t, c.tcp, c.tcp6)
			p.process(4321, 100, map[int]string{0: "/dev/null", 3: "socket:[4242]", 4: "socket:[91]", 5: "pipe:[4242]"})
			cl := &Client{Runner: c.master, ControlDir: "/tmp/jt-x"}
			err := cl.ListenerOwned(ctx, "gpu1", 18888, 0, time.Time{})
			checkErr(t, err, c.want)
			if c.master.calls != c.wantCalls {
				t.Errorf("%d ssh calls, want %d", c.master.calls, c.wantCalls)
			}
		})
	}
}

func TestListenerOwnedForward(t *testing.T) {
	me := strconv.Itoa(ownUID)
	lo := hexAddr("127.0.0.1")
	rec := time.Unix(fakeBoot+500, 300e6) // recorded 0.3 s after the ssh started
	tcp := tcpLine(lo, 18888, "0A", me, "4242")
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		pid     int
		started time.Time
		other   bool // the process belongs to another user
		noMux   bool
		want    error
	}{
		{"the forward's ssh", 77, rec, false, true, nil},
		{"the forward's ssh, mux client", 77, rec, false, false, nil},
		{"a reused pid, started later", 88, rec, false, true, ErrPortTaken},
		{"another user's process", 77, rec, true, true, ErrPortTaken},
		{"no start time recorded", 77, time.Time{}, false, true, errAny},
		{"a pid that is gone", 99, rec, false, true, ErrPortTaken},
		{"no pid recorded", 0, rec, false, true, errAny},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newFakeProc(t, tcp, "")
			p.process(77, 500*clockTicks, map[int]string{3: "socket:[4242]"})
			p.process(88, 900*clockTicks, map[int]string{3: "socket:[4242]"})
			if c.other {
				old := ownUID
				ownUID = old + 1
				defer func() { ownUID = old }()
				// the table still says the socket is the test's user's
				p.write("net/tcp", tcpHeader+tcpLine(lo, 18888, "0A", strconv.Itoa(ownUID), "4242"))
			}
			r := &checkRunner{pid: 4321}
			cl := &Client{Runner: r, ControlDir: "/tmp/jt-x", NoMux: c.noMux}
			checkErr(t, cl.ListenerOwned(ctx, "gpu1", 18888, c.pid, c.started), c.want)
			if r.calls != 0 {
				t.Errorf("%d ssh calls for a forward of its own", r.calls)
			}
		})
	}
}

func TestProcessIdentityOfThisProcess(t *testing.T) {
	start, ours, err := processIdentity(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !ours {
		t.Errorf("this process is not ours")
	}
	if d := time.Since(start); d < 0 || d > 10*time.Minute {
		t.Errorf("this process started %v ago", d)
	}
}

var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("error %v, want none", err)
	case want == errAny && err == nil:
		t.Errorf("no error, want one")
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Errorf("error %v, want %v", err, want)
	}
}

// Against the real kernel tables: this process's own listener is proved
// its own; once closed, nothing listens.
func TestListenerOwnedRealProc(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	start, _, err := processIdentity(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	cl := &Client{Runner: &checkRunner{err: ErrNoMaster}, NoMux: true}
	if err := cl.ListenerOwned(context.Background(), "gpu1", port, os.Getpid(), start); err != nil {
		t.Errorf("this process's own listener on %d: %v", port, err)
	}
	if err := cl.ListenerOwned(context.Background(), "gpu1", port, os.Getppid(), start); err == nil {
		t.Errorf("the listener on %d was taken for the parent's", port)
	}
	l.Close()
	if err := cl.ListenerOwned(context.Background(), "gpu1", port, os.Getpid(), start); !errors.Is(err, ErrNoListener) {
		t.Errorf("after close: %v, want ErrNoListener", err)
	}
}

// A master this command just started has no pid file yet: found by its
// argv (host's master in jt's control directory) and holding the socket,
// it proves the listener without -O check, and is remembered. A
// look-alike that does not hold the socket, or another host's master,
// proves nothing: -O check says.
func TestListenerOwnedNewMaster(t *testing.T) {
	me := strconv.Itoa(ownUID)
	lo := hexAddr("127.0.0.1")
	for _, c := range []struct {
		name      string
		host, dir string // in the argv of pid 4321, which holds the socket
		lookalike bool   // pid 4000, host's master by its argv, holds another socket
		wantCalls int
	}{
		{"host's new master", "gpu1", "", false, 0},
		{"a look-alike first, then the master", "gpu1", "", true, 1},
		{"another host's master", "gpu2", "", false, 1},
		{"not in jt's control directory", "gpu1", "/tmp/elsewhere", false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			controlDir := t.TempDir()
			argv := func(host, dir string) string {
				if dir == "" {
					dir = controlDir
				}
				return strings.Join([]string{"/usr/bin/ssh", "-o", "ControlPath=" + dir + "/cm-%C", "-o", "ControlMaster=auto", "-fN", "--", host}, "\x00") + "\x00"
			}
			p := newFakeProc(t, tcpLine(lo, 18888, "0A", me, "4242"), "")
			p.process(4321, 100, map[int]string{3: "socket:[4242]"})
			p.write("4321/cmdline", argv(c.host, c.dir))
			if c.lookalike {
				p.process(4000, 100, map[int]string{3: "socket:[91]"})
				p.write("4000/cmdline", argv("gpu1", ""))
			}
			master := &checkRunner{pid: 4321}
			cl := &Client{Runner: master, ControlDir: controlDir}
			if err := cl.ListenerOwned(context.Background(), "gpu1", 18888, 0, time.Time{}); err != nil {
				t.Fatalf("ListenerOwned: %v", err)
			}
			if master.calls != c.wantCalls {
				t.Errorf("%d ssh calls, want %d", master.calls, c.wantCalls)
			}
			if _, err := os.Stat(cl.pidFile("gpu1")); c.wantCalls == 0 && err != nil {
				t.Errorf("the master found by its argv is not remembered: %v", err)
			}
		})
	}
}
