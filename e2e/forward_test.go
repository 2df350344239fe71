package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fwRow is a row of jt ls --json with its extra forwards.
type fwRow struct {
	Host     string `json:"host"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Forwards []struct {
		LocalPort  int    `json:"local_port"`
		RemotePort int    `json:"remote_port"`
		Remote     string `json:"remote"`
		State      string `json:"state"`
		URL        string `json:"url"`
	} `json:"forwards"`
}

func (e *env) fwRow(host, name string) fwRow {
	e.t.Helper()
	stdout, _ := e.jt("ls", "--json")
	var rows []fwRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		e.t.Fatalf("jt ls --json: %v", err)
	}
	for _, r := range rows {
		if r.Host == host && r.Name == name {
			return r
		}
	}
	e.t.Fatalf("jt ls has no row %s %s", host, name)
	return fwRow{}
}

// fetch GETs u (no proxy) and returns its body, or "" and the error.
func fetch(u string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s", u, resp.Status)
	}
	return string(b), err
}

// startHTTPServer starts python3 -m http.server on 127.0.0.1:port from
// code run in a kernel of the session at u (so it is one of the session's
// processes), serving a directory with a file proof.txt that holds proof.
// It is stopped (by its pid) and the directory removed when the test ends.
func startHTTPServer(t *testing.T, host, u string, port int, bind, dir, proof string) {
	t.Helper()
	code := fmt.Sprintf(`import os, subprocess, sys
os.makedirs(%[1]q, exist_ok=True)
open(os.path.join(%[1]q, "proof.txt"), "w").write(%[2]q)
p = subprocess.Popen([sys.executable, "-m", "http.server", "%[3]d", "--bind", %[4]q], cwd=%[1]q,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
print("started", p.pid)`, dir, proof, port, bind)
	out := kernelOutput(t, u, code)
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "started %d", &pid); err != nil || pid <= 0 {
		t.Fatalf("the kernel did not start http.server: %q", out)
	}
	t.Cleanup(func() { remoteRun(host, fmt.Sprintf("kill %d; rm -rf %s\n", pid, shellQuote(dir))) })
}

// startUnixServer starts, from a kernel of the session at u, a server on
// unix socket path (its directory made 0700) that answers every
// connection with an HTTP response whose body is proof.
func startUnixServer(t *testing.T, host, u, path, proof string) {
	t.Helper()
	code := fmt.Sprintf(`import os, subprocess, sys
os.makedirs(os.path.dirname(%[1]q), mode=0o700, exist_ok=True)
srv = "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(8)\nwhile True:\n    c, _ = s.accept()\n    c.recv(4096)\n    c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Length: %%d\\r\\n\\r\\n' %% len(sys.argv[2]) + sys.argv[2].encode())\n    c.close()\n"
p = subprocess.Popen([sys.executable, "-c", srv, %[1]q, %[2]q], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
print("started", p.pid)`, path, proof)
	out := kernelOutput(t, u, code)
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "started %d", &pid); err != nil || pid <= 0 {
		t.Fatalf("the kernel did not start the unix-socket server: %q", out)
	}
	t.Cleanup(func() { remoteRun(host, fmt.Sprintf("kill %d; rm -rf %s\n", pid, shellQuote(filepath.Dir(path)))) })
}

// jt forward reaches a port on the host through the session's master; jt
// ls shows and checks it, jt ls --ports lists it; a killed master and the
// keeper bring it back; --cancel and jt close remove it; a port nobody
// listens on is refused; without a master jt forward says it cannot.
func TestE2EForward(t *testing.T) {
	e := newEnv(t)
	u, keeper, _ := startKeeper(t, e, "fw", "--background", "--no-browser")
	remotePort, localPort, deadPort, deadLocal := freePort(t), freePort(t), freePort(t), freePort(t)
	proof := fmt.Sprintf("forward-proof-%d", time.Now().UnixNano())
	dir := fmt.Sprintf("/tmp/jt-fw-%d", remotePort)
	startHTTPServer(t, hostA, u, remotePort, "127.0.0.1", dir, proof)
	if !pollUntil(20*time.Second, func() bool { return portListens(remotePort) }) {
		t.Fatalf("http.server never listened on %d", remotePort)
	}

	// What the session listens on: Jupyter's socket and the http.server.
	ports, _ := e.jt("ls", "--ports", "--name", "fw", hostA)
	if !strings.Contains(ports, strconv.Itoa(remotePort)+" ") || !strings.Contains(ports, "python3") {
		t.Errorf("jt ls --ports does not list http.server on %d:\n%s", remotePort, ports)
	}

	stdout, _ := e.jt("forward", "--name", "fw", "--local-port", strconv.Itoa(localPort), hostA, strconv.Itoa(remotePort))
	fu := fmt.Sprintf("http://127.0.0.1:%d/", localPort)
	if strings.TrimSpace(stdout) != fu {
		t.Fatalf("jt forward printed %q, want %s", stdout, fu)
	}
	if body, err := fetch(fu + "proof.txt"); body != proof {
		t.Fatalf("through the forward: %q, %v; want %q", body, err, proof)
	}
	r := e.fwRow(hostA, "fw")
	if len(r.Forwards) != 1 || r.Forwards[0].LocalPort != localPort || r.Forwards[0].RemotePort != remotePort || r.Forwards[0].State != "up" || r.Forwards[0].URL != fu {
		t.Errorf("jt ls --json forwards: %+v", r.Forwards)
	}
	if text, _ := e.jt("ls"); !strings.Contains(text, fmt.Sprintf("%d->%d", localPort, remotePort)) {
		t.Errorf("jt ls does not show the forward:\n%s", text)
	}

	// Nobody listens on deadPort: refused, nothing recorded or left bound.
	// (Host and laptop are one machine here: a local port equal to the
	// remote one would be the forward's own listener.)
	_, stderr, code := e.run("forward", "--name", "fw", "--local-port", strconv.Itoa(deadLocal), hostA, strconv.Itoa(deadPort))
	if code != 1 || !strings.Contains(stderr, "nothing listens") {
		t.Errorf("forward to a dead port: exit %d, %q; want 1 and 'nothing listens'", code, stderr)
	}
	if r := e.fwRow(hostA, "fw"); len(r.Forwards) != 1 {
		t.Errorf("after the refused forward, jt ls shows %+v", r.Forwards)
	}
	if portListens(deadLocal) {
		t.Errorf("the refused forward still listens on 127.0.0.1:%d", deadLocal)
	}
	// Without a master: one clear line, nothing done.
	_, stderr, code = e.run("--no-master", "forward", "--name", "fw", hostA, "1234")
	if code != 1 || !strings.Contains(stderr, "needs the ssh master") {
		t.Errorf("jt --no-master forward: exit %d, %q", code, stderr)
	}

	// The master dies: the keeper reopens the session and its forward.
	if pid := e.masterPID(hostA); pid <= 0 || syscall.Kill(pid, syscall.SIGKILL) != nil {
		t.Fatalf("kill the master %d", pid)
	}
	waitRestored(t, u)
	if !pollUntil(30*time.Second, func() bool { b, _ := fetch(fu + "proof.txt"); return b == proof }) {
		t.Fatalf("the forward did not come back after the master was killed")
	}
	if !procLive(keeper) {
		t.Errorf("the keeper %d is gone", keeper)
	}

	// --cancel removes it; jt close removes a forward too.
	e.jt("forward", "--cancel", "--name", "fw", hostA, strconv.Itoa(remotePort))
	if portListens(localPort) || len(e.fwRow(hostA, "fw").Forwards) != 0 {
		t.Errorf("after --cancel the forward is still there")
	}
	e.jt("forward", "--name", "fw", "--local-port", strconv.Itoa(localPort), hostA, strconv.Itoa(remotePort))
	e.jt("close", "--name", "fw", hostA)
	if portListens(localPort) {
		t.Errorf("after jt close 127.0.0.1:%d still listens", localPort)
	}
	if s, _ := os.ReadFile(e.statePath()); strings.Contains(string(s), "forwards") {
		t.Errorf("after jt close the state still records forwards:\n%s", s)
	}
}

// clientPy starts a kernel through Jupyter's REST and websocket APIs with
// nothing but the variables jt exec gives it, and prints 1+1.
const clientPy = `import json, os, urllib.request, uuid, websocket
url, token = os.environ["JUPYTER_URL"], os.environ["JUPYTER_TOKEN"]
assert url.endswith(os.environ["JUPYTER_BASE_URL"])
auth = {"Authorization": "token " + token}
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(url + "api/kernels", data=b'{"name": "python3"}', method="POST",
    headers=dict(auth, **{"Content-Type": "application/json"}))
kernel = json.load(opener.open(req))
ws = websocket.create_connection(url.replace("http", "ws", 1) + "api/kernels/" + kernel["id"] + "/channels",
    header=["Authorization: token " + token], timeout=60)
msg_id = uuid.uuid4().hex
ws.send(json.dumps({"header": {"msg_id": msg_id, "username": "c", "session": uuid.uuid4().hex,
    "msg_type": "execute_request", "version": "5.3"}, "parent_header": {}, "metadata": {}, "channel": "shell",
    "content": {"code": "1+1", "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False}}))
while True:
    m = json.loads(ws.recv())
    if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_result":
        print(m["content"]["data"]["text/plain"])
        break
ws.close()
opener.open(urllib.request.Request(url + "api/kernels/" + kernel["id"], method="DELETE", headers=auth))
`

// jt exec hands the session to a local program in its environment only:
// a kernel started with those variables says 2, no command line ever
// shows the token, and jt exits with the program's status. jt env prints
// the same for eval.
func TestE2EExec(t *testing.T) {
	e := newEnv(t)
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		missingReq(t, "no /usr/bin/python3")
	}
	client := filepath.Join(e.dir, "client.py")
	if err := os.WriteFile(client, []byte(clientPy), 0o600); err != nil {
		t.Fatal(err)
	}
	e.opened[[2]string{hostA, "ex"}] = true
	sampler := sampleCmdlines()
	stdout, _ := e.jt("exec", "--name", "ex", hostA, "--", python, client)
	cmdlines, rounds := sampler.finish()
	if strings.TrimSpace(stdout) != "2" {
		t.Errorf("client.py through jt exec printed %q, want 2", stdout)
	}
	s, ok := e.session(hostA, "ex")
	if !ok || s.Token == "" {
		t.Fatalf("jt exec recorded no session: %+v", s)
	}
	for _, c := range cmdlines {
		if strings.Contains(c, s.Token) {
			t.Errorf("a command line held the token: %q", strings.ReplaceAll(c, "\x00", " "))
		}
	}
	if rounds < 10 {
		t.Errorf("only %d rounds of /proc sampling", rounds)
	}
	if _, _, code := e.run("exec", "--name", "ex", hostA, "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("jt exec of exit 7: exit %d", code)
	}
	line := `eval "$(jt env --name ex ` + hostA + `)" && printf '%s|%s|%s' "$JUPYTER_URL" "$JUPYTER_BASE_URL" "$JUPYTER_TOKEN"`
	out, stderr, code := e.shellRun("bash", line)
	want := fmt.Sprintf("http://127.0.0.1:%d/|/|%s", s.LocalPort, s.Token)
	if code != 0 || out != want {
		t.Errorf("bash eval of jt env: %q (exit %d, %s); want %q", out, code, stderr, want)
	}
}

// A forward of a Slurm session leads to a port on the job's node (its
// own network host), through the login node's master.
func TestE2ESlurmForward(t *testing.T) {
	needSlurm(t)
	e := newEnv(t)
	name := "slurmfw"
	scancelSession(t, userA, name)
	r := e.openSlurm(hostA, name, "--slurm-args", "--time=10 --cpus-per-task 1")
	remotePort, localPort, deadPort := freePort(t), freePort(t), freePort(t)
	proof := fmt.Sprintf("node-proof-%d", time.Now().UnixNano())
	// The node's address: what the login node reaches.
	startHTTPServer(t, hostA, r.URL, remotePort, slurmNodeAddr, fmt.Sprintf("/tmp/jt-fw-%d", remotePort), proof)
	fu := fmt.Sprintf("http://127.0.0.1:%d/", localPort)
	var got string
	if !pollUntil(20*time.Second, func() bool {
		_, _, code := e.run("forward", "--name", name, "--local-port", strconv.Itoa(localPort), hostA, strconv.Itoa(remotePort))
		got, _ = fetch(fu + "proof.txt")
		return code == 0
	}) || got != proof {
		t.Fatalf("through the forward to %s:%d: %q; want %q", slurmNode, remotePort, got, proof)
	}
	if portListens(remotePort) {
		t.Errorf("port %d listens in the login node's namespace: the test proves nothing", remotePort)
	}
	fr := e.fwRow(hostA, name)
	if len(fr.Forwards) != 1 || fr.Forwards[0].State != "up" {
		t.Errorf("jt ls forwards: %+v", fr.Forwards)
	}
	_, stderr, code := e.run("forward", "--name", name, hostA, strconv.Itoa(deadPort))
	if code != 1 || !strings.Contains(stderr, "on "+slurmNode+": nothing listens") {
		t.Errorf("forward to a dead port on the node: exit %d, %q", code, stderr)
	}

	// A private session's forwards ride jt's ssh to the node: the node's
	// loopback (out of reach from the login node) and its unix sockets.
	if r.Exposure != "private" {
		t.Fatalf("the session is %q, want private (the node's sshd runs)", r.Exposure)
	}
	loopPort, loopLocal, sockLocal := freePort(t), freePort(t), freePort(t)
	loopProof, sockProof := proof+"-loopback", proof+"-socket"
	startHTTPServer(t, hostA, r.URL, loopPort, "127.0.0.1", fmt.Sprintf("/tmp/jt-fw-%d", loopPort), loopProof)
	lu := fmt.Sprintf("http://127.0.0.1:%d/proof.txt", loopLocal)
	if !pollUntil(20*time.Second, func() bool {
		_, _, code := e.run("forward", "--name", name, "--local-port", strconv.Itoa(loopLocal), hostA, strconv.Itoa(loopPort))
		got, _ = fetch(lu)
		return code == 0
	}) || got != loopProof {
		t.Errorf("through the forward to 127.0.0.1:%d on %s: %q; want %q", loopPort, slurmNode, got, loopProof)
	}
	sock := fmt.Sprintf("/tmp/jt-fws-%d/s.sock", sockLocal)
	startUnixServer(t, hostA, r.URL, sock, sockProof)
	if !pollUntil(20*time.Second, func() bool {
		_, _, code := e.run("forward", "--name", name, "--local-port", strconv.Itoa(sockLocal), hostA, sock)
		got, _ = fetch(fmt.Sprintf("http://127.0.0.1:%d/", sockLocal))
		return code == 0
	}) || got != sockProof {
		t.Errorf("through the forward to %s on %s: %q; want %q", sock, slurmNode, got, sockProof)
	}
	// jt ls --ports reads the job's processes on the node, through the hop.
	ports, _ := e.jt("ls", "--ports", "--name", name, hostA)
	for _, want := range []string{strconv.Itoa(loopPort) + " ", strconv.Itoa(remotePort) + " ", sock} {
		if !strings.Contains(ports, want) {
			t.Errorf("jt ls --ports of the batch session does not list %q:\n%s", want, ports)
		}
	}
	if fr := e.fwRow(hostA, name); len(fr.Forwards) != 3 {
		t.Errorf("jt ls forwards: %+v, want 3", fr.Forwards)
	} else {
		for _, f := range fr.Forwards {
			if f.State != "up" {
				t.Errorf("jt ls forward %+v, want up", f)
			}
		}
	}
	e.jt("close", "--name", name, hostA)
	if portListens(localPort) || len(e.fwRow(hostA, name).Forwards) != 0 {
		t.Errorf("after jt close the forward is still there")
	}
}
