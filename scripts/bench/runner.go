//go:build linux

package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is one timed run of a command.
type outcome struct {
	Dur    time.Duration
	Stdout []byte
	Stderr []byte
	// HWMKB is the process's own peak resident set (VmHWM), sampled from
	// /proc while it runs: children excluded. Not wait4's ru_maxrss: for a
	// child of a Go program that is at least the parent's RSS (the child
	// runs on the parent's memory until exec, and Linux counts that mm's
	// high-water mark), so it would measure the bench, not jt.
	HWMKB int64
	// Calls are the ssh calls jt made, classified (see classify), in the
	// order they ended; CallMS how long each took (including the wrapper's
	// own cost: the "via sshwrap" row); InSSHMS the time any ssh ran.
	Calls   []string
	CallMS  []float64
	InSSHMS float64
}

// timed runs name with args and env, and reports how long it took from
// start to exit. A non-zero exit is an error carrying stderr.
func timed(ctx context.Context, env []string, name string, args ...string) (outcome, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// If something daemonised kept a pipe open, do not wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Start()
	var hwm atomic.Int64
	if err == nil {
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go sampleHWM(cmd.Process.Pid, &hwm, stop, sampled)
		err = cmd.Wait()
		close(stop)
		<-sampled
	}
	o := outcome{Dur: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), HWMKB: hwm.Load()}
	if err != nil {
		return o, fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return o, nil
}

// sampleHWM keeps the latest VmHWM of pid (a high-water mark, so the
// last sample before exit is the peak, give or take the last 2 ms).
func sampleHWM(pid int, hwm *atomic.Int64, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	for {
		if data, err := os.ReadFile(path); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil && kb > hwm.Load() {
						hwm.Store(kb)
					}
				}
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// jtRunner runs the built jt binary as a user would, with ssh wrapped so
// that every ssh call it makes is logged.
type jtRunner struct {
	bin     string
	env     []string // without JTB_SSH_LOG
	logDir  string
	counter atomic.Int64
}

// run runs jt once; the ssh log is private to this run, so runs in
// parallel do not mix their calls.
func (j *jtRunner) run(ctx context.Context, args ...string) (outcome, error) {
	logPath := filepath.Join(j.logDir, "ssh-"+strconv.FormatInt(j.counter.Add(1), 10)+".log")
	env := append(append([]string{}, j.env...), "JTB_SSH_LOG="+logPath)
	o, err := timed(ctx, env, j.bin, args...)
	data, _ := os.ReadFile(logPath)
	os.Remove(logPath)
	var spans [][2]int64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// start end code argv...
		f := strings.SplitN(line, " ", 4)
		if len(f) < 4 {
			continue
		}
		start, err1 := strconv.ParseInt(f[0], 10, 64)
		end, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		o.Calls = append(o.Calls, classify(f[3]))
		o.CallMS = append(o.CallMS, float64(end-start)/1e6)
		spans = append(spans, [2]int64{start, end})
	}
	o.InSSHMS = float64(union(spans)) / 1e6
	return o, err
}

// union is the total length covered by the spans.
func union(spans [][2]int64) int64 {
	slices.SortFunc(spans, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	var total, curStart, curEnd int64
	for i, s := range spans {
		if i == 0 || s[0] > curEnd {
			total += curEnd - curStart
			curStart, curEnd = s[0], s[1]
		} else if s[1] > curEnd {
			curEnd = s[1]
		}
	}
	return total + curEnd - curStart
}

// Kinds of ssh call, by argv.
const (
	callCheck   = "-O check"
	callForward = "-O forward"
	callCancel  = "-O cancel"
	callExit    = "-O exit"
	callMaster  = "master -fN"
	callScript  = "script"
	callPing    = "ping"
	callOther   = "other"
)

// classify names an ssh call from its argv (joined with spaces).
func classify(line string) string {
	f := strings.Fields(line)
	for i, a := range f {
		if a == "-O" && i+1 < len(f) {
			return "-O " + f[i+1]
		}
	}
	switch {
	case strings.HasSuffix(line, " exec /bin/sh -s"):
		return callScript
	case strings.HasSuffix(line, " exit 0"):
		return callPing
	}
	for _, a := range f {
		if a == "-fN" {
			return callMaster
		}
	}
	return callOther
}

// remote reports whether a call reaches the remote host. -O calls are
// answered by the local master alone (-O exit makes the master send a
// disconnect but nobody waits for an answer).
func remote(call string) bool {
	return !strings.HasPrefix(call, "-O ")
}

func roundTrips(calls []string) int {
	n := 0
	for _, c := range calls {
		if remote(c) {
			n++
		}
	}
	return n
}

// openReply is the part of jt open --json the bench checks.
type openReply struct {
	Status    string `json:"status"`
	LocalPort int    `json:"local_port"`
	PID       int    `json:"pid"`
}

func parseOpen(o outcome) (openReply, error) {
	var r openReply
	if err := json.Unmarshal(o.Stdout, &r); err != nil {
		return r, fmt.Errorf("jt open --json printed %q: %w", o.Stdout, err)
	}
	return r, nil
}

// lsRow is the part of jt ls --json the bench checks.
type lsRow struct {
	Host  string `json:"host"`
	Name  string `json:"name"`
	State string `json:"state"`
	URL   string `json:"url"`
	Error string `json:"error"`
}

// probeAll does, from this process, what jt ls does for sessions that are
// up: one authenticated GET of /api/status per session through its tunnel,
// all at once, each on a new connection. It times the whole.
func probeAll(ctx context.Context, rows []lsRow) (time.Duration, error) {
	reqs := make([]*http.Request, len(rows))
	for i, r := range rows {
		u, err := url.Parse(r.URL)
		if err != nil {
			return 0, err
		}
		token := u.Query().Get("token")
		u.RawQuery = ""
		u.Path = strings.TrimSuffix(u.Path, "/") + "/api/status"
		if reqs[i], err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil); err != nil {
			return 0, err
		}
		reqs[i].Header.Set("Authorization", "token "+token)
	}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := httpClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs[i] = fmt.Errorf("%s: %s", rows[i].Host, resp.Status)
			}
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

func parseLs(o outcome) ([]lsRow, error) {
	var rows []lsRow
	if err := json.Unmarshal(o.Stdout, &rows); err != nil {
		return nil, fmt.Errorf("jt ls --json printed %q: %w", o.Stdout, err)
	}
	return rows, nil
}

// portAllocator hands out distinct free local ports to parallel opens.
type portAllocator struct {
	mu    sync.Mutex
	given map[int]bool
}

func (p *portAllocator) next() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.given == nil {
		p.given = map[int]bool{}
	}
	for range 100 {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		if !p.given[port] {
			p.given[port] = true
			return port, nil
		}
	}
	return 0, errors.New("no distinct free port")
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether 127.0.0.1:port can be bound now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// httpClient polls Jupyter: no proxy from the environment, no keep-alive
// (each poll is a fresh connection, as a fresh browser's would be).
var httpClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	Timeout:   2 * time.Second,
}

// get200 reports whether url answers 200.
func get200(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
