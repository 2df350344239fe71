package e2e

// The core of jt against each kind of Jupyter the tests have: one set of
// cases, run over a table of hosts. Debian 12 (this machine, through the
// box) has notebook 6.4 and jupyter_server 1.23 and no JupyterLab; Debian 13
// (scripts/trixie-host) has jupyter_server 2 and JupyterLab 4 and no
// notebook. Each flavour a host has gets one session, reused by every case.

import (
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// flavourCase is one flavour a host has, and what jt ls must say of it.
type flavourCase struct {
	flavour string         // what jt records: notebook, server, lab
	flags   []string       // how jt open asks for it
	version *regexp.Regexp // jt ls's version: the server as its runtime file names it
	browser bool           // headless Chromium must land on JupyterLab 4's file browser
}

// jupyterHost is a kind of host: its users and the flavours it has.
type jupyterHost struct {
	name        string
	need        func(*testing.T)
	host, other string // aliases: the session's user, another user of the same host
	has         []flavourCase
	lacks       map[string]string // flag → what jt open says is not installed
	doctor      []string          // jt doctor's flags, and the line it must print
	doctorSays  *regexp.Regexp
}

var jupyterHosts = []jupyterHost{{
	name: "debian12", need: needE2E, host: hostA, other: hostOther,
	has: []flavourCase{
		{"notebook", nil, regexp.MustCompile(`^notebook 6\.4\.`), false},
		{"server", []string{"--server"}, regexp.MustCompile(`^jupyter_server 1\.`), false},
	},
	lacks:  map[string]string{"--lab": "jupyter lab is not installed on "},
	doctor: nil, doctorSays: regexp.MustCompile(`(?m)^ok   jupyter notebook 6\.4\.[0-9]+ \(found: notebook 6\.4\.[0-9]+, server 1\.[0-9.]+\)$`),
}, {
	name: "trixie", need: needTrixie, host: hostTrixie, other: hostTrixieOther,
	has: []flavourCase{
		{"server", []string{"--server"}, regexp.MustCompile(`^jupyter_server 2\.`), false},
		{"lab", []string{"--lab"}, regexp.MustCompile(`^jupyter_server 2\.`), true},
	},
	lacks:  map[string]string{"": "jupyter notebook is not installed on "},
	doctor: []string{"--lab"}, doctorSays: regexp.MustCompile(`(?m)^ok   jupyter lab 4\.[0-9.]+ \(found: server 2\.[0-9.]+, lab 4\.[0-9.]+\)$`),
}}

// On each host, each flavour it has: the URL answers, a kernel runs over
// REST and the websocket, another user cannot reach the socket or the
// token's files, jt ls names the flavour and version; kill -9 of the master,
// then jt open reattaches to the same pid; jt close --kill leaves nothing.
// A flavour the host lacks fails at once with its name; jt doctor names
// the flavours and versions the host has. On trixie,
// headless Chromium lands on JupyterLab 4's file browser.
func TestE2EJupyterVersions(t *testing.T) {
	for _, h := range jupyterHosts {
		t.Run(h.name, func(t *testing.T) {
			h.need(t)
			testJupyterHost(t, h)
		})
	}
}

func testJupyterHost(t *testing.T, h jupyterHost) {
	e := newEnv(t)
	// Open homes and ~/.local/state, as on many shared hosts: only jt's
	// own directory and socket modes may keep the other user out.
	remote(t, h.host, `chmod 755 "$HOME" && mkdir -p "$HOME/.local/state" "$HOME/lt" && chmod 755 "$HOME/.local" "$HOME/.local/state"
echo proof >"$HOME/lt/lab-proof.txt"
`)
	t.Cleanup(func() { remoteRun(h.host, `chmod 700 "$HOME/.local" "$HOME/.local/state"; rm -rf "$HOME/lt"`+"\n") })

	opened := map[string]openResult{}
	for _, f := range h.has {
		name := "v" + f.flavour
		r := e.open(h.host, name, append([]string{"--dir", "~/lt"}, f.flags...)...)
		opened[name] = r
		mustAnswer(t, r.URL)
		if got := runKernel(t, r.URL); got != "2" {
			t.Errorf("%s: kernel evaluated 1+1 to %q, want 2", f.flavour, got)
		}
		s := row(t, e.ls(), h.host, name)
		if s.State != "up" || s.Flavour != f.flavour || !f.version.MatchString(s.Version) {
			t.Errorf("%s: jt ls says state %q flavour %q version %q; want up, %s, %s", f.flavour, s.State, s.Flavour, s.Version, f.flavour, f.version)
		}
		checkPrivate(t, h, name, s.RemoteSock)
		if f.browser {
			labBrowser(t, e, h.host, name, r.URL)
		}
	}

	// A master killed without cleaning up: each session reattaches to its server.
	pid := e.masterPID(h.host)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the master (pid %d): %v", pid, err)
	}
	waitDead(t, pid)
	for _, f := range h.has {
		name := "v" + f.flavour
		again := e.open(h.host, name, append([]string{"--dir", "~/lt"}, f.flags...)...)
		if again.Status != "running" || again.PID != opened[name].PID {
			t.Errorf("%s: open after kill -9 of the master: status %q pid %d; want running, pid %d", f.flavour, again.Status, again.PID, opened[name].PID)
		}
		mustAnswer(t, again.URL)
		opened[name] = again
	}

	for flag, want := range h.lacks {
		args := []string{"open", "--no-browser", "--name", "vmissing", h.host}
		if flag != "" {
			args = append(args, flag)
		}
		_, stderr, code := e.run(args...)
		if code == 0 || !strings.Contains(stderr, "jt: error: "+want) {
			t.Errorf("jt open %s on %s: exit %d, stderr %q; want a failure saying %q", flag, h.name, code, stderr, want)
		}
		if e.recorded(h.host, "vmissing") {
			t.Errorf("jt open %s on %s recorded a session", flag, h.name)
		}
	}

	// jt doctor names the flavours the host has, with their versions.
	if out, stderr, code := e.run(append(append([]string{"doctor"}, h.doctor...), h.host)...); code != 0 || !h.doctorSays.MatchString(out) {
		t.Errorf("jt doctor %s: exit %d, stdout:\n%s\nstderr: %s\nwant a line matching %s", h.host, code, out, stderr, h.doctorSays)
	}

	e.jt("close", "--kill", "--all", h.host)
	// The local ports are free again, and other programs of this shared
	// machine may take them at once: what counts is that nothing of this
	// test forwards them (no master left) and that no server takes the token.
	if !pollUntil(5*time.Second, func() bool { return len(jtMasters(e, h.host)) == 0 }) {
		t.Errorf("jt close --kill --all %s left its master running: %v", h.host, jtMasters(e, h.host))
	}
	for name, r := range opened {
		if code, err := getStatus(r.URL); err == nil && code == http.StatusOK {
			t.Errorf("%s: %s still answers with its token after jt close --kill", name, r.URL)
		}
		noRemoteTrace(t, h.host, name)
		delete(e.opened, [2]string{h.host, name}) // nothing left for the cleanup to close
	}
	delete(e.opened, [2]string{h.host, "vmissing"})
	if rows := e.ls(h.host); len(rows) != 0 {
		t.Errorf("jt ls %s after jt close --kill --all: %+v; want nothing", h.host, rows)
	}
}

// checkPrivate: the owner reaches session name's socket, the other user of
// the host neither the socket nor jt's directories, and no file of the
// session's runtime directory (the token's: runtime JSON, jupyter_server
// 2's jpserver-PID-open.html) is open to group or others.
func checkPrivate(t *testing.T, h jupyterHost, name, sock string) {
	t.Helper()
	if sock == "" {
		t.Errorf("%s: session %s is not on a unix socket", h.name, name)
		return
	}
	if got := pyRun(t, h.host, pyConnect, sock); got != "CONNECTED" {
		t.Fatalf("%s: the owner connecting to %s: %s; want CONNECTED", h.name, sock, got)
	}
	if got := pyRun(t, h.other, pyConnect, sock); got != "EACCES" {
		t.Errorf("%s: another user connecting to %s: %s; want EACCES", h.name, sock, got)
	}
	rt := filepath.Dir(sock)
	for _, dir := range []string{filepath.Dir(filepath.Dir(filepath.Dir(rt))), rt} {
		if got := pyRun(t, h.other, pyList, dir); got != "EACCES" {
			t.Errorf("%s: another user listing %s: %q; want EACCES", h.name, dir, got)
		}
	}
	out := remote(t, h.host, "cd "+shellQuote(rt)+" && ls && echo OPEN && find . -perm /077\n")
	before, open, _ := strings.Cut(out, "OPEN\n")
	if !strings.Contains(before, "server-") || strings.TrimSpace(open) != "" {
		t.Errorf("%s: runtime directory %s holds %q; open to others: %q (want a runtime file, none open)", h.name, rt, before, open)
	}
}

// labBrowser: jt open (a warm reopen of session name, a --lab session)
// hands headless Chromium its redirect file, and Chromium lands on
// JupyterLab 4's file browser listing the session directory's file, not on
// the login page.
func labBrowser(t *testing.T, e *env, host, name, u string) {
	t.Helper()
	// The printed URL (/?token=…) leads a browser, cookies kept, to /lab.
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Timeout: 10 * time.Second, Jar: jar, Transport: &http.Transport{Proxy: nil}}).Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/lab" {
		t.Errorf("GET of the printed URL ended on %s %s; want 200 at /lab", resp.Status, resp.Request.URL.Path)
	}
	chromium := findChromium()
	if chromium == "" {
		missingReq(t, "chromium not found (apt install chromium)")
	}
	dir := filepath.Join(e.dir, "chromium")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e.setVar("BROWSER", writeChromiumBrowser(t, chromium, dir))
	t.Cleanup(func() { waitFile(t, filepath.Join(dir, "rc"), 100*time.Second, "Chromium did not finish") })
	e.jt("open", "--lab", "--dir", "~/lt", "--name", name, host)
	dom := string(waitFile(t, filepath.Join(dir, "dom.html"), 100*time.Second, "Chromium did not finish"))
	excerpt := dom
	if len(excerpt) > 3000 {
		excerpt = excerpt[:3000] + "…"
	}
	for _, login := range []string{`type="password"`, "Token authentication is enabled", `id="token_input"`} {
		if strings.Contains(dom, login) {
			t.Fatalf("Chromium ended on Jupyter's login page (%q), not JupyterLab:\n%s", login, excerpt)
		}
	}
	if !strings.Contains(dom, `"appVersion": "4.`) && !strings.Contains(dom, `"appVersion":"4.`) {
		t.Errorf("the page Chromium reached is not JupyterLab 4 (no appVersion 4.x in its page config):\n%s", excerpt)
	}
	if !regexp.MustCompile(`jp-DirListing-item[^>]*title="Name: lab-proof\.txt`).MatchString(dom) && !strings.Contains(dom, ">lab-proof.txt<") {
		t.Errorf("JupyterLab's file browser does not list lab-proof.txt:\n%s", excerpt)
	}
}
