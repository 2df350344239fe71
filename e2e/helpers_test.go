package e2e

// The local side of a test: its env (own state and runtime directories),
// runs of jt and their answers, the state file and jt's ssh masters.

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// env is one test's local side: its own state and runtime directories, so
// that its state file and control sockets are its own.
type env struct {
	t       *testing.T
	dir     string // short: control sockets live below it
	State   string // XDG_STATE_HOME
	Runtime string // XDG_RUNTIME_DIR
	vars    []string
	opened  map[[2]string]bool // host, name pairs this test opened

	mu      sync.Mutex
	printed []string // the stdout and stderr of every jt run
}

// newEnv makes a fresh local environment and registers the cleanup that
// kills every session the test opened and exits its masters.
func newEnv(t *testing.T) *env {
	t.Helper()
	needE2E(t)
	dir, err := os.MkdirTemp("/tmp", "jte")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t:       t,
		dir:     dir,
		State:   filepath.Join(dir, "s"),
		Runtime: filepath.Join(dir, "r"),
		opened:  map[[2]string]bool{},
	}
	for _, d := range []string{e.State, e.Runtime} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	drop := map[string]bool{"BROWSER": true, "XDG_STATE_HOME": true, "XDG_RUNTIME_DIR": true,
		"JT_SSH_CONFIG": true, "JT_SSH": true, "JT_FIRST_LOCAL_PORT": true, "SSH_AUTH_SOCK": true, "DISPLAY": true, "WAYLAND_DISPLAY": true}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			e.vars = append(e.vars, kv)
		}
	}
	e.vars = append(e.vars, "XDG_STATE_HOME="+e.State, "XDG_RUNTIME_DIR="+e.Runtime, "JT_SSH_CONFIG="+e2e.box.ConfigPath)
	if _, set := os.LookupEnv("GORACE"); !set {
		// A jt built with -race would sleep a second as it exits
		// (ThreadSanitizer's atexit_sleep_ms), every command of every
		// test: the race detector reports a race as it happens, not then.
		e.vars = append(e.vars, "GORACE=atexit_sleep_ms=0")
	}
	if slot > 0 {
		// Workers side by side share this machine's local ports: each
		// starts its tunnels in a range of its own, so that a tunnel one
		// test closes is not at once another's (a "port taken" there).
		// (Above 8888 and what follows it: the remote servers, on this
		// machine too, take their TCP ports there.)
		e.vars = append(e.vars, "JT_FIRST_LOCAL_PORT="+strconv.Itoa(20000+2000*(slot-1)))
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Cleanup(e.cleanup)
	return e
}

// cleanup kills what the test left running. Cleanup failures are logged,
// not fatal: the box's Stop kills the users' processes in the end anyway.
func (e *env) cleanup() {
	if !e2e.box.Running() {
		if err := e2e.box.StartSSHD(); err != nil {
			e.t.Logf("cleanup: restart sshd: %v", err)
		}
	}
	recorded := map[[2]string]bool{}
	if f, err := e.loadState(); err == nil {
		for _, s := range f.Sessions {
			recorded[[2]string{s.Host, s.Name}] = true
		}
	}
	if len(recorded) > 0 {
		if _, stderr, code := e.run("close", "--kill", "--all"); code != 0 {
			e.t.Logf("cleanup: jt close --kill --all: exit %d: %s", code, stderr)
		}
	}
	// Sessions the state file does not know (deleted state, failed opens).
	var rest [][2]string
	for k := range e.opened {
		if !recorded[k] {
			rest = append(rest, k)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i][0]+rest[i][1] < rest[j][0]+rest[j][1] })
	for _, k := range rest {
		if _, stderr, code := e.run("close", "--kill", "--name", k[1], k[0]); code != 0 {
			e.t.Logf("cleanup: jt close --kill --name %s %s: exit %d: %s", k[1], k[0], code, stderr)
		}
	}
	for alias := range e2e.box.Users {
		exec.Command("ssh", e.masterArgs("-O", "exit", alias)...).Run()
	}
	for _, alias := range append(trixieAliases(), condorAliases()...) {
		exec.Command("ssh", e.masterArgs("-O", "exit", alias)...).Run()
	}
}

// setVar sets an environment variable for the env's later jt runs (and its
// cleanup). exec keeps the last of duplicate keys.
func (e *env) setVar(key, value string) {
	e.vars = append(e.vars, key+"="+value)
}

// run runs the jt binary and returns what it printed and its exit code
// (-1 when it did not finish within jtTimeout).
func (e *env) run(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), jtTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2e.jt, args...)
	cmd.Env = e.vars
	cmd.Dir = e.dir
	// Files rather than pipes: a daemonised ssh master that kept a pipe
	// open would make Wait hang.
	outF, err := os.CreateTemp(e.dir, "out")
	if err != nil {
		e.t.Fatal(err)
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp(e.dir, "err")
	if err != nil {
		e.t.Fatal(err)
	}
	defer os.Remove(errF.Name())
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	start := time.Now()
	err = cmd.Run()
	code = 0
	if err != nil {
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil:
			code = -1
		case errors.As(err, &ee):
			code = ee.ExitCode()
		default:
			e.t.Fatalf("run jt: %v", err)
		}
	}
	o, _ := os.ReadFile(outF.Name())
	x, _ := os.ReadFile(errF.Name())
	stdout, stderr = string(o), string(x)
	e.mu.Lock()
	e.printed = append(e.printed, stdout, stderr)
	e.mu.Unlock()
	e.t.Logf("$ jt %s  # exit %d, %v\n%s%s", shellJoin(args), code, time.Since(start).Round(time.Millisecond),
		indent("stdout| ", stdout), indent("stderr| ", stderr))
	checkNoRace(e.t, stderr)
	if code == -1 {
		e.t.Fatalf("jt %s did not finish within %v", shellJoin(args), jtTimeout)
	}
	return stdout, stderr, code
}

// outputs is what every jt run of the env printed so far, stdout and
// stderr of each.
func (e *env) outputs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.printed...)
}

// jt is run with the test failing unless the exit status is 0.
func (e *env) jt(args ...string) (stdout, stderr string) {
	e.t.Helper()
	stdout, stderr, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("jt %s: exit %d\n%s", shellJoin(args), code, stderr)
	}
	return stdout, stderr
}

// shellEnv is the env's environment for a shell a user types into: jt
// first on PATH, then vars.
func (e *env) shellEnv(vars ...string) []string {
	return append(append(slices.Clone(e.vars), "PATH="+filepath.Dir(e2e.jt)+":"+os.Getenv("PATH")), vars...)
}

// shellRun runs line through `shell -c` with the test's environment and jt
// on PATH, as a user types it.
func (e *env) shellRun(shell, line string) (stdout, stderr string, code int) {
	e.t.Helper()
	path, err := exec.LookPath(shell)
	if err != nil {
		missingReq(e.t, shell+" is not installed")
	}
	cmd := exec.Command(path, "-c", line)
	cmd.Env = e.shellEnv()
	cmd.Dir = e.dir
	var o, x strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &x
	err = cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("%s -c %q: %v", shell, line, err)
	}
	e.t.Logf("$ %s -c %s  # exit %d\n%s%s", shell, shellQuote(line), code, indent("stdout| ", o.String()), indent("stderr| ", x.String()))
	checkNoRace(e.t, x.String())
	return o.String(), x.String(), code
}

// checkNoRace fails the test when a -race build of jt found a data race.
func checkNoRace(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "WARNING: DATA RACE") {
		t.Errorf("the race detector found a data race in jt:\n%s", stderr)
	}
}

// openResult is jt open --json's answer.
type openResult struct {
	URL        string `json:"url"`
	Host       string `json:"host"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	LocalPort  int    `json:"local_port"`
	RemotePort int    `json:"remote_port"`
	PID        int    `json:"pid"`
	Flavour    string `json:"flavour"`
	Dir        string `json:"dir"`
	Node       string `json:"node"`
	SlurmJob   string `json:"slurm_job"`
	SlurmNode  string `json:"slurm_node"`
	Job        jobRef `json:"job"`
	Exposure   string `json:"exposure"`
	Fallback   string `json:"fallback"`
}

// jobRef is the job of a batch session in jt's JSON, whichever scheduler.
type jobRef struct {
	Scheduler string `json:"scheduler"`
	ID        string `json:"id"`
	Node      string `json:"node"`
	Limit     string `json:"limit"`
}

// parseOpen decodes what jt open --json printed: exactly one JSON object.
func parseOpen(stdout string) (openResult, error) {
	var r openResult
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	if dec.More() {
		return r, errors.New("more than one JSON object")
	}
	return r, nil
}

// openArgs runs jt open --no-browser --json ARGS..., checks that it
// succeeded and printed one answer with a server for host and session
// name, and returns the answer and what jt printed on stderr.
func (e *env) openArgs(host, name string, args ...string) (openResult, string) {
	e.t.Helper()
	e.opened[[2]string{host, name}] = true
	stdout, stderr := e.jt(append([]string{"open", "--no-browser", "--json"}, args...)...)
	r, err := parseOpen(stdout)
	if err != nil {
		e.t.Fatalf("jt open --json printed %q: %v", stdout, err)
	}
	if r.PID <= 0 || r.URL == "" || r.Host != host || r.Name != name {
		e.t.Fatalf("jt open --json: incomplete answer %+v", r)
	}
	return r, stderr
}

// open runs jt open --no-browser --json --name NAME [extra...] HOST and
// checks that it succeeded and printed one JSON object.
func (e *env) open(host, name string, extra ...string) openResult {
	e.t.Helper()
	r, _ := e.openArgs(host, name, append(append([]string{"--name", name}, extra...), host)...)
	return r
}

// openTogether runs n jt open --json of host/name at the same time and
// returns the answers of those that succeeded (failures are test errors).
func openTogether(t *testing.T, e *env, n int, host, name string) []openResult {
	t.Helper()
	e.opened[[2]string{host, name}] = true
	type result struct {
		stdout, stderr string
		code           int
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() {
			o, x, c := e.run("open", "--no-browser", "--json", "--name", name, host)
			results <- result{o, x, c}
		}()
	}
	var opened []openResult
	for i := 0; i < n; i++ {
		r := <-results
		if r.code != 0 {
			t.Errorf("concurrent jt open: exit %d: %s", r.code, r.stderr)
			continue
		}
		o, err := parseOpen(r.stdout)
		if err != nil {
			t.Errorf("jt open --json printed %q: %v", r.stdout, err)
			continue
		}
		opened = append(opened, o)
	}
	return opened
}

// lsRow is one row of jt ls --json.
type lsRow struct {
	Host       string `json:"host"`
	Name       string `json:"name"`
	State      string `json:"state"`
	Node       string `json:"node"`
	URL        string `json:"url"`
	PID        int    `json:"pid"`
	Mode       string `json:"mode"`
	LocalPort  int    `json:"local_port"`
	RemotePort int    `json:"remote_port"`
	RemoteSock string `json:"remote_sock"`
	Flavour    string `json:"flavour"`
	Version    string `json:"version"`
	Recorded   bool   `json:"recorded"`
	Error      string `json:"error"`
	SlurmJob   string `json:"slurm_job"`
	SlurmNode  string `json:"slurm_node"`
	Job        jobRef `json:"job"`
	JobState   string `json:"job_state"`
	JobReason  string `json:"job_reason"`
	TimeLeft   string `json:"time_left"`
	JobStart   string `json:"job_start"`
	Idle       string `json:"idle"`
	Activity   string `json:"activity"`
	EndsSoon   bool   `json:"ends_soon"`
	Exposure   string `json:"exposure"`
	Resources  string `json:"resources"`
}

// lsRows decodes what jt ls --json printed.
func lsRows(t *testing.T, stdout string) []lsRow {
	t.Helper()
	var rows []lsRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("jt ls --json printed %q: %v", stdout, err)
	}
	return rows
}

// ls runs jt ls --json [args...] and decodes its rows.
func (e *env) ls(args ...string) []lsRow {
	e.t.Helper()
	stdout, _ := e.jt(append([]string{"ls", "--json"}, args...)...)
	return lsRows(e.t, stdout)
}

// row finds host/name in rows, failing the test if it is not there.
func row(t *testing.T, rows []lsRow, host, name string) lsRow {
	t.Helper()
	for _, r := range rows {
		if r.Host == host && r.Name == name {
			return r
		}
	}
	t.Fatalf("jt ls has no row %s %s: %+v", host, name, rows)
	return lsRow{}
}

// stateFile is the part of jt's state file (state.toml) the tests look at.
// Every test reads the state file through readState (loadState,
// mustState, session, recorded), so that a change of its schema is made
// here, once.
type stateFile struct {
	SchemaVersion int            `toml:"schema_version"`
	Sessions      []stateSession `toml:"sessions"`
	Pending       []statePending `toml:"pending"`
}

// stateSession is one [[sessions]] record.
type stateSession struct {
	Host       string   `toml:"host"`
	Name       string   `toml:"name"`
	PID        int      `toml:"pid"`
	Node       string   `toml:"node"`
	Hop        string   `toml:"hop"`
	LocalPort  int      `toml:"local_port"`
	RemotePort int      `toml:"remote_port"`
	RemoteSock string   `toml:"remote_sock"`
	Mode       string   `toml:"mode"`
	Token      string   `toml:"token"`
	BaseURL    string   `toml:"base_url"`
	Dir        string   `toml:"dir"`
	Log        string   `toml:"log"`
	Transport  string   `toml:"transport"`
	ForwardPID int      `toml:"forward_pid"`
	RemoteHost string   `toml:"remote_host"`
	Job        stateJob `toml:"job"`
}

// stateJob is a batch session's job.
type stateJob struct {
	Scheduler string    `toml:"scheduler"`
	ID        string    `toml:"id"`
	Node      string    `toml:"node"`
	End       time.Time `toml:"end"`
	Hop       string    `toml:"hop"`
}

// statePending is one [[pending]] record: an open that has not finished.
type statePending struct {
	Host  string `toml:"host"`
	Name  string `toml:"name"`
	Nonce string `toml:"nonce"`
	PID   int    `toml:"pid"`
}

// url is the session's URL as jt prints it.
func (s stateSession) url() string {
	base := s.BaseURL
	if base == "" {
		base = "/"
	}
	return "http://127.0.0.1:" + strconv.Itoa(s.LocalPort) + base + "?token=" + s.Token
}

// session finds the record of host and name.
func (f stateFile) session(host, name string) (stateSession, bool) {
	for _, s := range f.Sessions {
		if s.Host == host && s.Name == name {
			return s, true
		}
	}
	return stateSession{}, false
}

// hasPending reports whether an open of host and name is pending.
func (f stateFile) hasPending(host, name string) bool {
	for _, p := range f.Pending {
		if p.Host == host && p.Name == name {
			return true
		}
	}
	return false
}

func (e *env) statePath() string { return filepath.Join(e.State, "jt", "state.toml") }

// readState reads and decodes the state file at path with BurntSushi/toml:
// the one place the tests parse it. A missing file is an empty state; data
// is the file's text.
func readState(path string) (f stateFile, data []byte, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil, nil
	}
	if err != nil {
		return f, nil, err
	}
	_, err = toml.Decode(string(data), &f)
	return f, data, err
}

// loadState reads the env's state file; a missing file is an empty state.
func (e *env) loadState() (stateFile, error) {
	f, _, err := readState(e.statePath())
	return f, err
}

// mustState is the env's state file and its text; the test fails if the
// file cannot be read or does not parse.
func (e *env) mustState() (stateFile, string) {
	e.t.Helper()
	f, data, err := readState(e.statePath())
	if err != nil {
		e.t.Fatalf("the state file does not parse: %v\n%s", err, data)
	}
	return f, string(data)
}

// session is the env's record of host and name, if there is one.
func (e *env) session(host, name string) (stateSession, bool) {
	e.t.Helper()
	f, _ := e.mustState()
	return f.session(host, name)
}

// recorded reports whether the state file has an entry for host and name.
func (e *env) recorded(host, name string) bool {
	e.t.Helper()
	_, ok := e.session(host, name)
	return ok
}

// masterArgs is an ssh argv that talks to jt's master for this env.
func (e *env) masterArgs(args ...string) []string {
	return append([]string{"-F", e2e.box.ConfigPath, "-o", "ControlPath=" + filepath.Join(e.Runtime, "jt", "cm-%C")}, args...)
}

// masterCheckRE finds the pid in what ssh -O check prints.
var masterCheckRE = regexp.MustCompile(`pid=([0-9]+)`)

// masterCheck asks jt's master for host whether it runs (ssh -O check):
// the one place the tests ask. err is ssh's (nil: a master answered); pid
// is the master's, 0 if none answered; out is what ssh printed.
func (e *env) masterCheck(host string) (pid int, out string, err error) {
	b, err := exec.Command("ssh", e.masterArgs("-o", "BatchMode=yes", "-O", "check", host)...).CombinedOutput()
	if m := masterCheckRE.FindSubmatch(b); err == nil && m != nil {
		pid, _ = strconv.Atoi(string(m[1]))
	}
	return pid, string(b), err
}

// masterRunning reports whether jt's master for host answers.
func (e *env) masterRunning(host string) bool {
	_, _, err := e.masterCheck(host)
	return err == nil
}

// masterPID is the pid of jt's master for host; the test fails if no
// master answers.
func (e *env) masterPID(host string) int {
	e.t.Helper()
	pid, out, err := e.masterCheck(host)
	if err != nil || pid == 0 {
		e.t.Fatalf("ssh -O check %s: %v: %s", host, err, out)
	}
	return pid
}

// exitMaster kills host's master the way a dropped connection would end
// it: its forwards go with it, the remote servers stay.
func (e *env) exitMaster(host string) {
	e.t.Helper()
	out, err := exec.Command("ssh", e.masterArgs("-O", "exit", host)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("ssh -O exit %s: %v: %s", host, err, out)
	}
	// -O exit returns before the master is gone; wait for its socket.
	deadline := time.Now().Add(10 * time.Second)
	for e.masterRunning(host) {
		if time.Now().After(deadline) {
			e.t.Fatalf("the master of %s survives ssh -O exit", host)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// controlSocket is the control socket path of jt's master for host.
func (e *env) controlSocket(host string) string {
	e.t.Helper()
	out, err := exec.Command("ssh", e.masterArgs("-G", host)...).Output()
	if err != nil {
		e.t.Fatalf("ssh -G %s: %v", host, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "controlpath "); ok {
			return v
		}
	}
	e.t.Fatalf("ssh -G %s prints no controlpath", host)
	return ""
}

// sshLogger makes jt run ssh through a wrapper (JT_SSH) that logs each
// argv, one line per call with the words separated by \x1f, and returns
// the log's path.
func (e *env) sshLogger() string {
	e.t.Helper()
	ssh, err := exec.LookPath("ssh")
	if err != nil {
		e.t.Fatalf("ssh not found: %v", err)
	}
	logPath := filepath.Join(e.dir, "ssh.argv")
	wrapper := filepath.Join(e.dir, "ssh-logger")
	script := "#!/bin/sh\n" +
		"{ for a; do printf '%s\\037' \"$a\"; done; printf '\\n'; } >>" + shellQuote(logPath) + "\n" +
		"exec " + shellQuote(ssh) + " \"$@\"\n"
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		e.t.Fatal(err)
	}
	e.setVar("JT_SSH", wrapper)
	return logPath
}

// sshCalls reads the wrapper's log: one argv per ssh call.
func sshCalls(t *testing.T, logPath string) [][]string {
	t.Helper()
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("ssh wrapper log: %v", err)
	}
	var calls [][]string
	for _, l := range lines(string(data)) {
		calls = append(calls, strings.Split(strings.TrimSuffix(l, "\x1f"), "\x1f"))
	}
	return calls
}

func formatCalls(calls [][]string) string {
	var b strings.Builder
	for _, c := range calls {
		b.WriteString("  ssh " + shellJoin(c) + "\n")
	}
	return b.String()
}

// writeArgvLogger writes a BROWSER stand-in that records its arguments
// (NUL-separated) in argvPath and exits.
func writeArgvLogger(t *testing.T, path, argvPath string) {
	t.Helper()
	script := "#!/bin/sh\n" +
		"for a; do printf '%s\\0' \"$a\"; done >" + shellQuote(argvPath+".tmp") + "\n" +
		"mv " + shellQuote(argvPath+".tmp") + " " + shellQuote(argvPath) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
}

// freePort is a TCP port nothing listens on now (the remote is this machine).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFile waits until path exists and returns its content.
func waitFile(t *testing.T, path string, timeout time.Duration, what string) []byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if data, err := os.ReadFile(path); err == nil {
			return data
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not appear within %v", what, path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkMode fails unless path's permission bits are want.
func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Errorf("stat %s: %v", path, err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

// pollUntil calls cond every 200 ms until it holds or d has passed.
func pollUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cpuLoad keeps every core busy until the returned stop is called (or the
// test ends): the races a slow, loaded laptop meets. It starts a busy loop
// for each core that is idle now (over 200 ms of /proc/stat), so that on a
// machine the other tests already keep busy, as three e2e workers keep two
// cores, it takes no CPU from them; elsewhere, one for each core.
func cpuLoad(t *testing.T) (stop func()) {
	t.Helper()
	n := idleCores(200 * time.Millisecond)
	var cmds []*exec.Cmd
	for i := 0; i < n; i++ {
		c := exec.Command("sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			for _, c := range cmds {
				c.Process.Kill()
				c.Wait()
			}
		})
	}
	t.Cleanup(stop)
	t.Logf("cpu load: %d busy loops (pids %s)", len(cmds), pidList(cmds))
	return stop
}

// idleCores is how many of the cores were idle over d, rounded: every
// core where /proc/stat cannot be read.
func idleCores(d time.Duration) int {
	idle := func() (idle, total uint64, ok bool) {
		data, err := os.ReadFile("/proc/stat")
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line)
		if err != nil || len(f) < 5 || f[0] != "cpu" {
			return 0, 0, false
		}
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, false
			}
			total += n
			if i == 3 || i == 4 { // idle, iowait
				idle += n
			}
		}
		return idle, total, true
	}
	i0, t0, ok0 := idle()
	time.Sleep(d)
	i1, t1, ok1 := idle()
	cores := runtime.NumCPU()
	if !ok0 || !ok1 || t1 <= t0 {
		return cores
	}
	return int(math.Round(float64(cores) * float64(i1-i0) / float64(t1-t0)))
}

func pidList(cmds []*exec.Cmd) string {
	var s []string
	for _, c := range cmds {
		s = append(s, strconv.Itoa(c.Process.Pid))
	}
	return strings.Join(s, " ")
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func indent(prefix, s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

// shellQuote quotes one word for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@%+,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
