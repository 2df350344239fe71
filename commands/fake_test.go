package commands

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
)

// call is one ssh invocation the fake saw.
type call struct {
	Kind  string // check, master, ping, script, forward, cancel, exit, terminal, version, resolve
	Args  []string
	Stdin string
	Mode  sshexec.Mode
}

// fakeSSH is a recording Runner that behaves like ssh with a ControlMaster:
// -O check fails until a master was started, a forward really listens on
// 127.0.0.1 and proxies to the fake Jupyter, and scripts get canned answers.
type fakeSSH struct {
	t       *testing.T
	jupyter string // host:port the forwards lead to

	mu     sync.Mutex
	calls  []call
	master bool
	// hopMaster: a node hop's master (its calls set HostName=NODE) runs.
	hopMaster bool
	forwards  map[int]net.Listener
	// script answers a script run; nil answers with openAnswer.
	script func(script string) (sshexec.Result, error)
	// login answers a master's login; nil logs in.
	login func() (sshexec.Result, error)
	// terminal answers a remote command run on the terminal (jt attach);
	// nil returns at once, as a console the user detached from.
	terminal func(remote string) (sshexec.Result, error)
	// version is what ssh -V prints; "" is a current OpenSSH.
	version string
	// dead ends the -L specs whose far end nothing listens on: their
	// connections are closed at once, as ssh does when the remote refuses.
	dead string
}

func newFakeSSH(t *testing.T, jupyter string) *fakeSSH {
	f := &fakeSSH{t: t, jupyter: jupyter, forwards: map[int]net.Listener{}}
	t.Cleanup(f.dropForwards)
	return f
}

// sshErr is what a failed ssh call returns: an *sshexec.Error for its exit
// code and stderr, carrying a sentinel the way the real runner classifies.
type sshErr struct {
	e    *sshexec.Error
	kind error
}

func (s *sshErr) Error() string   { return s.e.Error() }
func (s *sshErr) Unwrap() []error { return []error{s.e, s.kind} }

func fail(args []string, code int, stderr string, kind error) (sshexec.Result, error) {
	res := sshexec.Result{ExitCode: code, Stderr: []byte(stderr)}
	return res, &sshErr{e: &sshexec.Error{Args: args, ExitCode: code, Stderr: stderr}, kind: kind}
}

func kindOf(args []string) string {
	if slices.Equal(args, sshexec.VersionArgs()) {
		return "version"
	}
	if slices.Contains(args, "-G") {
		return "resolve"
	}
	if i := slices.Index(args, "-O"); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	switch {
	case slices.Contains(args, "-fN"):
		return "master"
	case len(args) > 0 && args[len(args)-1] == sshexec.RemoteShell:
		return "script"
	case slices.Contains(args, "-t"):
		return "terminal"
	}
	return "unknown"
}

func (f *fakeSSH) Run(ctx context.Context, c sshexec.Cmd) (sshexec.Result, error) {
	var stdin []byte
	if c.Stdin != nil {
		stdin, _ = io.ReadAll(c.Stdin)
	}
	k := kindOf(c.Args)
	hop := slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "HostName=") })
	f.mu.Lock()
	f.calls = append(f.calls, call{Kind: k, Args: slices.Clone(c.Args), Stdin: string(stdin), Mode: c.Mode})
	master := f.master
	if hop {
		master = f.hopMaster
	}
	f.mu.Unlock()

	switch k {
	case "check":
		if !master {
			return fail(c.Args, 255, "Control socket connect(/tmp/jt/cm-abc): No such file or directory", sshexec.ErrNoMaster)
		}
		// The fake's forwards listen in this process: it is the master
		// whose sockets jt checks before it sends the token.
		return sshexec.Result{Stderr: []byte("Master running (pid=" + strconv.Itoa(os.Getpid()) + ")\r\n")}, nil
	case "master":
		f.mu.Lock()
		login := f.login
		f.mu.Unlock()
		if login != nil {
			if res, err := login(); err != nil {
				return res, err
			}
		}
		f.mu.Lock()
		if hop {
			f.hopMaster = true
		} else {
			f.master = true
		}
		f.mu.Unlock()
		return sshexec.Result{}, nil
	case "version":
		f.mu.Lock()
		v := f.version
		f.mu.Unlock()
		if v == "" {
			v = "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024"
		}
		return sshexec.Result{Stderr: []byte(v + "\r\n")}, nil
	case "resolve":
		return sshexec.Result{Stdout: []byte(resolveAnswer(c.Args))}, nil
	case "terminal":
		f.mu.Lock()
		term := f.terminal
		f.mu.Unlock()
		if term != nil {
			return term(c.Args[len(c.Args)-1])
		}
		return sshexec.Result{}, nil
	case "exit":
		f.mu.Lock()
		if hop {
			f.hopMaster = false
		} else {
			f.master = false
		}
		f.mu.Unlock()
		f.dropForwards()
		return sshexec.Result{}, nil
	case "forward", "cancel":
		if !master {
			return fail(c.Args, 255, "Control socket connect(/tmp/jt/cm-abc): No such file or directory", sshexec.ErrNoMaster)
		}
		i := slices.Index(c.Args, "-L")
		if i < 0 || i+1 >= len(c.Args) {
			f.t.Errorf("%s without -L: %q", k, c.Args)
			return fail(c.Args, 255, "bad -L", nil)
		}
		lp, err := specPort(c.Args[i+1])
		if err != nil {
			f.t.Errorf("%s: %v", k, err)
			return fail(c.Args, 255, err.Error(), nil)
		}
		if k == "cancel" {
			f.mu.Lock()
			if l := f.forwards[lp]; l != nil {
				l.Close()
				delete(f.forwards, lp)
			}
			f.mu.Unlock()
			return sshexec.Result{}, nil
		}
		return f.listen(c.Args, lp)
	case "script":
		if f.script != nil {
			res, err := f.script(string(stdin))
			if c.Mode == sshexec.Stream && c.Stdout != nil {
				// Streamed output goes to the caller's writer, as it comes.
				c.Stdout.Write(res.Stdout)
				res.Stdout = nil
			}
			return res, err
		}
		if strings.Contains(string(stdin), "# jt ls:") {
			// list.sh: the host vouches for the server openAnswer started.
			return sshexec.Result{Stdout: []byte(openAnswer + "@@JT-DONE@@\n")}, nil
		}
		return sshexec.Result{Stdout: []byte(openAnswer)}, nil
	}
	f.t.Errorf("unexpected ssh call %q", c.Args)
	return fail(c.Args, 255, "unexpected", nil)
}

// resolveAnswer is what ssh -G prints for the fake's host: its settings,
// the control path expanded from jt's -o ControlPath=.
func resolveAnswer(args []string) string {
	cp := "none"
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "ControlPath="); ok {
			cp = strings.ReplaceAll(v, "%C", strings.Repeat("5f", 20))
			break
		}
	}
	return "user a\nhostname gpu1.example.org\nport 22\nproxyjump none\ncontrolpath " + cp + "\nbatchmode yes\n"
}

// specPort reads the local port of a -L spec, which must bind 127.0.0.1.
func specPort(spec string) (int, error) {
	rest, ok := strings.CutPrefix(spec, "127.0.0.1:")
	if !ok {
		return 0, errors.New("forward spec " + spec + " does not bind 127.0.0.1")
	}
	p, _, _ := strings.Cut(rest, ":")
	return strconv.Atoi(p)
}

// listen is the master's side of -O forward: bind the local port (or fail
// as ssh does when it is taken) and carry connections to the fake Jupyter.
func (f *fakeSSH) listen(args []string, lp int) (sshexec.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.forwards[lp] != nil {
		return sshexec.Result{}, nil // ssh accepts an identical forward again
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(lp))
	if err != nil {
		return fail(args, 255, "mux_client_forward: forwarding request failed: Port forwarding failed", sshexec.ErrForwardRefused)
	}
	f.forwards[lp] = l
	dead := f.dead != "" && strings.HasSuffix(args[slices.Index(args, "-L")+1], f.dead)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if dead {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				f.mu.Lock()
				to := f.jupyter
				f.mu.Unlock()
				up, err := net.Dial("tcp", to)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return sshexec.Result{}, nil
}

func (f *fakeSSH) dropForwards() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p, l := range f.forwards {
		l.Close()
		delete(f.forwards, p)
	}
}

func (f *fakeSSH) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeSSH) Kinds() []string {
	var k []string
	for _, c := range f.Calls() {
		k = append(k, c.Kind)
	}
	return k
}

// vouchedOnce checks that the calls are -O checks and one script, list.sh
// asking after session name alone: the host's word on a TCP server
// before the token goes to its tunnel.
func vouchedOnce(t *testing.T, calls []call, name string) {
	t.Helper()
	var scripts []call
	for _, c := range calls {
		switch c.Kind {
		case "check":
		case "script":
			scripts = append(scripts, c)
		default:
			t.Errorf("ssh calls %q: want only checks and one script", c.Kind)
		}
	}
	if len(scripts) != 1 || !strings.Contains(scripts[0].Stdin, "# jt ls:") || !strings.Contains(scripts[0].Stdin, `set -- "$sessions"/'`+name+`'`+"\n") {
		t.Errorf("the host was not asked once, by list.sh, about session %s alone: %d scripts", name, len(scripts))
	}
}

func (f *fakeSSH) Reset() {
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
}

// fakeJupyter answers /api/status with 200 only for "Authorization: token abc".
func fakeJupyter(t *testing.T, token string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api" {
			// As Jupyter: its version without a token.
			io.WriteString(w, `{"version": "6.4.12"}`)
			return
		}
		if r.Header.Get("Authorization") != "token "+token {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		if r.URL.Path != "/api/status" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"started": "2024-01-01T00:00:00Z"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const openAnswer = `Welcome to gpu1 (a banner from .bashrc)
@@JT-SESSION@@
status=started
name=default
boot=0b6d5c8e
node=gpu1
log=/home/a/.local/state/jt/sessions/default/log
started=1700000000
mux=screen
dir=/home/a
flavour=notebook
state=running
pid=4242
runtime=nbserver-4242.json
@@JT-JSON@@
{"pid":4242,"port":8888,"token":"abc","base_url":"/"}
@@JT-END@@
`

type testEnv struct {
	d      *Deps
	ssh    *fakeSSH
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	jup    *httptest.Server
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctl, err := os.MkdirTemp("/tmp", "jtc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(ctl) })
	jup := fakeJupyter(t, "abc")
	fake := newFakeSSH(t, strings.TrimPrefix(jup.URL, "http://"))
	var out, errb bytes.Buffer
	return &testEnv{
		d: &Deps{
			Engine: &session.Engine{
				SSH:      &sshexec.Client{Runner: fake, ControlDir: ctl},
				Store:    state.Store{Path: filepath.Join(t.TempDir(), "state", "state.toml")},
				Report:   reporter{w: &errb},
				LocalDir: ctl,
				Now:      func() time.Time { return time.Unix(1700000600, 0) },
			},
			Stdout:   &out,
			Stderr:   &errb,
			LocalDir: ctl,
		},
		ssh: fake, stdout: &out, stderr: &errb, jup: jup,
	}
}

// checkArgv checks what every recorded call must satisfy.
func checkArgv(t *testing.T, calls []call, host string) {
	t.Helper()
	for _, c := range calls {
		i := slices.Index(c.Args, "--")
		if i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != host {
			t.Errorf("%s: \"--\" not right before %q in %q", c.Kind, host, c.Args)
		}
		for _, a := range c.Args {
			if strings.Contains(a, "abc") {
				t.Errorf("%s: the token is on the command line: %q", c.Kind, c.Args)
			}
		}
	}
}

// pwnedBefore records whether /tmp/pwned existed before a test, so that a
// leftover from elsewhere is not blamed on jt.
func pwnedBefore() bool {
	_, err := os.Stat("/tmp/pwned")
	return err == nil
}

// hostKeyScript is in the text of hostkeys.sh, the script that asks the
// login node for a node's host keys.
const hostKeyScript = "the host keys this login node"

// hostKeysAnswer is hostkeys.sh's answer for node: one ed25519 key (a blob
// of the right shape), or none.
func hostKeysAnswer(node string, withKey bool) string {
	if !withKey {
		return "@@JT-SESSION@@\nnode=" + node + "\n@@JT-END@@\n"
	}
	blob := binary.BigEndian.AppendUint32(nil, uint32(len("ssh-ed25519")))
	blob = append(blob, "ssh-ed25519"...)
	blob = binary.BigEndian.AppendUint32(blob, 32)
	blob = append(blob, bytes.Repeat([]byte{7}, 32)...)
	return "@@JT-SESSION@@\nnode=" + node + "\nkey0=ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + "\n@@JT-END@@\n"
}
