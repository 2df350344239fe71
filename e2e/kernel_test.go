package e2e

// jt kernel: a local Jupyter client (Debian's nbconvert and jupyter_client,
// run as a user types them) on a kernelspec jt kernel install wrote, whose
// kernel runs on the host over jt's master.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kernelEnv is an env with a Jupyter data and runtime directory of its
// own and a jt kernelspec for host installed in it.
func kernelEnv(t *testing.T, host string, install ...string) (*env, string) {
	t.Helper()
	for _, p := range []string{"/usr/bin/jupyter-nbconvert", "/usr/bin/python3"} {
		if _, err := os.Stat(p); err != nil {
			missingReq(t, p+" is not installed (apt-get install jupyter-nbconvert)")
		}
	}
	e := newEnv(t)
	data, runtime := filepath.Join(e.dir, "jdata"), filepath.Join(e.dir, "jrun")
	for _, d := range []string{data, runtime} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	e.setVar("JUPYTER_DATA_DIR", data)
	e.setVar("JUPYTER_RUNTIME_DIR", runtime)
	// jupyter_client 7 writes a client's connection file as a temp file.
	e.setVar("TMPDIR", runtime)
	e.setVar("HOME", e.dir)
	stdout, _ := e.jt(append(append([]string{"kernel", "install"}, install...), host)...)
	name, _, _ := strings.Cut(stdout, "\t")
	if !strings.HasPrefix(name, "jt-") {
		t.Fatalf("jt kernel install printed %q: want the kernelspec's name first", stdout)
	}
	var spec struct {
		Argv          []string `json:"argv"`
		InterruptMode string   `json:"interrupt_mode"`
	}
	b, err := os.ReadFile(filepath.Join(data, "kernels", name, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec.Argv) < 4 || spec.Argv[0] != e2e.jt || !strings.Contains(string(b), "{connection_file}") || spec.InterruptMode != "message" {
		t.Fatalf("kernelspec %s:\n%s\nwant argv [%s kernel run … {connection_file} …] and interrupt_mode message", name, b, e2e.jt)
	}
	return e, name
}

// keyWatch collects the keys of the client's connection files as they
// appear in dir, while a cmdlineSampler reads every process's command line:
// this machine is both the laptop and the host, so one /proc shows both.
type keyWatch struct {
	dir     string
	mu      sync.Mutex
	keys    map[string]bool
	stop    chan struct{}
	done    chan struct{}
	sampler *cmdlineSampler
}

func watchKeys(dir string) *keyWatch {
	w := &keyWatch{dir: dir, keys: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{}), sampler: sampleCmdlines()}
	go func() {
		defer close(w.done)
		for {
			files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			for _, f := range files {
				var c struct{ Key string }
				if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &c) == nil && c.Key != "" {
					w.mu.Lock()
					w.keys[c.Key] = true
					w.mu.Unlock()
				}
			}
			select {
			case <-w.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return w
}

// check fails the test unless it saw keys, and none in a command line.
func (w *keyWatch) check(t *testing.T, wantKeys int) {
	t.Helper()
	close(w.stop)
	<-w.done
	cmdlines, rounds := w.sampler.finish()
	if len(w.keys) < wantKeys {
		t.Fatalf("saw %d connection file keys in %s; want at least %d", len(w.keys), w.dir, wantKeys)
	}
	sawKernel := false
	for _, c := range cmdlines {
		if strings.Contains(c, "ipykernel_launcher") {
			sawKernel = true
		}
		for k := range w.keys {
			if len(k) < 16 {
				t.Fatalf("key %q is too short to search for", k)
			}
			if strings.Contains(c, k) {
				t.Errorf("a command line holds a kernel's HMAC key: %q", strings.ReplaceAll(c, "\x00", " "))
			}
		}
	}
	if !sawKernel {
		t.Fatalf("the sampler (%d rounds, %d command lines) never saw the remote ipykernel: it proves nothing", rounds, len(cmdlines))
	}
	t.Logf("%d keys, none in %d distinct command lines (%d rounds of /proc)", len(w.keys), len(cmdlines), rounds)
}

// remoteKernelTrace is what jt's kernels left on host: live ipykernel
// processes of its user started on a connection file in jt's kernels
// directory (not the kernels of Jupyter servers), and that directory's
// entries.
func remoteKernelTrace(t *testing.T, host string) string {
	t.Helper()
	return strings.TrimSpace(remote(t, host, `pgrep -u "$(id -u)" -f 'ipykernel_launcher -f .*/\.local/state/jt/kernels/' | while read -r p; do
	case $(ps -o stat= -p "$p") in Z*) ;; *) echo "process $p: $(tr '\0' ' ' </proc/$p/cmdline)" ;; esac
done
ls -A "$HOME/.local/state/jt/kernels" 2>/dev/null | sed 's/^/file /'
`))
}

const kernelNotebook = `{"cells": [
 {"cell_type": "code", "id": "c1", "execution_count": null, "metadata": {}, "outputs": [], "source": ["import os, socket\n", "a = 6 * 7\n", "print('host', socket.gethostname(), 'uid', os.getuid())"]},
 {"cell_type": "code", "id": "c2", "execution_count": null, "metadata": {}, "outputs": [], "source": ["print('across', a + 1)"]}
], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`

// nbconvert --execute on the jt kernelspec, typed in a shell: the output
// notebook holds the host's name and the remote user's uid, and a value
// one cell computed and the next used. Nothing is left on the host.
func TestE2EKernelNbconvert(t *testing.T) {
	e, name := kernelEnv(t, hostA)
	nb := filepath.Join(e.dir, "nb.ipynb")
	if err := os.WriteFile(nb, []byte(kernelNotebook), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := watchKeys(filepath.Join(e.dir, "jrun"))
	_, stderr, code := e.shellRun("bash", "cd "+shellQuote(e.dir)+" && /usr/bin/jupyter-nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name="+name+" --output out.ipynb nb.ipynb")
	keys.check(t, 1)
	if code != 0 {
		t.Fatalf("nbconvert: exit %d\n%s", code, stderr)
	}
	text := notebookOutputs(t, filepath.Join(e.dir, "out.ipynb"))
	hostname := strings.TrimSpace(remote(t, hostA, "python3 -c 'import socket; print(socket.gethostname())'\n"))
	want := []string{"host " + hostname + " uid " + strconv.Itoa(int(uidOf(t, userA))), "across 43"}
	if strings.Join(text, "|") != strings.Join(want, "|") {
		t.Fatalf("output notebook's outputs are %q; want %q", text, want)
	}
	if tr := remoteKernelTrace(t, hostA); tr != "" {
		t.Fatalf("after nbconvert, %s still has:\n%s", hostA, tr)
	}
}

// kernelClient drives the jt kernelspec with jupyter_client's
// KernelManager and BlockingKernelClient: a namespace that holds, an
// interrupt of a time.sleep(60) cell, a restart, a shutdown. It prints
// one JSON object of what it saw.
const kernelClient = `
import json, sys, time
from jupyter_client import KernelManager
out = {}
def run(kc, code, timeout=60):
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    return reply["content"]
def stdout_of(kc, code):
    msg_id = kc.execute(code)
    text = ""
    while True:
        m = kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream":
            text += m["content"]["text"]
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return text.strip()
km = KernelManager(kernel_name=sys.argv[1])
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
run(kc, "x = 5")
out["x"] = stdout_of(kc, "print(x * 2)")
msg_id = kc.execute("import time; time.sleep(60)")
while True:
    m = kc.get_iopub_msg(timeout=30)
    if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" and m["content"]["execution_state"] == "busy":
        break
time.sleep(0.5)  # the cell is in its sleep, not in its import
t0 = time.monotonic()
km.interrupt_kernel()
reply = kc.get_shell_msg(timeout=5)
while reply["parent_header"].get("msg_id") != msg_id:
    reply = kc.get_shell_msg(timeout=5)
out["interrupt"] = reply["content"].get("ename", reply["content"]["status"])
out["interrupt_s"] = round(time.monotonic() - t0, 2)
t0 = time.monotonic()
km.restart_kernel()
out["restart_s"] = round(time.monotonic() - t0, 2)
kc.stop_channels()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
out["after_restart"] = stdout_of(kc, "print('x' in dir())")
kc.stop_channels()
t0 = time.monotonic()
km.shutdown_kernel()
out["shutdown_s"] = round(time.monotonic() - t0, 2)
print(json.dumps(out))
`

// jupyter_client's BlockingKernelClient on the jt kernelspec: interrupt,
// restart and shutdown reach the remote kernel, and shutdown leaves no
// ipykernel and no connection file on the host.
func TestE2EKernelClient(t *testing.T) {
	e, name := kernelEnv(t, hostA)
	prog := filepath.Join(e.dir, "client.py")
	if err := os.WriteFile(prog, []byte(kernelClient), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := watchKeys(filepath.Join(e.dir, "jrun"))
	stdout, stderr, code := e.shellRun("bash", "/usr/bin/python3 "+shellQuote(prog)+" "+name)
	keys.check(t, 1)
	if code != 0 {
		t.Fatalf("client: exit %d\n%s", code, stderr)
	}
	var got struct {
		X            string  `json:"x"`
		Interrupt    string  `json:"interrupt"`
		AfterRestart string  `json:"after_restart"`
		InterruptS   float64 `json:"interrupt_s"`
		RestartS     float64 `json:"restart_s"`
		ShutdownS    float64 `json:"shutdown_s"`
	}
	if err := json.Unmarshal([]byte(lastLine(stdout)), &got); err != nil {
		t.Fatalf("client printed %q: %v", stdout, err)
	}
	t.Logf("interrupt %.2fs, restart %.2fs, shutdown %.2fs", got.InterruptS, got.RestartS, got.ShutdownS)
	if got.X != "10" || got.Interrupt != "KeyboardInterrupt" || got.AfterRestart != "False" {
		t.Fatalf("client saw %+v; want x 10, the interrupt a KeyboardInterrupt, no x after the restart", got)
	}
	if tr := remoteKernelTrace(t, hostA); tr != "" {
		t.Fatalf("after shutdown, %s still has:\n%s", hostA, tr)
	}
}

func lastLine(s string) string {
	ls := lines(s)
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

// A kernelspec with --slurm: the kernel runs in a job on the compute node
// (its host name is the node's), and the job ends with the kernel.
func TestE2EKernelSlurm(t *testing.T) {
	needSlurm(t)
	e, name := kernelEnv(t, hostA, "--slurm", "--name", "cluster")
	t.Cleanup(func() { exec.Command("scancel", "-u", userA).Run() })
	nb := filepath.Join(e.dir, "nb.ipynb")
	if err := os.WriteFile(nb, []byte(kernelNotebook), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := watchKeys(filepath.Join(e.dir, "jrun"))
	_, stderr, code := e.shellRun("bash", "cd "+shellQuote(e.dir)+" && /usr/bin/jupyter-nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name="+name+" --output out.ipynb nb.ipynb")
	keys.check(t, 1)
	if code != 0 {
		t.Fatalf("nbconvert: exit %d\n%s", code, stderr)
	}
	text := notebookOutputs(t, filepath.Join(e.dir, "out.ipynb"))
	want := []string{"host " + slurmNode + " uid " + strconv.Itoa(int(uidOf(t, userA))), "across 43"}
	if strings.Join(text, "|") != strings.Join(want, "|") {
		t.Fatalf("output notebook's outputs are %q; want %q", text, want)
	}
	out, err := exec.Command("squeue", "-h", "-u", userA, "-o", "%i %j %T").CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v: %s", err, out)
	}
	for _, l := range lines(string(out)) {
		if strings.Contains(l, "jt-kernel-") {
			t.Fatalf("after the kernel's shutdown its job is still in the queue: %s", l)
		}
	}
	if tr := remoteKernelTrace(t, hostA); tr != "" {
		t.Fatalf("after nbconvert, %s still has:\n%s", hostA, tr)
	}
}

// notebookOutputs is the text of every output of the notebook at path,
// trimmed, in order.
func notebookOutputs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Cells []struct {
			Outputs []struct {
				Text json.RawMessage `json:"text"`
			} `json:"outputs"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, c := range out.Cells {
		for _, o := range c.Outputs {
			var one string
			var parts []string
			if json.Unmarshal(o.Text, &one) != nil {
				if err := json.Unmarshal(o.Text, &parts); err != nil {
					t.Fatalf("output text %s: %v", o.Text, err)
				}
				one = strings.Join(parts, "")
			}
			text = append(text, strings.TrimSpace(one))
		}
	}
	return text
}

// writeConnection writes a client's connection file with five free ports
// and a fresh key, as jupyter_client would.
func writeConnection(t *testing.T, path string, extra map[string]any) (key string, ports []int) {
	t.Helper()
	key = newHexKey(t)
	c := map[string]any{"transport": "tcp", "ip": "127.0.0.1", "key": key, "signature_scheme": "hmac-sha256", "kernel_name": ""}
	for _, k := range []string{"shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"} {
		p := freePort(t)
		for slices.Contains(ports, p) {
			p = freePort(t)
		}
		c[k] = p
		ports = append(ports, p)
	}
	for k, v := range extra {
		c[k] = v
	}
	b, _ := json.Marshal(c)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return key, ports
}

func newHexKey(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// jt kernel run killed with SIGKILL (what a client's kill does): the
// remote script sees its stdin close and the kernel and its files go.
func TestE2EKernelKilled(t *testing.T) {
	e, _ := kernelEnv(t, hostA)
	cf := filepath.Join(e.dir, "jrun", "conn.json")
	writeConnection(t, cf, nil)
	cmd := exec.Command(e2e.jt, "kernel", "run", "-f", cf, hostA)
	cmd.Env = e.vars
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	up := pollUntil(60*time.Second, func() bool {
		return strings.Contains(remoteKernelTrace(t, hostA), "process ")
	})
	if !up {
		cmd.Process.Kill()
		<-done
		t.Fatalf("no kernel on %s within 60s; jt said:\n%s", hostA, errBuf.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	var left string
	if !pollUntil(30*time.Second, func() bool { left = remoteKernelTrace(t, hostA); return left == "" }) {
		t.Fatalf("30s after jt kernel run was killed, %s still has:\n%s", hostA, left)
	}
}

// Bad input: each one line from jt, a non-zero exit, nothing run on the
// host (no master) where jt can tell before; the host without ipykernel
// is told by the start script's answer, with the fix.
func TestE2EKernelBadInput(t *testing.T) {
	e, _ := kernelEnv(t, hostA)
	remote(t, hostA, `rm -rf "$HOME/kernbare" && python3 -m venv --without-pip "$HOME/kernbare"`+"\n")
	t.Cleanup(func() { remoteRun(hostA, `rm -rf "$HOME/kernbare"`+"\n") })
	e.useConfig(fmt.Sprintf("[hosts.kbare]\nhost = %q\nvenv = \"~/kernbare\"\n", hostA))
	good := filepath.Join(e.dir, "jrun", "good.json")
	writeConnection(t, good, nil)
	for _, c := range []struct {
		name  string
		extra map[string]any
		want  string
	}{
		{"udp", map[string]any{"transport": "ipc"}, `transport is not "tcp"`},
		{"lan", map[string]any{"ip": "0.0.0.0"}, `ip is not "127.0.0.1"`},
		{"nokey", map[string]any{"key": ""}, "key is missing"},
		{"md5", map[string]any{"signature_scheme": "hmac-md5"}, `signature_scheme is not "hmac-sha256"`},
		{"port", map[string]any{"hb_port": 70000}, "hb_port is missing or not a port"},
	} {
		cf := filepath.Join(e.dir, "jrun", c.name+".json")
		writeConnection(t, cf, c.extra)
		_, stderr, code := e.run("kernel", "run", "-f", cf, hostA)
		if code != 2 || !strings.Contains(stderr, c.want) || len(lines(stderr)) != 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line with %q", c.name, code, stderr, c.want)
		}
	}
	if _, stderr, code := e.run("kernel", "run", "-f", filepath.Join(e.dir, "nothere.json"), hostA); code != 2 || !strings.Contains(stderr, "no such file") {
		t.Errorf("a missing connection file: exit %d, stderr %q", code, stderr)
	}
	if e.masterRunning(hostA) {
		t.Fatalf("a bad connection file started a master for %s", hostA)
	}
	if _, stderr, code := e.run("kernel", "install", "--scheduler", "nosuch", hostA); code != 2 || !strings.HasPrefix(stderr, "jt: error: ") {
		t.Errorf("an unknown scheduler: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("kernel", "run", "-f", good, "nosuchhost.invalid"); code == 0 || !strings.Contains(stderr, "nosuchhost.invalid") {
		t.Errorf("an unknown host: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code := e.run("kernel", "run", "-f", good, "kbare")
	if code != 1 || !strings.Contains(stderr, "cannot import ipykernel") || !strings.Contains(stderr, "/kernbare/bin/python -m pip install ipykernel") {
		t.Errorf("a venv without ipykernel: exit %d, stderr %q; want the error and the pip line", code, stderr)
	}
	if tr := remoteKernelTrace(t, hostA); tr != "" {
		t.Fatalf("a failed start left on %s:\n%s", hostA, tr)
	}
}

// JupyterLab on the "laptop" in headless Chromium: a notebook on the jt
// kernelspec runs a cell that prints the host's name and the remote uid.
// Debian 13's JupyterLab 4 (trixieRoot) plays the laptop's: it runs
// chrooted in a mount namespace of the test's own, with this machine's
// /tmp bound over the root's (where the test's jt, kernelspec and ssh
// config are), so that the root itself is never written.
func TestE2EKernelJupyterLab(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		missingReq(t, "chromium not found (apt install chromium)")
	}
	if _, err := os.Stat(trixieRoot + "/usr/bin/jupyter-lab"); err != nil {
		missingReq(t, "no JupyterLab in "+trixieRoot+" (scripts/trixie-host start)")
	}
	e, name := kernelEnv(t, hostA)
	nb, _ := json.Marshal(map[string]any{"nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": name, "display_name": "jt", "language": "python"}},
		"cells": []any{map[string]any{"cell_type": "code", "id": "c1", "metadata": map[string]any{}, "outputs": []any{},
			"execution_count": nil, "source": "import os, socket\nprint('remote', socket.gethostname(), os.getuid())"}}})
	if err := os.WriteFile(filepath.Join(e.dir, "lab.ipynb"), nb, 0o600); err != nil {
		t.Fatal(err)
	}
	labHome := filepath.Join(e.dir, "labhome")
	if err := os.Mkdir(labHome, 0o700); err != nil {
		t.Fatal(err)
	}
	port, token := freePort(t), newHexKey(t)
	keys := watchKeys(filepath.Join(e.dir, "jrun"))
	lab := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind /tmp "$1/tmp" && shift && exec chroot "$@"`, "sh", trixieRoot, trixieRoot,
		"/usr/bin/jupyter-lab", "--no-browser", "--ip=127.0.0.1", "--port="+strconv.Itoa(port), "--ServerApp.port_retries=0",
		"--IdentityProvider.token="+token, "--LabApp.expose_app_in_browser=True", "--ServerApp.root_dir="+e.dir, "--allow-root")
	lab.Env = append(slices.Clone(e.vars), "HOME="+labHome, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	labLog, err := os.Create(filepath.Join(e.dir, "lab.log"))
	if err != nil {
		t.Fatal(err)
	}
	lab.Stdout, lab.Stderr = labLog, labLog
	if err := lab.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { lab.Wait(); close(exited) }()
	t.Cleanup(func() {
		lab.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if !pollUntil(90*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		resp, err := httpClient.Get(base + "/api")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}) || chanClosed(exited) {
		b, _ := os.ReadFile(labLog.Name())
		t.Fatalf("JupyterLab did not answer within 90s:\n%s", tailLines(string(b), 30))
	}

	dir := filepath.Join(e.dir, "chromium")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	browser := exec.Command(writeDevtoolsBrowser(t, chromium, dir), base+"/lab/tree/lab.ipynb?token="+token)
	if out, err := browser.CombinedOutput(); err != nil {
		t.Fatalf("start Chromium: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, "pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGTERM)
				pollUntil(20*time.Second, func() bool { return !procLive(pid) })
			}
		}
	})
	page := devtoolsPage(t, filepath.Join(dir, "profile"))
	const panel = `(window.jupyterapp && jupyterapp.shell.currentWidget && jupyterapp.shell.currentWidget.sessionContext)`
	ready := `(() => { const s = ` + panel + `; return !!(s && s.session && s.session.kernel && s.session.kernel.connectionStatus === "connected" && s.session.kernel.status === "idle"); })()`
	if !pollUntil(3*time.Minute, func() bool { return page.eval(t, ready) == "true" }) {
		b, _ := os.ReadFile(labLog.Name())
		t.Fatalf("the notebook in JupyterLab never had a connected, idle kernel: %s\nJupyterLab's log:\n%s",
			page.eval(t, `JSON.stringify({app: !!window.jupyterapp, title: document.title, kernel: `+panel+` && `+panel+`.kernelDisplayName})`), tailLines(string(b), 30))
	}
	if got := page.eval(t, `(() => { const s = `+panel+`; return s.session.kernel.name; })()`); got != `"`+name+`"` {
		t.Fatalf("the notebook's kernel is %s; want %q", got, name)
	}
	page.eval(t, `jupyterapp.commands.execute("notebook:run-all-cells"); true`)
	want := "remote " + strings.TrimSpace(remote(t, hostA, "python3 -c 'import socket; print(socket.gethostname())'\n")) + " " + strconv.Itoa(int(uidOf(t, userA)))
	var got string
	if !pollUntil(60*time.Second, func() bool {
		got = page.eval(t, `(() => { const o = document.querySelector(".jp-OutputArea-output"); return o ? o.innerText.trim() : ""; })()`)
		return got == `"`+want+`"`
	}) {
		t.Fatalf("the cell's output in JupyterLab is %s; want %q", got, want)
	}
	// JupyterLab stopped: it shuts its kernels down, and nothing is left.
	lab.Process.Signal(syscall.SIGTERM)
	<-exited
	keys.check(t, 1)
	var left string
	if !pollUntil(30*time.Second, func() bool { left = remoteKernelTrace(t, hostA); return left == "" }) {
		t.Fatalf("after JupyterLab stopped, %s still has:\n%s", hostA, left)
	}
}

func chanClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// startKernelRun starts jt kernel run on a connection file of its own and
// waits for its kernel on host; stop sends SIGTERM and waits for jt's end.
func startKernelRun(t *testing.T, e *env, host string) (cmd *exec.Cmd, done chan error, errBuf *strings.Builder) {
	t.Helper()
	cf := filepath.Join(e.dir, "jrun", "conn-"+newHexKey(t)[:8]+".json")
	_, ports := writeConnection(t, cf, nil)
	cmd = exec.Command(e2e.jt, "kernel", "run", "-f", cf, host)
	cmd.Env = e.vars
	errBuf = &strings.Builder{}
	cmd.Stderr = errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	// Started: the five forwards listen (jt adds them once the kernel's
	// sockets are there).
	if !pollUntil(60*time.Second, func() bool {
		for _, p := range ports {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	}) {
		t.Fatalf("jt kernel run forwarded no ports within 60s; it said:\n%s", errBuf.String())
	}
	if !strings.Contains(remoteKernelTrace(t, host), "process ") {
		t.Fatalf("jt kernel run forwards the client's ports, but no kernel runs on %s", host)
	}
	return cmd, done, errBuf
}

// jt close of the host's last session keeps the master while a jt kernel
// run rides it; SIGTERM to jt kernel run stops the kernel and its files.
func TestE2EKernelKeepsMaster(t *testing.T) {
	e, _ := kernelEnv(t, hostA)
	e.opened[[2]string{hostA, "kmaster"}] = true
	e.open(hostA, "kmaster")
	cmd, done, errBuf := startKernelRun(t, e, hostA)
	e.jt("close", "--kill", "--name", "kmaster", hostA)
	if !e.masterRunning(hostA) {
		t.Fatalf("jt close ended the master that jt kernel run rides")
	}
	if !strings.Contains(remoteKernelTrace(t, hostA), "process ") {
		t.Fatalf("jt close ended the kernel")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-done; err != nil {
		t.Fatalf("jt kernel run stopped by SIGTERM: %v (want exit 0 once the kernel is stopped)\n%s", err, errBuf.String())
	}
	var left string
	if !pollUntil(30*time.Second, func() bool { left = remoteKernelTrace(t, hostA); return left == "" }) {
		t.Fatalf("after SIGTERM to jt kernel run, %s still has:\n%s", hostA, left)
	}
}
