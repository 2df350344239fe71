package e2e

// jt open --idle never releases a kernel that is computing: jt's watcher
// on the host judges by the kernel's CPU, a cell running and a client
// connected, not by the execution state Jupyter last saw. On Debian 12
// (notebook 6, ipykernel 6.17), on Debian 13 (jupyter_server 2,
// ipykernel 6.29) and in a Slurm job.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// idlePeriod is the shortest --idle jt accepts; the watcher looks every 2s.
const idlePeriod = 10 * time.Second

// computeCell computes a little and sleeps a little for secs seconds
// (a modest share of a core, as a loop over data would), prints nothing,
// then writes done.
func computeCell(secs int, done string) string {
	return fmt.Sprintf(`import os, time
t = time.time()
while time.time() - t < %d:
    s = time.time()
    while time.time() - s < 0.01:
        pass
    time.sleep(0.1)
open(os.path.expanduser(%q), "w").close()`, secs, done)
}

// sleepCell sleeps in C for secs seconds (no CPU), then writes done.
func sleepCell(secs int, done string) string {
	return fmt.Sprintf("import os, time\ntime.sleep(%d)\nopen(os.path.expanduser(%q), \"w\").close()", secs, done)
}

// startCell starts a kernel through the tunnel of a jt URL, sends it code
// over the kernel websocket and hangs up at once: the cell runs with no
// client. It returns the kernel's id.
func startCell(t *testing.T, u, code string) string {
	t.Helper()
	status, body, err := api(u, http.MethodPost, "api/kernels", strings.NewReader(`{"name":"python3"}`))
	var kernel struct {
		ID string `json:"id"`
	}
	if err != nil || status != http.StatusCreated || json.Unmarshal(body, &kernel) != nil || kernel.ID == "" {
		t.Fatalf("POST /api/kernels: %d, %v: %s", status, err, body)
	}
	pu, _ := url.Parse(u)
	ws := "ws://" + pu.Host + "/api/kernels/" + kernel.ID + "/channels?token=" + url.QueryEscape(pu.Query().Get("token"))
	// The server answers the handshake once the new kernel answers it:
	// a kernel starting on 2 busy cores may take a while.
	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 60 * time.Second}).Dial(ws, nil)
	if err != nil {
		t.Fatalf("kernel websocket: %v", err)
	}
	defer conn.Close()
	msgID := fmt.Sprintf("jt-e2e-%d", time.Now().UnixNano())
	if err := conn.WriteJSON(map[string]any{
		"header": map[string]any{"msg_id": msgID, "username": "jt-e2e", "session": "jt-e2e-" + msgID,
			"msg_type": "execute_request", "version": "5.3", "date": time.Now().UTC().Format(time.RFC3339Nano)},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell",
		"content": map[string]any{"code": code, "silent": false, "store_history": false,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}); err != nil {
		t.Fatalf("send execute_request: %v", err)
	}
	// The kernel said busy for our request: the cell runs.
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		var in struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content struct {
				State string `json:"execution_state"`
			} `json:"content"`
		}
		if err := conn.ReadJSON(&in); err != nil {
			t.Fatalf("read from the kernel websocket: %v", err)
		}
		if in.ParentHeader.MsgID == msgID && in.Header.MsgType == "status" && in.Content.State == "busy" {
			return kernel.ID
		}
	}
}

// kernelsOf lists the server's kernels by id, without counting as the
// server's activity; ok is false when the server does not answer.
func kernelsOf(u string) (ids map[string]bool, ok bool) {
	status, body, err := api(u, http.MethodGet, "api/kernels?no_track_activity=1", nil)
	if err != nil || status != http.StatusOK {
		return nil, false
	}
	var ks []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &ks) != nil {
		return nil, false
	}
	ids = map[string]bool{}
	for _, k := range ks {
		ids[k.ID] = true
	}
	return ids, true
}

// localHome is where this machine sees the home of host's user.
func localHome(t *testing.T, host string) string {
	t.Helper()
	home := strings.TrimSpace(remote(t, host, `printf '%s\n' "$HOME"`+"\n"))
	if strings.HasPrefix(host, "hosttrixie") {
		return filepath.Join(trixieRoot, home)
	}
	return home
}

// idleKernel is a kernel of an idle-test session, with what was seen of it.
type idleKernel struct {
	id, done   string    // its id; the file its cell writes when it ends
	doneAt     time.Time // when its cell ended
	goneAt     time.Time // when the server was first seen without it
	sessionKey string
}

// idleSession is one session of the test.
type idleSession struct {
	host, name string
	r          openResult
	kernels    []*idleKernel
	goneAt     time.Time // when its server stopped answering
	slurm      bool
	cellsAt    time.Time // when its first cell was running
	lsChecked  bool      // jt ls was asked about it while they ran
}

// startIdleSession opens host/name with --idle and starts its cells: a
// computing one, and (unless computeOnly) one sleeping in C; each runs
// for 4 idle periods with no client.
func startIdleSession(t *testing.T, e *env, host, name, home string, slurm, computeOnly bool, flags ...string) *idleSession {
	t.Helper()
	s := &idleSession{host: host, name: name, slurm: slurm}
	if slurm {
		s.r = e.openSlurm(host, name, append(flags, "--idle", idlePeriod.String(), "--slurm-args", "--time=10 -c 1")...)
	} else {
		s.r = e.open(host, name, append(flags, "--idle", idlePeriod.String())...)
	}
	secs := int(4 * idlePeriod / time.Second)
	cells := map[string]string{"compute": computeCell(secs, "~/.jt-idle-e2e/"+name+"-compute")}
	if !computeOnly {
		cells["sleep"] = sleepCell(secs, "~/.jt-idle-e2e/"+name+"-sleep")
	}
	for _, kind := range []string{"compute", "sleep"} {
		code, ok := cells[kind]
		if !ok {
			continue
		}
		id := startCell(t, s.r.URL, code)
		if s.cellsAt.IsZero() {
			s.cellsAt = time.Now()
		}
		s.kernels = append(s.kernels, &idleKernel{id: id, done: filepath.Join(home, ".jt-idle-e2e", name+"-"+kind), sessionKey: kind})
	}
	return s
}

// watcherLogs is what the session's watcher and Jupyter logged, for a
// failure's message.
func (s *idleSession) watcherLogs() string {
	dir := `"$HOME/.local/state/jt/sessions/` + s.name + `"`
	if s.slurm {
		dir = `"$HOME/.local/state/jt/slurm/` + s.name + `"/*`
	}
	out, _, _ := remoteRun(s.host, "tail -n 40 "+dir+"/idle.log "+dir+"/log "+dir+"/idle\n")
	return out
}

// cellsRun reports whether none of s's cells has ended yet.
func (s *idleSession) cellsRun() bool {
	for _, k := range s.kernels {
		if _, err := os.Stat(k.done); err == nil {
			return false
		}
	}
	return true
}

// observe looks at s once: which cells have ended, which kernels the
// server still has, whether it still answers. A kernel gone before its
// cell ended, or a server gone before its kernels, is an error.
func (s *idleSession) observe(t *testing.T, now time.Time) {
	t.Helper()
	if !s.goneAt.IsZero() {
		return
	}
	for _, k := range s.kernels {
		if k.doneAt.IsZero() {
			// When the cell ended: the file's time, however late it is seen.
			if fi, err := os.Stat(k.done); err == nil {
				k.doneAt = fi.ModTime()
			}
		}
	}
	ids, ok := kernelsOf(s.r.URL)
	for _, k := range s.kernels {
		if !k.goneAt.IsZero() || (ok && ids[k.id]) {
			continue
		}
		k.goneAt = now
		if k.doneAt.IsZero() {
			t.Errorf("%s/%s: the %s kernel is gone (server answers: %v) while its cell still runs; logs:\n%s", s.host, s.name, k.sessionKey, ok, s.watcherLogs())
		} else if k.goneAt.Sub(k.doneAt) < idlePeriod/3 {
			t.Errorf("%s/%s: the %s kernel was released %v after its cell ended, well within the idle period %v",
				s.host, s.name, k.sessionKey, k.goneAt.Sub(k.doneAt), idlePeriod)
		}
	}
	if !ok {
		s.goneAt = now
	}
}

// TestE2EIdleNeverCullsComputing: with --idle 10s, five sessions on each
// of Debian 12 and Debian 13 side by side, each with a kernel computing
// (a modest share of CPU) and a kernel sleeping in C (time.sleep, no CPU)
// for 4 idle periods without output and without a client, and a Slurm job
// with a computing kernel. No kernel goes while its cell runs, and jt ls
// says the session is busy computing; once a cell ends its kernel is
// released after the idle period, then the server shuts down (jt ls:
// stopped (idle)), and the Slurm job ends (squeue empty).
func TestE2EIdleNeverCullsComputing(t *testing.T) {
	needSlurm(t)
	needTrixie(t)
	e := newEnv(t)
	scancelSession(t, userA, "idleslurm")
	const rounds = 5
	// jt ls waits up to --timeout for each host: 11 sessions on 2 shared
	// cores answer slowly, and the test is about what it says, not how fast.
	ls := func() []lsRow { return e.ls("--timeout", "40s") }
	var sessions []*idleSession
	textChecked := false
	// Past the idle period with its cells running: jt ls says why the
	// session is not idle (asked while the others open, too).
	checkDue := func(now time.Time) {
		for _, s := range sessions {
			s.observe(t, now)
		}
		var due []*idleSession
		for _, s := range sessions {
			if ran := now.Sub(s.cellsAt); !s.lsChecked && ran > idlePeriod+4*time.Second && s.cellsRun() {
				due = append(due, s)
			}
		}
		if len(due) == 0 {
			return
		}
		rows := ls()
		for _, s := range due {
			if !s.cellsRun() {
				continue // a cell ended while jt ls ran: ask again
			}
			if got := row(t, rows, s.host, s.name); got.State != "up" || got.Activity != "busy: kernel computing" || got.Idle != "0s" {
				t.Errorf("%s/%s: jt ls row state %q, activity %q, idle %q; want up, busy: kernel computing, 0s", s.host, s.name, got.State, got.Activity, got.Idle)
			}
			s.lsChecked = true
		}
		if textChecked {
			return
		}
		if stdout, _ := e.jt("ls", "--timeout", "40s"); !strings.Contains(stdout, ", busy: kernel computing") {
			t.Errorf("jt ls:\n%s", stdout)
		} else {
			t.Logf("jt ls:\n%s", stdout)
		}
		textChecked = true
	}
	for _, host := range []string{hostA, hostTrixie} {
		remote(t, host, `rm -rf "$HOME/.jt-idle-e2e" && mkdir "$HOME/.jt-idle-e2e"`+"\n")
		t.Cleanup(func() { remoteRun(host, `rm -rf "$HOME/.jt-idle-e2e"`+"\n") })
		home := localHome(t, host)
		// Debian 12: notebook 6 and jupyter_server 1; Debian 13:
		// jupyter_server 2, bare and with JupyterLab 4.
		flavours := [][]string{nil, {"--server"}}
		if host == hostTrixie {
			flavours = [][]string{{"--server"}, {"--lab"}}
		}
		for i := range rounds {
			sessions = append(sessions, startIdleSession(t, e, host, fmt.Sprintf("idle%d", i), home, false, false, flavours[i%2]...))
			checkDue(time.Now())
		}
		if host == hostA {
			sessions = append(sessions, startIdleSession(t, e, host, "idleslurm", home, true, true))
			checkDue(time.Now())
		}
	}
	begin := time.Now()
	deadline := begin.Add(4*idlePeriod + 3*idlePeriod + 2*time.Minute)
	for {
		now := time.Now()
		all := true
		for _, s := range sessions {
			s.observe(t, now)
			all = all && !s.goneAt.IsZero()
		}
		if all {
			break
		}
		if now.After(deadline) {
			for _, s := range sessions {
				if s.goneAt.IsZero() {
					t.Errorf("%s/%s still up after %v", s.host, s.name, now.Sub(begin).Round(time.Second))
				}
			}
			t.FailNow()
		}
		checkDue(now)
		time.Sleep(time.Second)
	}
	// The watcher writes its last verdict once the server has exited.
	var rows []lsRow
	pollUntil(30*time.Second, func() bool {
		rows = ls()
		for _, s := range sessions {
			if row(t, rows, s.host, s.name).State != "stopped (idle)" {
				return false
			}
		}
		return true
	})
	for _, s := range sessions {
		if !s.lsChecked {
			t.Errorf("%s/%s: jt ls was never asked about it while its cells ran", s.host, s.name)
		}
		for _, k := range s.kernels {
			if k.goneAt.IsZero() || k.doneAt.IsZero() {
				t.Errorf("%s/%s: the %s kernel: cell ended %v, kernel gone %v", s.host, s.name, k.sessionKey, !k.doneAt.IsZero(), !k.goneAt.IsZero())
			}
		}
		if got := row(t, rows, s.host, s.name); got.State != "stopped (idle)" {
			t.Errorf("%s/%s: jt ls row %+v, want stopped (idle)", s.host, s.name, got)
		}
		if s.slurm && !pollUntil(60*time.Second, func() bool { return len(squeueJobs(t, userA, s.name)) == 0 }) {
			t.Errorf("the idle Slurm job is still in squeue: %v", squeueJobs(t, userA, s.name))
		}
	}
	t.Logf("took %v", time.Since(begin).Round(time.Second))
}
