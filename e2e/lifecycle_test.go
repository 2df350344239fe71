package e2e

// End-to-end tests: the built jt binary against a real sshd, screen and
// Jupyter (see harness_test.go for the harness and its requirements).
// The remote users are shared, so every test uses its own session names.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// jt open (notebook flavour) prints one URL that reaches a working
// server, kept in screen, and records it in a private state file.
func TestE2EOpenNotebook(t *testing.T) {
	e := newEnv(t)
	e.opened[[2]string{hostA, "default"}] = true
	stdout, _ := e.jt("open", "--no-browser", hostA)
	ls := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(ls) != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("stdout has %d lines, want exactly one URL line: %q", len(ls), stdout)
	}
	u := ls[0]
	port, token := parseURL(t, u)
	mustAnswer(t, u)
	// The token is what lets us in.
	if resp, err := httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d/api/status", port)); err != nil {
		t.Errorf("GET /api/status without token: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /api/status without token: %s, want 403", resp.Status)
		}
	}
	if got := runKernel(t, u); got != "2" {
		t.Errorf("kernel evaluated 1+1 to %q, want 2", got)
	}

	if ids := screenIDs(t, hostA, "default"); len(ids) != 1 {
		t.Errorf("remote screen sessions named jt-default: %v, want exactly one", ids)
	}

	f, err := e.loadState()
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	if len(f.Sessions) != 1 {
		t.Fatalf("state file has %d sessions, want 1: %+v", len(f.Sessions), f.Sessions)
	}
	s := f.Sessions[0]
	if s.Host != hostA || s.Name != "default" {
		t.Errorf("state entry is %s/%s, want %s/default", s.Host, s.Name, hostA)
	}
	if s.LocalPort != port {
		t.Errorf("state local_port %d, URL port %d", s.LocalPort, port)
	}
	// The default is a private unix socket; TCP is the fallback.
	switch s.Mode {
	case "socket":
		want := "/home/" + userA + "/.local/state/jt/sessions/default/runtime/"
		if !strings.HasPrefix(s.RemoteSock, want) {
			t.Errorf("state remote_sock %q, want a socket in %s", s.RemoteSock, want)
		}
		// Private: only the user can reach the socket's directory.
		out := remote(t, hostA, "sock="+shellQuote(s.RemoteSock)+"\n"+`stat -c '%a %F' "$(dirname "$sock")" "$sock"`+"\n")
		if f := strings.Split(strings.TrimSpace(out), "\n"); len(f) != 2 || !regexp.MustCompile(`^1?700 directory$`).MatchString(f[0]) || !strings.HasSuffix(f[1], "socket") {
			t.Errorf("remote socket and its directory: %q, want a socket in a 700 directory (sticky allowed)", out)
		}
	case "tcp":
		if s.RemotePort <= 0 {
			t.Errorf("state remote_port %d, want a port", s.RemotePort)
		}
	default:
		t.Errorf("state mode %q, want socket or tcp", s.Mode)
	}
	if s.Token != token {
		t.Errorf("state token differs from the URL's")
	}
	if s.PID <= 0 {
		t.Fatalf("state pid %d", s.PID)
	}
	if pids := jupyterPIDs(t, hostA, "default"); len(pids) != 1 || pids[0] != s.PID {
		t.Errorf("remote jupyter processes of session default: %v, want [%d] (the recorded pid)", pids, s.PID)
	}
	for path, want := range map[string]os.FileMode{e.statePath(): 0o600, filepath.Dir(e.statePath()): 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", path, got, want)
		}
	}
}

// jt open --tcp: Jupyter listens on a TCP port of the host's
// 127.0.0.1, which jt records and forwards.
func TestE2EOpenTCP(t *testing.T) {
	e := newEnv(t)
	r := e.open(hostA, "tcp", "--tcp")
	mustAnswer(t, r.URL)
	if got := runKernel(t, r.URL); got != "2" {
		t.Errorf("kernel evaluated 1+1 to %q, want 2", got)
	}
	f, err := e.loadState()
	if err != nil || len(f.Sessions) != 1 {
		t.Fatalf("state file: %v, %+v; want one session", err, f.Sessions)
	}
	s := f.Sessions[0]
	if s.Mode != "tcp" || s.RemotePort <= 0 || s.RemoteSock != "" {
		t.Fatalf("state: mode %q remote_port %d remote_sock %q; want tcp with a port", s.Mode, s.RemotePort, s.RemoteSock)
	}
	if r.RemotePort != s.RemotePort {
		t.Errorf("jt open --json says remote_port %d, the state %d", r.RemotePort, s.RemotePort)
	}
	// The recorded port is the one Jupyter listens on, on the host's loopback.
	listen := remote(t, hostA, fmt.Sprintf("awk 'NR > 1 && $4 == \"0A\" && $2 == \"0100007F:%04X\"' /proc/net/tcp\n", s.RemotePort))
	if strings.TrimSpace(listen) == "" {
		t.Errorf("nothing listens on 127.0.0.1:%d on the host", s.RemotePort)
	}
	if pids := jupyterPIDs(t, hostA, "tcp"); len(pids) != 1 || pids[0] != s.PID {
		t.Errorf("remote jupyter processes of session tcp: %v, want [%d]", pids, s.PID)
	}
}

// A dropped connection leaves the server running; jt open
// reattaches to the same server instead of starting a second one.
func TestE2EReattachAfterDisconnect(t *testing.T) {
	e := newEnv(t)
	first := e.open(hostA, "re")
	if first.Status != "started" {
		t.Errorf("first open: status %q, want started", first.Status)
	}
	mustAnswer(t, first.URL)

	e.exitMaster(hostA)
	if !remoteAlive(t, hostA, first.PID) {
		t.Fatalf("remote jupyter (pid %d) died with the ssh master", first.PID)
	}
	mustNotAnswer(t, first.URL)

	second := e.open(hostA, "re")
	if second.Status != "running" {
		t.Errorf("second open: status %q, want running (reattached)", second.Status)
	}
	if second.PID != first.PID {
		t.Errorf("second open: pid %d, want the first server's %d", second.PID, first.PID)
	}
	mustAnswer(t, second.URL)
	if pids := jupyterPIDs(t, hostA, "re"); len(pids) != 1 || pids[0] != first.PID {
		t.Errorf("remote jupyter processes of session re: %v, want only [%d]", pids, first.PID)
	}
	if ids := screenIDs(t, hostA, "re"); len(ids) != 1 {
		t.Errorf("remote screen sessions jt-re: %v, want exactly one", ids)
	}
	// jt url prints the working URL, and fails once the tunnel is down.
	if stdout, _ := e.jt("url", "--name", "re", hostA); strings.TrimSpace(stdout) != second.URL {
		t.Errorf("jt url printed %q, want %q", stdout, second.URL)
	}

	// A master that dies without cleaning up (kill -9, OOM) leaves a stale
	// control socket behind; jt open must still reattach.
	pid := e.masterPID(hostA)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the master (pid %d): %v", pid, err)
	}
	waitDead(t, pid)
	if _, err := os.Stat(e.controlSocket(hostA)); err != nil {
		t.Fatalf("precondition: the killed master should leave its control socket behind: %v", err)
	}
	mustNotAnswer(t, second.URL)
	if _, _, code := e.run("url", "--name", "re", hostA); code == 0 {
		t.Errorf("jt url exits 0 though the tunnel is down")
	}
	if r := row(t, e.ls(), hostA, "re"); r.State != "tunnel down" {
		t.Errorf("jt ls after kill -9 of the master: session re is %q, want tunnel down", r.State)
	}
	third := e.open(hostA, "re")
	if third.PID != first.PID || third.Status != "running" {
		t.Errorf("open after kill -9 of the master: pid %d status %q, want pid %d running", third.PID, third.Status, first.PID)
	}
	mustAnswer(t, third.URL)
	if !e.masterRunning(hostA) {
		t.Errorf("no working master after reattaching (a plain ssh -fN took its place?)")
	}
	if pids := jupyterPIDs(t, hostA, "re"); len(pids) != 1 {
		t.Errorf("remote jupyter processes of session re: %v, want only one", pids)
	}
}

// Login shells that are not sh (tcsh, fish) and rc files that
// print banners on stdout do not disturb jt.
func TestE2EOtherLoginShells(t *testing.T) {
	needE2E(t)
	for _, c := range []struct{ host, shell, banner string }{
		{hostCsh, e2e.tcsh, cshBanner},
		{hostFish, e2e.fish, fishBanner},
	} {
		t.Run(c.host, func(t *testing.T) {
			if c.shell == "" {
				missingReq(t, "no login shell for "+c.host+" (apt install tcsh fish)")
			}
			e := newEnv(t)
			// The banner really is printed on stdout at login.
			if out := remote(t, c.host, "true\n"); !strings.Contains(out, c.banner) {
				t.Fatalf("login on %s printed %q, want the banner %q", c.host, out, c.banner)
			}
			e.opened[[2]string{c.host, "sh"}] = true
			stdout, _ := e.jt("open", "--no-browser", "--name", "sh", c.host)
			ls := lines(stdout)
			if len(ls) != 1 {
				t.Fatalf("stdout has %d lines, want one URL: %q", len(ls), stdout)
			}
			parseURL(t, ls[0])
			mustAnswer(t, ls[0])
			if got := runKernel(t, ls[0]); got != "2" {
				t.Errorf("kernel evaluated 1+1 to %q, want 2", got)
			}
			if r := row(t, e.ls(c.host), c.host, "sh"); r.State != "up" || !r.Recorded {
				t.Errorf("jt ls %s: session sh is %q (recorded %v), want up, recorded", c.host, r.State, r.Recorded)
			}
			// jt logs prints the log, not the login banner.
			stdout = checkLogs(t, e, c.host, "sh", 3)
			if strings.Contains(stdout, c.banner) {
				t.Errorf("jt logs -n 3 on %s prints the login banner:\n%s", c.host, stdout)
			}
		})
	}
}

// A Jupyter that cannot start makes jt fail with jupyter's own
// complaint, and records nothing.
func TestE2EJupyterFailsToStart(t *testing.T) {
	e := newEnv(t)
	e.opened[[2]string{hostA, "bad"}] = true
	stdout, stderr, code := e.run("open", "--no-browser", "--cmd", "jupyter nosuchthing", "--name", "bad", "--timeout", "30s", hostA)
	if code == 0 {
		t.Fatalf("jt open of a failing jupyter exited 0 (stdout %q)", stdout)
	}
	if strings.TrimSpace(stdout) != "" {
		t.Errorf("stdout should be empty on failure, got %q", stdout)
	}
	var errLine string
	var tail []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "jt: error:") && errLine == "" {
			errLine = l
		}
		if strings.HasPrefix(l, "jt:   | ") {
			tail = append(tail, strings.TrimPrefix(l, "jt:   | "))
		}
	}
	if !regexp.MustCompile(`(?i)jupyter.*exit`).MatchString(errLine) {
		t.Errorf("error line %q should say that jupyter exited", errLine)
	}
	if len(tail) == 0 {
		t.Errorf("stderr shows no log tail (jt:   | …):\n%s", stderr)
	}
	if !regexp.MustCompile(`nosuchthing|not a Jupyter command|not found`).MatchString(strings.Join(tail, "\n")) {
		t.Errorf("log tail does not show jupyter's complaint:\n%s", strings.Join(tail, "\n"))
	}
	if e.recorded(hostA, "bad") {
		t.Errorf("the state file records the failed session bad")
	}
}

// --dir with spaces and a quote reaches the right directory.
func TestE2EDirWithSpacesAndQuote(t *testing.T) {
	e := newEnv(t)
	remote(t, hostA, `d="$HOME/my data/it's"
mkdir -p "$d" && echo hi >"$d/hello.txt"
`)
	t.Cleanup(func() { remoteRun(hostA, "rm -rf \"$HOME/my data\"\n") })
	r := e.open(hostA, "dirq", "--dir", "~/my data/it's")
	if want := e2e.box.Home(userA) + "/my data/it's"; r.Dir != want {
		t.Errorf("jt open says dir %q, want %q", r.Dir, want)
	}
	// A directory that does not exist is an error that names it.
	e.opened[[2]string{hostA, "nodir"}] = true
	_, stderr, code := e.run("open", "--no-browser", "--dir", "~/no such dir", "--name", "nodir", hostA)
	if code == 0 || !strings.Contains(stderr, "no such dir") {
		t.Errorf("jt open --dir '~/no such dir': exit %d, stderr %q; want an error naming the directory", code, stderr)
	}
	if e.recorded(hostA, "nodir") {
		t.Errorf("the failed session nodir is recorded")
	}

	code, body, err := api(r.URL, http.MethodGet, "api/contents", nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /api/contents: %d, %v: %s", code, err, body)
	}
	var listing struct {
		Content []struct {
			Name string `json:"name"`
		} `json:"content"`
	}
	if err := json.Unmarshal(body, &listing); err != nil {
		t.Fatalf("GET /api/contents answered %s: %v", body, err)
	}
	var names []string
	for _, c := range listing.Content {
		names = append(names, c.Name)
	}
	if len(names) != 1 || names[0] != "hello.txt" {
		t.Errorf("/api/contents lists %q, want just hello.txt", names)
	}
}

// jt ls tells up, server dead and tunnel down apart, host by
// host, and jt open repairs each.
func TestE2ELifecycleStates(t *testing.T) {
	e := newEnv(t)
	type key struct{ host, name string }
	keys := []key{{hostA, "n1"}, {hostA, "n2"}, {hostB, "n1"}, {hostB, "n2"}}
	opened := map[key]openResult{}
	for _, k := range keys {
		opened[k] = e.open(k.host, k.name)
	}
	rows := e.ls()
	if len(rows) != 4 {
		t.Fatalf("jt ls: %d rows, want 4: %+v", len(rows), rows)
	}
	for _, k := range keys {
		if r := row(t, rows, k.host, k.name); r.State != "up" || r.PID != opened[k].PID {
			t.Errorf("%s %s: state %q pid %d, want up, pid %d", k.host, k.name, r.State, r.PID, opened[k].PID)
		}
	}

	// The server of hosta n1 dies.
	kill9(t, hostA, opened[key{hostA, "n1"}].PID)
	rows = e.ls()
	for _, k := range keys {
		want := "up"
		if k == (key{hostA, "n1"}) {
			want = "server dead"
		}
		if r := row(t, rows, k.host, k.name); r.State != want {
			t.Errorf("after kill -9 of %s n1: %s %s is %q, want %q", hostA, k.host, k.name, r.State, want)
		}
	}

	// hostb's connection drops.
	e.exitMaster(hostB)
	rows = e.ls()
	for _, k := range keys {
		want := "up"
		switch {
		case k == (key{hostA, "n1"}):
			want = "server dead"
		case k.host == hostB:
			want = "tunnel down"
		}
		if r := row(t, rows, k.host, k.name); r.State != want {
			t.Errorf("after ssh -O exit on %s: %s %s is %q, want %q", hostB, k.host, k.name, r.State, want)
		}
	}

	// jt open brings each back: a new server for the dead one, the same
	// servers behind the dropped tunnel.
	for _, k := range keys {
		r := e.open(k.host, k.name)
		old := opened[k].PID
		switch {
		case k == (key{hostA, "n1"}):
			if r.PID == old || r.Status != "started" {
				t.Errorf("reopen %s %s: pid %d status %q, want a new server (old pid %d), started", k.host, k.name, r.PID, r.Status, old)
			}
			// The dead server's forward must not linger next to the new
			// one: jt either reuses its local port or removes it.
			if oldLP := opened[k].LocalPort; r.LocalPort != oldLP && portListens(oldLP) {
				t.Errorf("reopen %s %s: the new server is on local port %d, but the dead server's forward on %d still listens (leaked forward)", k.host, k.name, r.LocalPort, oldLP)
			}
		case k.host == hostB:
			if r.PID != old || r.Status != "running" {
				t.Errorf("reopen %s %s: pid %d status %q, want the same pid %d, running", k.host, k.name, r.PID, r.Status, old)
			}
		default:
			if r.PID != old {
				t.Errorf("reopen %s %s: pid %d, want unchanged %d", k.host, k.name, r.PID, old)
			}
		}
		mustAnswer(t, r.URL)
		opened[k] = r
	}
	// The dead server's window is gone; the new one is the only one.
	if ids := screenIDs(t, hostA, "n1"); len(ids) != 1 {
		t.Errorf("screen sessions jt-n1 on %s after the restart: %v, want one", hostA, ids)
	}
	if pids := jupyterPIDs(t, hostA, "n1"); len(pids) != 1 || pids[0] != opened[key{hostA, "n1"}].PID {
		t.Errorf("jupyter processes of n1 on %s: %v, want [%d]", hostA, pids, opened[key{hostA, "n1"}].PID)
	}
	rows = e.ls()
	if len(rows) != 4 {
		t.Fatalf("jt ls: %d rows, want 4: %+v", len(rows), rows)
	}
	for _, k := range keys {
		if r := row(t, rows, k.host, k.name); r.State != "up" || r.PID != opened[k].PID {
			t.Errorf("after reopening: %s %s is %q pid %d, want up pid %d", k.host, k.name, r.State, r.PID, opened[k].PID)
		}
	}
}

// A host that does not answer makes its rows "unreachable", and
// jt ls still succeeds; once it is back, jt open reattaches.
func TestE2EUnreachable(t *testing.T) {
	e := newEnv(t)
	before := map[string]openResult{}
	for _, n := range []string{"u1", "u2"} {
		before[n] = e.open(hostB, n)
	}
	if err := e2e.box.StopSSHD(); err != nil {
		t.Fatalf("stop sshd: %v", err)
	}
	t.Cleanup(func() {
		if !e2e.box.Running() {
			e2e.box.StartSSHD()
		}
	})
	stdout, stderr, code := e.run("ls", "--json", "--timeout", "5s")
	if code != 0 {
		t.Fatalf("jt ls with the host down: exit %d, want 0\n%s", code, stderr)
	}
	rows := lsRows(t, stdout)
	for n := range before {
		if r := row(t, rows, hostB, n); r.State != "unreachable" {
			t.Errorf("%s %s with sshd stopped: %q, want unreachable", hostB, n, r.State)
		}
	}
	// The table form says it too, and exits 0.
	stdout, _, code = e.run("ls", "--timeout", "5s")
	if code != 0 || !strings.Contains(stdout, "unreachable") {
		t.Errorf("jt ls (table) with the host down: exit %d, stdout %q", code, stdout)
	}

	if err := e2e.box.StartSSHD(); err != nil {
		t.Fatalf("restart sshd: %v", err)
	}
	for n, b := range before {
		r := e.open(hostB, n)
		if r.PID != b.PID || r.Status != "running" {
			t.Errorf("reopen %s %s after the outage: pid %d status %q, want pid %d running", hostB, n, r.PID, r.Status, b.PID)
		}
		mustAnswer(t, r.URL)
	}
}

// With the state file gone, jt ls HOST still finds the server on
// the host and jt open reattaches to it.
func TestE2EStateFileDeleted(t *testing.T) {
	e := newEnv(t)
	first := e.open(hostA, "sd")
	if err := os.Remove(e.statePath()); err != nil {
		t.Fatal(err)
	}
	e.exitMaster(hostA)

	// HOST after the flag, as users type it.
	stdout, _ := e.jt("ls", hostA, "--json")
	rows := lsRows(t, stdout)
	r := row(t, rows, hostA, "sd")
	if r.Recorded {
		t.Errorf("jt ls says session sd is recorded; the state file was deleted")
	}
	if r.State != "tunnel down" {
		t.Errorf("session sd: state %q, want tunnel down", r.State)
	}
	if r.PID != first.PID {
		t.Errorf("session sd: pid %d, want %d", r.PID, first.PID)
	}

	second := e.open(hostA, "sd")
	if second.PID != first.PID || second.Status != "running" {
		t.Errorf("reopen without state: pid %d status %q, want pid %d running", second.PID, second.Status, first.PID)
	}
	mustAnswer(t, second.URL)
	if !e.recorded(hostA, "sd") {
		t.Errorf("reopened session sd is not recorded again")
	}
}

// jt close --kill stops everything; jt close alone only drops
// the tunnel; the master exits with the host's last forward; closing twice
// is fine.
func TestE2EClose(t *testing.T) {
	e := newEnv(t)
	k := e.open(hostA, "ck")
	c := e.open(hostA, "cs")
	lp, _ := parseURL(t, k.URL)

	// --kill, while another session of the host stays forwarded.
	_, stderr := e.jt("close", "--kill", "--name", "ck", hostA)
	if !strings.Contains(stderr, "stopped") {
		t.Errorf("jt close --kill should say it stopped the server: %q", stderr)
	}
	if ids := screenIDs(t, hostA, "ck"); len(ids) != 0 {
		t.Errorf("screen sessions jt-ck survive close --kill: %v", ids)
	}
	if pids := jupyterPIDs(t, hostA, "ck"); len(pids) != 0 {
		t.Errorf("jupyter of session ck survives close --kill: %v", pids)
	}
	if remoteAlive(t, hostA, k.PID) {
		t.Errorf("pid %d still alive after close --kill", k.PID)
	}
	if portListens(lp) {
		t.Errorf("local port %d still listens after close --kill", lp)
	}
	if e.recorded(hostA, "ck") {
		t.Errorf("the state file still records ck")
	}
	if !e.masterRunning(hostA) {
		t.Errorf("close --kill ck ended the master, though session cs still uses it")
	}
	mustAnswer(t, c.URL)

	// Without --kill: the tunnel goes, the server stays; it was the host's
	// last forward, so the master goes too.
	e.jt("close", "--name", "cs", hostA)
	if !remoteAlive(t, hostA, c.PID) {
		t.Fatalf("jt close (no --kill) stopped the server pid %d", c.PID)
	}
	if ids := screenIDs(t, hostA, "cs"); len(ids) != 1 {
		t.Errorf("screen sessions jt-cs after close: %v, want one", ids)
	}
	mustNotAnswer(t, c.URL)
	if e.masterRunning(hostA) {
		t.Errorf("the master of %s still runs though none of its sessions is forwarded", hostA)
	}
	again := e.open(hostA, "cs")
	if again.PID != c.PID || again.Status != "running" {
		t.Errorf("reopen after close: pid %d status %q, want pid %d running", again.PID, again.Status, c.PID)
	}
	mustAnswer(t, again.URL)

	// --kill of the host's only session ends the master.
	lp, _ = parseURL(t, again.URL)
	e.jt("close", "--kill", "--name", "cs", hostA)
	if pids := jupyterPIDs(t, hostA, "cs"); len(pids) != 0 {
		t.Errorf("jupyter of session cs survives close --kill: %v", pids)
	}
	if ids := screenIDs(t, hostA, "cs"); len(ids) != 0 {
		t.Errorf("screen sessions jt-cs survive close --kill: %v", ids)
	}
	if portListens(lp) {
		t.Errorf("local port %d still listens after close --kill", lp)
	}
	if e.masterRunning(hostA) {
		t.Errorf("the master of %s still runs after its last session was killed", hostA)
	}
	if e.recorded(hostA, "cs") {
		t.Errorf("the state file still records cs")
	}

	// Closing an already closed session.
	_, stderr, code := e.run("close", "--kill", "--name", "ck", hostA)
	if code != 0 {
		t.Errorf("second jt close --kill: exit %d, want 0", code)
	}
	if !regexp.MustCompile(`(?i)no server was running|nothing to close|already|not running`).MatchString(stderr) {
		t.Errorf("second jt close --kill should say there was nothing to stop: %q", stderr)
	}
	_, stderr, code = e.run("close", "--name", "ck", hostA)
	if code != 0 {
		t.Errorf("jt close of an unknown session: exit %d, want 0", code)
	}
	if !regexp.MustCompile(`(?i)nothing to close|no such session|not open|already`).MatchString(stderr) {
		t.Errorf("jt close of an unknown session should say so: %q", stderr)
	}
}

// jt logs -n N prints the last N lines of the remote log.
func TestE2ELogs(t *testing.T) {
	e := newEnv(t)
	e.open(hostA, "lg")
	if n := len(lines(remoteTail(t, hostA, "lg", 1000))); n < 5 {
		t.Fatalf("the remote log has only %d lines; the test needs 5", n)
	}
	checkLogs(t, e, hostA, "lg", 5)
}

// checkLogs runs jt logs -n N and compares its stdout with the remote
// tail -n N of the session's log; it returns what jt printed.
func checkLogs(t *testing.T, e *env, host, name string, n int) string {
	t.Helper()
	// Jupyter may log between the reads: retry while the log moves.
	for try := 1; ; try++ {
		before := remoteTail(t, host, name, n)
		stdout, _ := e.jt("logs", "-n", fmt.Sprint(n), "--name", name, host)
		after := remoteTail(t, host, name, n)
		if before != after && try < 3 {
			continue
		}
		if got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"); len(got) != n {
			t.Errorf("jt logs -n %d on %s printed %d lines, want %d:\n%s", n, host, len(got), n, stdout)
		}
		if stdout != after {
			t.Errorf("jt logs -n %d on %s printed\n%s\nthe remote tail -n %d is\n%s", n, host, stdout, n, after)
		}
		return stdout
	}
}

// remoteTail is the last n lines of session name's log on host, read
// without jt (and without the login banner: it follows a marker).
func remoteTail(t *testing.T, host, name string, n int) string {
	t.Helper()
	const mark = "@@E2E-TAIL@@\n"
	out := remote(t, host, fmt.Sprintf("printf '%%s\\n' '@@E2E-TAIL@@'; tail -n %d \"$HOME/.local/state/jt/sessions/%s/log\"\n", n, name))
	i := strings.Index(out, mark)
	if i < 0 {
		t.Fatalf("remote tail on %s: no marker in %q", host, out)
	}
	return out[i+len(mark):]
}

// Two jt open of the same session at once make one server, not two.
func TestE2EConcurrentOpen(t *testing.T) {
	e := newEnv(t)
	pids := map[int]bool{}
	statuses := map[string]int{}
	for _, o := range openTogether(t, e, 2, hostB, "cc") {
		pids[o.PID] = true
		statuses[o.Status]++
		mustAnswer(t, o.URL)
	}
	if len(pids) != 1 {
		t.Errorf("two concurrent opens report pids %v, want one server", pids)
	}
	if statuses["started"] != 1 {
		t.Errorf("statuses %v, want exactly one started", statuses)
	}
	if got := jupyterPIDs(t, hostB, "cc"); len(got) != 1 {
		t.Errorf("remote jupyter processes of session cc: %v, want one", got)
	}
	if ids := screenIDs(t, hostB, "cc"); len(ids) != 1 {
		t.Errorf("screen sessions jt-cc: %v, want one", ids)
	}
}

// A session name long enough that the unix socket path would not fit
// (sun_path) still opens: jt falls back to TCP and says so.
func TestE2ELongNameFallsBackToTCP(t *testing.T) {
	e := newEnv(t)
	name := strings.Repeat("x", 64)
	r, stderr := e.openArgs(hostA, name, "--name", name, hostA)
	mustAnswer(t, r.URL)
	if r.RemotePort <= 0 {
		t.Errorf("remote_port %d: want the TCP fallback", r.RemotePort)
	}
	if !strings.Contains(strings.ToLower(stderr), "tcp") {
		t.Errorf("jt open should say it fell back to TCP: %q", stderr)
	}
}

// A host that stops answering while its master stays up (a dead network:
// the master answers -O check by itself): jt ls says "unreachable" and
// returns; jt open replaces the hung master and reattaches.
func TestE2EFrozenConnection(t *testing.T) {
	e := newEnv(t)
	before := e.open(hostB, "fz")
	// Freeze the sshd processes serving hostb's user: the TCP connection
	// stays open, nothing comes back through it.
	frozen := sshdPIDsOf(t, userB)
	if len(frozen) == 0 {
		t.Fatalf("no sshd process serves %s", userB)
	}
	thaw := func() {
		for _, p := range frozen {
			syscall.Kill(p, syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)
	for _, p := range frozen {
		if err := syscall.Kill(p, syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP sshd %d: %v", p, err)
		}
	}
	if !e.masterRunning(hostB) {
		t.Fatalf("the master should still answer -O check by itself")
	}

	stdout, stderr, code := e.run("ls", "--json", "--timeout", "3s")
	if code != 0 {
		t.Fatalf("jt ls with a frozen host: exit %d\n%s", code, stderr)
	}
	rows := lsRows(t, stdout)
	if r := row(t, rows, hostB, "fz"); r.State != "unreachable" {
		t.Errorf("session fz on a frozen host: %q, want unreachable", r.State)
	}

	after := e.open(hostB, "fz")
	if after.PID != before.PID || after.Status != "running" {
		t.Errorf("open through a frozen master: pid %d status %q, want pid %d running", after.PID, after.Status, before.PID)
	}
	mustAnswer(t, after.URL)
}
