package e2e

// The end-to-end harness (layer 4 of STYLE.md "Tests, in layers"): the
// built jt binary against a real sshd (scripts/sshbox), real screen, tmux
// and Jupyter. One box serves every test; it is started on first use and
// stopped by TestMain, so other tests of this package pay nothing.
//
// Requirements: root (several remote users, each with its own login
// shell), /usr/sbin/sshd, screen and jupyter. Without them the tests skip,
// unless JT_E2E=require (CI), which makes every missing piece a failure.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gofrs/flock"
	"github.com/gorilla/websocket"

	"github.com/jt-sh/jt/scripts/sshbox"
)

// jtTimeout bounds one run of the jt binary.
const jtTimeout = 120 * time.Second

// Remote users and the ssh aliases that log in as them.
const (
	userA    = "jtu1"
	userB    = "jtu2"
	userCsh  = "jtcsh"
	userFish = "jtfish"
	userZsh  = "jtzsh"

	hostA    = "hosta"
	hostB    = "hostb"
	hostCsh  = "hostcsh"
	hostFish = "hostfish"
	hostZsh  = "hostzsh"
)

// A second unix user on the same host, who never owns a session: the
// other users of a shared login node (e2e_security_test.go).
const (
	userOther = "jtother"
	hostOther = "hostother"
)

// A user whose login shell lies (e2e_hostile_test.go): it runs the real
// /bin/sh, and pipes what it prints through $HOME/filter when there is one.
const (
	userHostile = "jthostile"
	hostHostile = "hosthostile"
)

// hostileShell is that login shell.
const hostileShell = `#!/bin/sh
# The hostile test user's login shell: the real /bin/sh runs the command,
# and the filter a test chose rewrites everything it prints.
if [ -f "$HOME/filter" ]; then
	/bin/sh "$@" | /bin/sh "$HOME/filter"
	exit 0
fi
exec /bin/sh "$@"
`

// Banners the tcsh, fish and zsh users' rc files print on stdout at every login.
const (
	cshBanner  = "Welcome to the cluster (tcsh)"
	fishBanner = "Welcome to the cluster (fish)"
	zshBanner  = "Welcome to the cluster (zsh)"
)

var e2e struct {
	once     sync.Once
	setupErr error  // a setup step failed: every e2e test fails
	missing  string // a requirement is missing: skip (or fail with JT_E2E=require)
	dir      string // short base directory (box, binary)
	jt       string // the built binary
	box      *sshbox.Box
	tcsh     string // login shells found, "" if missing
	fish     string
	zsh      string
	lock     *flock.Flock // held until the process exits (see lockE2E)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if e2e.box != nil {
		if err := e2e.box.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stop sshbox: %v\n", err)
		}
	}
	if e2e.dir != "" {
		os.RemoveAll(e2e.dir)
	}
	os.Exit(code)
}

// required reports whether missing requirements are failures (CI).
func required() bool { return os.Getenv("JT_E2E") == "require" }

// needE2E skips or fails the test when the harness cannot run, and starts
// the box on first use.
func needE2E(t *testing.T) {
	t.Helper()
	e2e.once.Do(setupE2E)
	if e2e.setupErr != nil {
		t.Fatalf("e2e setup: %v", e2e.setupErr)
	}
	if e2e.missing != "" {
		missingReq(t, e2e.missing)
	}
	if !e2e.box.Running() {
		// A failed test that stopped sshd must not take the others down.
		if err := e2e.box.StartSSHD(); err != nil {
			t.Fatalf("restart sshd: %v", err)
		}
	}
}

// missingReq skips, or fails under JT_E2E=require.
func missingReq(t *testing.T, what string) {
	t.Helper()
	if required() {
		t.Fatalf("JT_E2E=require, but %s", what)
	}
	t.Skipf("end-to-end test skipped: %s (set JT_E2E=require to make this a failure)", what)
}

func setupE2E() {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "not running as root (the box needs real test users)")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		missing = append(missing, "no /usr/sbin/sshd (apt install openssh-server)")
	}
	for _, bin := range []string{"ssh", "screen", "jupyter"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" not found on PATH")
		}
	}
	if len(missing) > 0 {
		e2e.missing = strings.Join(missing, "; ")
		return
	}
	if p, err := exec.LookPath("tcsh"); err == nil {
		e2e.tcsh = p
	}
	if p, err := exec.LookPath("fish"); err == nil {
		e2e.fish = p
	}
	if p, err := exec.LookPath("zsh"); err == nil {
		e2e.zsh = p
	}

	dir, err := os.MkdirTemp("/tmp", "jte")
	if err != nil {
		e2e.setupErr = err
		return
	}
	e2e.dir = dir
	e2e.jt = filepath.Join(dir, "jt")
	args := []string{"build", "-o", e2e.jt}
	if os.Getenv("JT_E2E_RACE") != "" {
		// The races a user's laptop meets, found by the race detector.
		args = append(args, "-race")
	}
	// The module path, not a directory: the build does not depend on where
	// go test runs this package.
	build := exec.Command("go", append(args, "github.com/jt-sh/jt")...)
	if out, err := build.CombinedOutput(); err != nil {
		e2e.setupErr = fmt.Errorf("go build: %v\n%s", err, out)
		return
	}

	opts := sshbox.Options{
		Dir:        filepath.Join(dir, "box"),
		Foreground: true,
		Aliases:    map[string]string{hostA: userA, hostB: userB, hostOther: userOther},
		Users:      []sshbox.User{{Name: userA, Shell: "/bin/bash"}, {Name: userB, Shell: "/bin/bash"}, {Name: userOther, Shell: "/bin/bash"}},
	}
	if e2e.tcsh != "" {
		opts.Aliases[hostCsh] = userCsh
		opts.Users = append(opts.Users, sshbox.User{Name: userCsh, Shell: e2e.tcsh,
			Files: map[string]string{".cshrc": "echo \"" + cshBanner + "\"\n"}})
	}
	if e2e.fish != "" {
		opts.Aliases[hostFish] = userFish
		opts.Users = append(opts.Users, sshbox.User{Name: userFish, Shell: e2e.fish,
			Files: map[string]string{".config/fish/config.fish": "echo \"" + fishBanner + "\"\n"}})
	}
	if e2e.zsh != "" {
		// .zshenv: the one file zsh reads for ssh HOST CMD too.
		opts.Aliases[hostZsh] = userZsh
		opts.Users = append(opts.Users, sshbox.User{Name: userZsh, Shell: e2e.zsh,
			Files: map[string]string{".zshenv": "echo \"" + zshBanner + "\"\n"}})
	}
	// The hostile user's shell lives in dir: others may pass through it.
	shell := filepath.Join(dir, "hostile-shell")
	if err := os.WriteFile(shell, []byte(hostileShell), 0o755); err != nil {
		e2e.setupErr = err
		return
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		e2e.setupErr = err
		return
	}
	opts.Aliases[hostHostile] = userHostile
	opts.Users = append(opts.Users, sshbox.User{Name: userHostile, Shell: shell})
	if err := lockE2E(); err != nil {
		e2e.setupErr = err
		return
	}
	box, err := sshbox.Start(opts)
	if err != nil {
		e2e.setupErr = fmt.Errorf("start sshbox: %w", err)
		return
	}
	e2e.box = box
}

// e2eLockPath serialises end-to-end runs on one machine: every run's box
// resets the same unix users (their keys and processes), which would break
// a run going on at the same time.
const e2eLockPath = "/tmp/jt-e2e.lock"

func lockE2E() error {
	l := flock.New(e2eLockPath)
	ok, err := l.TryLock()
	if err == nil && !ok {
		fmt.Fprintf(os.Stderr, "e2e: another end-to-end run holds %s; waiting for it\n", e2eLockPath)
		err = l.Lock()
	}
	if err != nil {
		return fmt.Errorf("e2e lock %s: %w", e2eLockPath, err)
	}
	e2e.lock = l
	return nil
}

// env is one test's local side: its own state and runtime directories, so
// that its state file and control sockets are its own.
type env struct {
	t       *testing.T
	dir     string // short: control sockets live below it
	State   string // XDG_STATE_HOME
	Runtime string // XDG_RUNTIME_DIR
	vars    []string
	opened  map[[2]string]bool // host, name pairs this test opened
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
		"JT_SSH_CONFIG": true, "JT_SSH": true, "SSH_AUTH_SOCK": true, "DISPLAY": true, "WAYLAND_DISPLAY": true}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			e.vars = append(e.vars, kv)
		}
	}
	e.vars = append(e.vars, "XDG_STATE_HOME="+e.State, "XDG_RUNTIME_DIR="+e.Runtime, "JT_SSH_CONFIG="+e2e.box.ConfigPath)
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
	e.t.Logf("$ jt %s  # exit %d, %v\n%s%s", shellJoin(args), code, time.Since(start).Round(time.Millisecond),
		indent("stdout| ", stdout), indent("stderr| ", stderr))
	checkNoRace(e.t, stderr)
	if code == -1 {
		e.t.Fatalf("jt %s did not finish within %v", shellJoin(args), jtTimeout)
	}
	return stdout, stderr, code
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
}

// open runs jt open --no-browser --json --name NAME [extra...] HOST and
// checks that it succeeded and printed one JSON object.
func (e *env) open(host, name string, extra ...string) openResult {
	e.t.Helper()
	e.opened[[2]string{host, name}] = true
	args := append([]string{"open", "--no-browser", "--json", "--name", name}, extra...)
	args = append(args, host)
	stdout, _ := e.jt(args...)
	var r openResult
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&r); err != nil {
		e.t.Fatalf("jt open --json printed %q: %v", stdout, err)
	}
	if dec.More() {
		e.t.Fatalf("jt open --json printed more than one object: %q", stdout)
	}
	if r.PID <= 0 || r.URL == "" || r.Host != host || r.Name != name {
		e.t.Fatalf("jt open --json: incomplete answer %+v", r)
	}
	return r
}

// lsRow is one row of jt ls --json.
type lsRow struct {
	Host       string `json:"host"`
	Name       string `json:"name"`
	State      string `json:"state"`
	URL        string `json:"url"`
	PID        int    `json:"pid"`
	LocalPort  int    `json:"local_port"`
	RemotePort int    `json:"remote_port"`
	Recorded   bool   `json:"recorded"`
	Error      string `json:"error"`
}

// ls runs jt ls --json [args...] and decodes its rows.
func (e *env) ls(args ...string) []lsRow {
	e.t.Helper()
	stdout, _ := e.jt(append([]string{"ls", "--json"}, args...)...)
	var rows []lsRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		e.t.Fatalf("jt ls --json printed %q: %v", stdout, err)
	}
	return rows
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

// stateFile is the part of state.toml the tests look at.
type stateFile struct {
	SchemaVersion int `toml:"schema_version"`
	Sessions      []struct {
		Host       string `toml:"host"`
		Name       string `toml:"name"`
		PID        int    `toml:"pid"`
		LocalPort  int    `toml:"local_port"`
		RemotePort int    `toml:"remote_port"`
		RemoteSock string `toml:"remote_sock"`
		Mode       string `toml:"mode"`
		Token      string `toml:"token"`
		Dir        string `toml:"dir"`
		Log        string `toml:"log"`
		Transport  string `toml:"transport"`
		ForwardPID int    `toml:"forward_pid"`
	} `toml:"sessions"`
}

func (e *env) statePath() string { return filepath.Join(e.State, "jt", "state.toml") }

// loadState reads the state file; a missing file is an empty state.
func (e *env) loadState() (stateFile, error) {
	var f stateFile
	data, err := os.ReadFile(e.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	_, err = toml.Decode(string(data), &f)
	return f, err
}

// recorded reports whether the state file has an entry for host and name.
func (e *env) recorded(host, name string) bool {
	e.t.Helper()
	f, err := e.loadState()
	if err != nil {
		e.t.Fatalf("state file: %v", err)
	}
	for _, s := range f.Sessions {
		if s.Host == host && s.Name == name {
			return true
		}
	}
	return false
}

// masterArgs is an ssh argv that talks to jt's master for this env.
func (e *env) masterArgs(args ...string) []string {
	return append([]string{"-F", e2e.box.ConfigPath, "-o", "ControlPath=" + filepath.Join(e.Runtime, "jt", "cm-%C")}, args...)
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

// masterRunning asks jt's master for host whether it runs (ssh -O check).
func (e *env) masterRunning(host string) bool {
	return exec.Command("ssh", e.masterArgs("-o", "BatchMode=yes", "-O", "check", host)...).Run() == nil
}

// masterPID is the pid of jt's master for host (ssh -O check).
func (e *env) masterPID(host string) int {
	e.t.Helper()
	out, err := exec.Command("ssh", e.masterArgs("-o", "BatchMode=yes", "-O", "check", host)...).CombinedOutput()
	m := regexp.MustCompile(`pid=([0-9]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		e.t.Fatalf("ssh -O check %s: %v: %s", host, err, out)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	return pid
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

// waitDead waits until a local process is gone (or a zombie).
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(data, ')'); i > 0 && i+2 < len(data) && (data[i+2] == 'Z' || data[i+2] == 'X') {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d survives SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// remote runs a POSIX sh script on the remote side as the alias's user,
// over a fresh ssh login (not jt's master), and returns its stdout. The
// login shell parses only "exec /bin/sh -s"; the script goes on stdin.
func remote(t *testing.T, host, script string) string {
	t.Helper()
	stdout, stderr, err := remoteRun(host, script)
	if err != nil {
		t.Fatalf("remote %s: %v\nscript:\n%s\nstderr: %s", host, err, script, stderr)
	}
	return stdout
}

func remoteRun(host, script string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", e2e.box.ConfigPath, "-o", "BatchMode=yes", "-T", host, "exec /bin/sh -s")
	cmd.Stdin = strings.NewReader(script)
	var o, x bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &x
	err = cmd.Run()
	return o.String(), x.String(), err
}

// remoteAlive reports whether pid is a live process on host.
func remoteAlive(t *testing.T, host string, pid int) bool {
	t.Helper()
	out := remote(t, host, fmt.Sprintf("if kill -0 %d 2>/dev/null; then echo alive; else echo dead; fi\n", pid))
	return strings.Contains(out, "alive")
}

// screenIDs lists the remote user's screen sessions named exactly jt-NAME
// (as PID.jt-NAME).
func screenIDs(t *testing.T, host, name string) []string {
	t.Helper()
	out := remote(t, host, "screen -ls 2>&1; true\n")
	re := regexp.MustCompile(`(?m)^\s*([0-9]+\.jt-` + regexp.QuoteMeta(name) + `)\s`)
	var ids []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// jupyterPIDs lists the remote user's Jupyter server processes that belong
// to session NAME: jupyter-notebook or jupyter-server processes whose
// environment points JUPYTER_RUNTIME_DIR at the session's directory.
func jupyterPIDs(t *testing.T, host, name string) []int {
	t.Helper()
	script := `want="JUPYTER_RUNTIME_DIR=$HOME/.local/state/jt/sessions/` + name + `/runtime"
for p in $(pgrep -u "$(id -u)" -f 'jupyter-(notebook|server)'); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "$want" && echo "$p"
done
true
`
	var pids []int
	for _, f := range strings.Fields(remote(t, host, script)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// kill9 SIGKILLs pid on host and waits until its parent has reaped it.
func kill9(t *testing.T, host string, pid int) {
	t.Helper()
	remote(t, host, fmt.Sprintf(`kill -9 %d || exit 1
n=0
while kill -0 %d 2>/dev/null && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
`, pid, pid))
}

var urlRE = regexp.MustCompile(`^http://127\.0\.0\.1:([0-9]+)/\?token=([0-9a-f]+)$`)

// parseURL splits a jt URL into its local port and token.
func parseURL(t *testing.T, u string) (port int, token string) {
	t.Helper()
	m := urlRE.FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("URL %q is not http://127.0.0.1:PORT/?token=HEX", u)
	}
	port, _ = strconv.Atoi(m[1])
	return port, m[2]
}

var httpClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// api calls the Jupyter REST API through the tunnel of a jt URL with the
// URL's token and returns the status code and body.
func api(u, method, path string, body io.Reader) (int, []byte, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return 0, nil, err
	}
	token := pu.Query().Get("token")
	req, err := http.NewRequest(method, "http://"+pu.Host+"/"+strings.TrimPrefix(path, "/"), body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "token "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// getStatus is GET /api/status with the URL's token.
func getStatus(u string) (int, error) {
	code, _, err := api(u, http.MethodGet, "api/status", nil)
	return code, err
}

// mustAnswer fails unless the URL's server answers /api/status with 200.
func mustAnswer(t *testing.T, u string) {
	t.Helper()
	code, err := getStatus(u)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /api/status through %s: %d, %v; want 200", u, code, err)
	}
}

// mustNotAnswer fails if the URL still reaches a server.
func mustNotAnswer(t *testing.T, u string) {
	t.Helper()
	if code, err := getStatus(u); err == nil {
		t.Fatalf("GET /api/status through %s still answers %d; want no answer", u, code)
	}
}

// runKernel starts a kernel through the tunnel, evaluates 1+1 over the
// kernel websocket (Jupyter messaging protocol 5.3) and returns the
// text/plain of the execute_result. The kernel is deleted afterwards.
func runKernel(t *testing.T, u string) string {
	t.Helper()
	return kernelOutput(t, u, "1+1")
}

// kernelOutput runs code in a new kernel through the tunnel of a jt URL and
// returns what it printed (stream output) followed by the text/plain of
// its result, if any. The kernel is deleted afterwards.
func kernelOutput(t *testing.T, u, code string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	token := pu.Query().Get("token")
	status, body, err := api(u, http.MethodPost, "api/kernels", strings.NewReader(`{"name":"python3"}`))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("POST /api/kernels: %d, %v: %s", status, err, body)
	}
	var kernel struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &kernel); err != nil || kernel.ID == "" {
		t.Fatalf("POST /api/kernels answered %s: %v", body, err)
	}
	defer api(u, http.MethodDelete, "api/kernels/"+kernel.ID, nil)

	ws := "ws://" + pu.Host + "/api/kernels/" + kernel.ID + "/channels?token=" + url.QueryEscape(token)
	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).Dial(ws, nil)
	if err != nil {
		t.Fatalf("kernel websocket: %v", err)
	}
	defer conn.Close()
	msgID := fmt.Sprintf("jt-e2e-%d", time.Now().UnixNano())
	if err := conn.WriteJSON(map[string]any{
		"header": map[string]any{"msg_id": msgID, "username": "jt-e2e", "session": "jt-e2e-session",
			"msg_type": "execute_request", "version": "5.3", "date": time.Now().UTC().Format(time.RFC3339Nano)},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell",
		"content": map[string]any{"code": code, "silent": false, "store_history": false,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}); err != nil {
		t.Fatalf("send execute_request: %v", err)
	}
	var out strings.Builder
	var result string
	conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	for {
		var in struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content json.RawMessage `json:"content"`
		}
		if err := conn.ReadJSON(&in); err != nil {
			t.Fatalf("read from the kernel websocket: %v (output so far %q)", err, out.String())
		}
		if in.ParentHeader.MsgID != msgID {
			continue
		}
		var c struct {
			Name   string         `json:"name"`
			Text   string         `json:"text"`
			Data   map[string]any `json:"data"`
			EValue string         `json:"evalue"`
			State  string         `json:"execution_state"`
		}
		json.Unmarshal(in.Content, &c)
		switch in.Header.MsgType {
		case "stream":
			out.WriteString(c.Text)
		case "execute_result":
			result, _ = c.Data["text/plain"].(string)
		case "error":
			t.Fatalf("the kernel answered an error: %s", in.Content)
		case "status":
			// Idle after our request: everything it printed has come.
			if c.State == "idle" {
				return out.String() + result
			}
		}
	}
}

// portListens reports whether something accepts connections on 127.0.0.1:port.
func portListens(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
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
		var o openResult
		if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
			t.Errorf("jt open --json printed %q: %v", r.stdout, err)
			continue
		}
		opened = append(opened, o)
	}
	return opened
}
