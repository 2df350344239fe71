package e2e

// End-to-end security tests: what other users of the host can
// reach, where the token may and may not appear, file modes, forwards that
// stay on loopback, a changed host key, and hostile hosts. The harness is
// in harness_test.go; every test uses its own session names.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pyConnect is a python3 program that connects to the unix socket argv[1]
// and prints RESULT CONNECTED, RESULT EACCES or RESULT <error>. Double
// quotes only: it is passed in single quotes.
const pyConnect = `import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("RESULT EACCES")
except OSError as e:
    print("RESULT", type(e).__name__, e.errno)
else:
    print("RESULT CONNECTED")
`

// pyList lists directory argv[1]: RESULT followed by the names, or
// RESULT EACCES.
const pyList = `import os, sys
try:
    print("RESULT", " ".join(sorted(os.listdir(sys.argv[1]))))
except PermissionError:
    print("RESULT EACCES")
except OSError as e:
    print("RESULT", type(e).__name__, e.errno)
`

// pyRun runs a python3 program with one argument as host's user and
// returns what follows "RESULT" on its output.
func pyRun(t *testing.T, host, program, arg string) string {
	t.Helper()
	out := remote(t, host, "python3 -c "+shellQuote(program)+" "+shellQuote(arg)+"\n")
	for _, l := range lines(out) {
		if rest, ok := strings.CutPrefix(l, "RESULT"); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("python3 on %s printed no RESULT line: %q", host, out)
	return ""
}

// In socket mode (the default) another user of the host cannot
// connect to the session's server, even where the directories above jt's
// own are open to everyone; its owner and jt's tunnel can.
func TestE2ESecurityOtherUserCannotConnect(t *testing.T) {
	e := newEnv(t)
	home := e2e.box.Home(userA)
	if home == "" || e2e.box.Home(userOther) == "" {
		t.Fatalf("box users %s and %s are missing", userA, userOther)
	}
	// Open homes and ~/.local/state, as on many shared hosts: only jt's own
	// directory and socket modes may keep the other user out.
	remote(t, hostA, `chmod 755 "$HOME" && mkdir -p "$HOME/.local/state" && chmod 755 "$HOME/.local" "$HOME/.local/state"`+"\n")
	t.Cleanup(func() { remoteRun(hostA, `chmod 700 "$HOME/.local" "$HOME/.local/state"`+"\n") })

	r := e.open(hostA, "secsock")
	mustAnswer(t, r.URL)
	s := row(t, e.ls(hostA), hostA, "secsock")
	if s.Mode != "socket" || s.RemoteSock == "" {
		t.Fatalf("jt ls: session secsock has mode %q remote_sock %q; want the default private unix socket", s.Mode, s.RemoteSock)
	}
	if !strings.HasPrefix(s.RemoteSock, home+"/.local/state/jt/sessions/secsock/") {
		t.Errorf("remote_sock %q is not in %s/.local/state/jt/sessions/secsock/", s.RemoteSock, home)
	}

	// Controls: the path is right (its owner connects), and the other
	// user does get as far as jt's directory.
	if got := pyRun(t, hostA, pyConnect, s.RemoteSock); got != "CONNECTED" {
		t.Fatalf("%s (the owner) connecting to %s: %s; want CONNECTED", userA, s.RemoteSock, got)
	}
	if got := pyRun(t, hostOther, pyList, home+"/.local/state"); !regexp.MustCompile(`(^| )jt( |$)`).MatchString(got) {
		t.Fatalf("%s listing %s/.local/state: %q; want it to see jt's directory (test setup)", userOther, home, got)
	}

	if got := pyRun(t, hostOther, pyConnect, s.RemoteSock); got != "EACCES" {
		t.Errorf("%s connecting to %s's server socket %s: %s; want EACCES (PermissionError)", userOther, userA, s.RemoteSock, got)
	}
	for _, dir := range []string{home + "/.local/state/jt", filepath.Dir(s.RemoteSock)} {
		if got := pyRun(t, hostOther, pyList, dir); got != "EACCES" {
			t.Errorf("%s listing %s: %q; want EACCES", userOther, dir, got)
		}
	}
	// The token's file (Jupyter's runtime JSON) stays out of reach too.
	rt := remote(t, hostA, `ls "$HOME/.local/state/jt/sessions/secsock/runtime"`+"\n")
	for _, f := range strings.Fields(rt) {
		if !strings.HasSuffix(f, ".json") {
			continue
		}
		path := filepath.Join(filepath.Dir(s.RemoteSock), f)
		out, _, err := remoteRun(hostOther, "cat "+shellQuote(path)+" >/dev/null 2>&1 && echo READ || echo DENIED\n")
		if err != nil || strings.TrimSpace(out) != "DENIED" {
			t.Errorf("%s reading %s: %q, %v; want DENIED", userOther, path, out, err)
		}
	}
	mustAnswer(t, r.URL)
}

// ssListeners runs ss -ltnH (here or, with host, on the host) and returns
// the local addresses that listen on port.
func ssListeners(t *testing.T, host string, port int) []string {
	t.Helper()
	var out string
	if host == "" {
		b, err := exec.Command("ss", "-ltnH").Output()
		if err != nil {
			t.Fatalf("ss -ltnH: %v", err)
		}
		out = string(b)
	} else {
		out = remote(t, host, "ss -ltnH\n")
	}
	var addrs []string
	suffix := ":" + strconv.Itoa(port)
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) >= 4 && strings.HasSuffix(f[3], suffix) {
			addrs = append(addrs, f[3])
		}
	}
	return addrs
}

// onlyLoopback fails unless addrs is exactly [127.0.0.1:port].
func onlyLoopback(t *testing.T, what string, addrs []string, port int) {
	t.Helper()
	want := "127.0.0.1:" + strconv.Itoa(port)
	if len(addrs) != 1 || addrs[0] != want {
		t.Errorf("%s: listeners on port %d are %q; want only %s (not 0.0.0.0, [::], * or [::1])", what, port, addrs, want)
	}
}

// With --tcp, Jupyter listens on the host's 127.0.0.1 only.
func TestE2ESecurityTCPLoopbackOnly(t *testing.T) {
	e := newEnv(t)
	r := e.open(hostA, "sectcp", "--tcp")
	mustAnswer(t, r.URL)
	if r.RemotePort <= 0 {
		t.Fatalf("jt open --tcp: remote_port %d", r.RemotePort)
	}
	onlyLoopback(t, "ss -ltn on the host (Jupyter)", ssListeners(t, hostA, r.RemotePort), r.RemotePort)
	onlyLoopback(t, "ss -ltn locally (the forward)", ssListeners(t, "", r.LocalPort), r.LocalPort)
}

// During a cold jt open (no master, no server), with a browser,
// the token appears on no command line of any process on the machine (the
// local and the remote side are the same machine here), and the files that
// hold it are private.
func TestE2ESecurityTokenNeverInArgv(t *testing.T) {
	e := newEnv(t)
	if e.masterRunning(hostA) {
		t.Fatalf("precondition: a fresh env has no master for %s", hostA)
	}
	browser := filepath.Join(e.dir, "browser")
	argvPath := filepath.Join(e.dir, "browser.argv")
	writeArgvLogger(t, browser, argvPath)
	e.setVar("BROWSER", browser)
	e.opened[[2]string{hostA, "secargv"}] = true

	sampler := sampleCmdlines()
	stdout, stderr, code := e.run("open", "--name", "secargv", hostA)
	var argvData []byte
	if code == 0 {
		// The browser starts as jt exits: keep sampling until it has run.
		argvData = waitFile(t, argvPath, 20*time.Second, "the BROWSER command")
	}
	cmdlines, rounds := sampler.finish()
	if code != 0 {
		t.Fatalf("jt open: exit %d\n%s", code, stderr)
	}
	ls := lines(stdout)
	if len(ls) != 1 {
		t.Fatalf("jt open printed %q; want one URL line", stdout)
	}
	_, token := parseURL(t, ls[0])
	mustAnswer(t, ls[0])
	if len(token) < 32 {
		t.Fatalf("token %q is too short to search for", token)
	}
	t.Logf("sampled /proc %d times, %d distinct command lines", rounds, len(cmdlines))

	// The sampler saw the processes that matter: jt, its master, Jupyter.
	seen := func(re string) bool {
		r := regexp.MustCompile(re)
		for _, c := range cmdlines {
			if r.MatchString(c) {
				return true
			}
		}
		return false
	}
	for what, re := range map[string]string{
		"jt open":    "^" + regexp.QuoteMeta(e2e.jt) + "\x00open\x00",
		"the master": `ssh.*\x00-fN\x00--\x00` + hostA + `$`,
		"the script": `ssh.*\x00` + hostA + `\x00exec /bin/sh -s$`,
		"jupyter":    `jupyter-notebook.*\x00--sock=`,
		"the screen": `(?i)screen\x00-dmS\x00jt-secargv\x00`,
	} {
		if !seen(re) {
			t.Errorf("the sampler never saw %s (/%s/): it cannot vouch for that process", what, strings.ReplaceAll(re, "\x00", `\0`))
		}
	}
	for _, c := range cmdlines {
		if strings.Contains(c, token) {
			t.Errorf("the token is on a command line: %q", strings.ReplaceAll(c, "\x00", " "))
		}
	}

	// The browser got the path of a private redirect file, not the URL.
	argv := strings.Split(strings.TrimSuffix(string(argvData), "\x00"), "\x00")
	localDir := filepath.Join(e.Runtime, "jt")
	if len(argv) != 1 || filepath.Dir(argv[0]) != localDir {
		t.Errorf("BROWSER got %q; want one argument, a file in %s", argv, localDir)
	}
	if strings.Contains(string(argvData), token) {
		t.Errorf("the token is in the BROWSER command's arguments: %q", argv)
	}
	if len(argv) == 1 {
		checkMode(t, argv[0], 0o600)
		if page, err := os.ReadFile(argv[0]); err != nil || !strings.Contains(string(page), token) {
			t.Errorf("redirect file %s: %v; want a page that holds the token", argv[0], err)
		}
	}

	// Local files: the state file and jt's directories.
	checkMode(t, e.statePath(), 0o600)
	checkMode(t, filepath.Join(e.State, "jt"), 0o700)
	checkMode(t, localDir, 0o700)
	if data, err := os.ReadFile(e.statePath()); err != nil || !strings.Contains(string(data), token) {
		t.Errorf("state file: %v; it should record the token (else this test checks nothing)", err)
	}

	// Remote files: the session directory, Jupyter's runtime directory
	// and the log.
	f, err := e.loadState()
	if err != nil || len(f.Sessions) != 1 || f.Sessions[0].Log == "" {
		t.Fatalf("state: %v %+v; want one session with a log", err, f.Sessions)
	}
	sess := "$HOME/.local/state/jt/sessions/secargv"
	out := remote(t, hostA, `stat -c '%a %F %n' "$HOME/.local/state/jt" "$HOME/.local/state/jt/sessions" "`+sess+`" "`+sess+`/runtime" `+shellQuote(f.Sessions[0].Log)+"\n")
	modes := lines(out)
	if len(modes) != 5 {
		t.Fatalf("remote stat printed %q; want 5 lines", out)
	}
	for i, l := range modes {
		fields := strings.SplitN(l, " ", 2)
		m, err := strconv.ParseUint(fields[0], 8, 32)
		if err != nil {
			t.Fatalf("remote stat line %q", l)
		}
		if i == 4 {
			if m != 0o600 || !strings.HasPrefix(fields[1], "regular") {
				t.Errorf("remote log: %s; want a regular file with mode 600", l)
			}
		} else if m&0o077 != 0 {
			t.Errorf("remote directory open to others: %s; want no group/other bits", l)
		}
	}
	// Files in the session directory that others could read if the
	// directory let them: informational, the directory is what protects.
	t.Logf("remote session files:\n%s", remote(t, hostA, `find "`+sess+`" -exec stat -c '%a %n' {} +`+"\n"))
}

// GatewayPorts yes in the user's ssh config does not open the
// forward to the network: jt always binds 127.0.0.1.
func TestE2ESecurityGatewayPorts(t *testing.T) {
	e := newEnv(t)
	base, err := os.ReadFile(e2e.box.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	n := 0
	for _, l := range strings.SplitAfter(string(base), "\n") {
		cfg.WriteString(l)
		if strings.HasPrefix(l, "Host ") {
			cfg.WriteString("  GatewayPorts yes\n")
			n++
		}
	}
	if n == 0 {
		t.Fatalf("the box's ssh config has no Host block:\n%s", base)
	}
	path := filepath.Join(e.dir, "ssh_config_gw")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	e.setVar("JT_SSH_CONFIG", path)
	// Control: ssh really reads GatewayPorts yes for the host.
	g, err := exec.Command("ssh", "-F", path, "-G", hostA).Output()
	if err != nil || !regexp.MustCompile(`(?m)^gatewayports yes$`).Match(g) {
		t.Fatalf("ssh -G %s with the new config: %v; gatewayports is not yes", hostA, err)
	}

	r := e.open(hostA, "secgw")
	mustAnswer(t, r.URL)
	onlyLoopback(t, "ss -ltn locally with GatewayPorts yes", ssListeners(t, "", r.LocalPort), r.LocalPort)
}

// A changed host key stops jt with ssh's warning, exit 255, a
// hint to ssh-keygen -R, after exactly one attempt at a master.
func TestE2ESecurityHostKeyChanged(t *testing.T) {
	e := newEnv(t)
	if e.masterRunning(hostA) {
		t.Fatalf("precondition: a fresh env has no master for %s", hostA)
	}
	logPath := e.sshLogger()
	// Registered before the change: later tests need the key trusted
	// again whatever happens here (runs before the env's cleanup).
	t.Cleanup(func() {
		if !e2e.box.Running() {
			e2e.box.StartSSHD()
		}
		if err := e2e.box.TrustHostKey(); err != nil {
			t.Errorf("restore the host key: %v", err)
		}
	})
	if err := e2e.box.ChangeHostKey(); err != nil {
		t.Fatalf("change the host key: %v", err)
	}

	e.opened[[2]string{hostA, "default"}] = true
	stdout, stderr, code := e.run("open", "--no-browser", hostA)
	if code != 255 {
		t.Errorf("jt open with a changed host key: exit %d, want 255", code)
	}
	if strings.TrimSpace(stdout) != "" {
		t.Errorf("stdout should be empty: %q", stdout)
	}
	if !regexp.MustCompile(`REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed`).MatchString(stderr) {
		t.Errorf("stderr does not show ssh's host key warning:\n%s", stderr)
	}
	checkKeygenHint(t, stderr, hostA)
	if n := strings.Count(stderr, "jt: error:"); n != 1 {
		t.Errorf("stderr has %d 'jt: error:' lines, want 1:\n%s", n, stderr)
	}
	calls := sshCalls(t, logPath)
	masters, scripts := 0, 0
	for _, c := range calls {
		if slices.Contains(c, "-fN") {
			masters++
		}
		if slices.Contains(c, "exec /bin/sh -s") {
			scripts++
		}
	}
	if masters != 1 {
		t.Errorf("jt tried to start a master %d times, want exactly 1; ssh calls:\n%s", masters, formatCalls(calls))
	}
	if scripts != 0 {
		t.Errorf("jt ran %d remote scripts past a failed host key check", scripts)
	}
	if e.recorded(hostA, "default") {
		t.Errorf("the failed session is recorded")
	}
}

var keygenHintRE = regexp.MustCompile(`(?m)^jt: hint: .*ssh-keygen (?:-f ('[^']*'|"[^"]*"|\S+) )?-R ('[^']*'|"[^"]*"|\S+)`)

// checkKeygenHint wants a jt: hint: line with an ssh-keygen -R command, and
// that command must remove the key ssh complained about: ssh files keys
// under the HostName and port ([127.0.0.1]:PORT here), not under the alias.
func checkKeygenHint(t *testing.T, stderr, host string) {
	t.Helper()
	m := keygenHintRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Errorf("stderr has no 'jt: hint:' line with ssh-keygen -R:\n%s", stderr)
		return
	}
	unquote := func(s string) string { return strings.Trim(s, `'"`) }
	g, err := exec.Command("ssh", "-F", e2e.box.ConfigPath, "-G", host).Output()
	if err != nil {
		t.Fatalf("ssh -G %s: %v", host, err)
	}
	var knownHosts string
	for _, l := range lines(string(g)) {
		if v, ok := strings.CutPrefix(l, "userknownhostsfile "); ok {
			knownHosts = strings.Fields(v)[0]
		}
	}
	file := knownHosts
	if m[1] != "" {
		file = unquote(m[1])
	}
	target := unquote(m[2])
	// ssh-keygen -F only reads; -R on a copy would do too.
	out, err := exec.Command("ssh-keygen", "-F", target, "-f", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ssh-ed25519") {
		t.Errorf("the hint %q would remove nothing: %s holds no key for %q (ssh-keygen -F: %v %s); ssh keeps this host's key under its HostName and port (its own message names the right command)",
			strings.TrimSpace(m[0]), file, target, err, strings.TrimSpace(string(out)))
	}
}

// Hostile hosts are refused as usage errors before any ssh runs,
// and change nothing.
func TestE2ESecurityHostileHosts(t *testing.T) {
	e := newEnv(t)
	logPath := e.sshLogger()
	// A real session first, so that there is a state file to keep intact,
	// and proof that the ssh wrapper is the ssh jt runs.
	e.open(hostA, "sechostile")
	if len(sshCalls(t, logPath)) == 0 {
		t.Fatalf("jt did not run ssh through JT_SSH; the wrapper log cannot prove anything")
	}
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Not /tmp/pwned itself: other runs on this machine may use that name.
	pwned := filepath.Join(e.dir, "pwned")
	for _, host := range []string{
		"-oProxyCommand=touch " + pwned,
		"a;touch " + pwned,
		"$(touch " + pwned + ")",
		"`touch " + pwned + "`",
		"hosta\n-oProxyCommand=touch " + pwned,
	} {
		t.Run(strings.NewReplacer("/", "_", " ", "_", "\n", "_").Replace(host), func(t *testing.T) {
			before, berr := os.ReadFile(e.statePath())
			stdout, stderr, code := e.run("open", "--", host)
			if code != 2 {
				t.Errorf("exit %d, want 2 (usage)", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if n := strings.Count(stderr, "jt: error:"); n != 1 || !strings.HasPrefix(stderr, "jt: error:") {
				t.Errorf("stderr should be one jt: error: line:\n%s", stderr)
			}
			if calls := sshCalls(t, logPath); len(calls) != 0 {
				t.Errorf("ssh ran:\n%s", formatCalls(calls))
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Errorf("%s exists: the host's command ran", pwned)
				os.Remove(pwned)
			}
			after, aerr := os.ReadFile(e.statePath())
			if (berr == nil) != (aerr == nil) || !bytes.Equal(before, after) {
				t.Errorf("the state file changed:\nbefore (%v):\n%s\nafter (%v):\n%s", berr, before, aerr, after)
			}
		})
	}
}
