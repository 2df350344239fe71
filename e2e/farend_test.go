package e2e

// The far end of a tunnel is trusted only when the host vouches for it:
// another user's program on a dead server's port is never called up, gets
// no token, and no browser is opened at it.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pyImpostor listens on 127.0.0.1:argv[1], writes "LISTENING" and then
// every byte it receives to argv[2], and answers each request 200 with
// JSON that would pass for Jupyter's /api and /api/status.
const pyImpostor = `import socket, sys, threading
port, log = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
def write(b):
    with lock, open(log, "ab") as f:
        f.write(b)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the dead server's TIME_WAIT
s.bind(("127.0.0.1", port))
s.listen(64)
write(b"LISTENING\n")
body = b"{\"version\": \"6.4.12\", \"started\": \"2024-01-01T00:00:00Z\", \"last_activity\": \"2024-01-01T00:00:00Z\"}"
def serve(c):
    c.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    write(data)
    if data:
        try:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        except OSError:
            pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`

// impostor starts pyImpostor as the other user of hostA's machine on the
// remote port, once that port is free, and returns its log's path.
func impostor(t *testing.T, port int) string {
	t.Helper()
	log := filepath.Join(e2e.box.Home(userOther), fmt.Sprintf("impostor-%d.log", port))
	os.Remove(log)
	script := fmt.Sprintf("rm -f %[2]s; setsid python3 -c %[1]s %[3]d %[2]s </dev/null >/dev/null 2>%[2]s.err & echo PID $!\n", shellQuote(pyImpostor), shellQuote(log), port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The killed server's port is free once its socket closed.
		out := remote(t, hostOther, script)
		pid := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "PID"))
		t.Cleanup(func() { remoteRun(hostOther, "kill "+pid+" 2>/dev/null\n") })
		if pollUntil(5*time.Second, func() bool {
			b, _ := os.ReadFile(log)
			return strings.HasPrefix(string(b), "LISTENING\n")
		}) {
			return log
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log + ".err")
			t.Fatalf("the impostor never listened on 127.0.0.1:%d:\n%s", port, b)
		}
	}
}

// noToken fails the test if the impostor's log holds token, or any
// request that carries a token at all.
func noToken(t *testing.T, log, token string) {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if strings.Contains(got, token) || strings.Contains(strings.ToLower(got), "authorization") || strings.Contains(got, "token=") {
		t.Errorf("the impostor got a token:\n%s", got)
	}
}

// killServer kills session name's Jupyter on hostA with SIGKILL (its
// runtime file stays, as after a crash or the OOM killer).
func killServer(t *testing.T, pid int) {
	t.Helper()
	remote(t, hostA, "kill -KILL "+strconv.Itoa(pid)+"\n")
	if !pollUntil(10*time.Second, func() bool { return !remoteAlive(t, hostA, pid) }) {
		t.Fatalf("server %d outlived SIGKILL", pid)
	}
}

// A --tcp session whose Jupyter died, and another user's program then on
// its remote port: jt ls never calls it up, jt open starts a new server
// (opening the browser at that one), the keeper does the same, and the
// impostor never sees a token.
func TestE2EImpostorOnTheRemotePort(t *testing.T) {
	e := newEnv(t)
	// Ports of their own (the servers' remote ports are this machine's):
	// a port Jupyter picks from 8888 up may be taken, between the kill and
	// the impostor's bind, by a server of another test running beside this.
	port1, port2 := freePort(t), freePort(t)
	for port2 == port1 {
		port2 = freePort(t)
	}
	r1 := e.open(hostA, "imp", "--port", strconv.Itoa(port1))
	mustAnswer(t, r1.URL)
	_, token1 := parseURL(t, r1.URL)
	killServer(t, r1.PID)
	log1 := impostor(t, r1.RemotePort)

	s := row(t, e.ls(hostA), hostA, "imp")
	if s.State == "up" || s.State != "server dead" {
		t.Errorf("jt ls: session imp is %q with its server dead and an impostor on its port; want server dead", s.State)
	}
	noToken(t, log1, token1)

	// jt open, with a browser: a new server, and the browser at it.
	dir := t.TempDir()
	argv := filepath.Join(dir, "argv")
	browser := filepath.Join(dir, "browser")
	writeArgvLogger(t, browser, argv)
	e.setVar("BROWSER", browser)
	stdout, _ := e.jt("open", "--port", strconv.Itoa(port2), "--name", "imp", hostA)
	u2 := strings.TrimSpace(stdout)
	mustAnswer(t, u2)
	s2, ok := e.session(hostA, "imp")
	if !ok || s2.PID == r1.PID || s2.RemotePort == r1.RemotePort {
		t.Fatalf("after jt open: %+v, %v; want a new server on another port than %d", s2, ok, r1.RemotePort)
	}
	page := strings.TrimSuffix(string(waitFile(t, argv, 20*time.Second, "jt open never started BROWSER")), "\x00")
	html, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(html), "127.0.0.1:"+strconv.Itoa(s2.LocalPort)+"/") || !strings.Contains(string(html), s2.Token) {
		t.Errorf("the browser's page %s: %v\n%s\nwant the new server's URL", page, err, html)
	}
	noToken(t, log1, token1)
	noToken(t, log1, s2.Token)
	e.setVar("BROWSER", "")

	// The keeper: the second server dies, another impostor takes its port.
	u3, keeper, keeperLog := startKeeper(t, e, "imp", "--background", "--no-browser", "--tcp")
	if u3 != u2 {
		t.Errorf("jt open --keep gave %s, want the warm %s", u3, u2)
	}
	killServer(t, s2.PID)
	log2 := impostor(t, s2.RemotePort)
	if !pollUntil(60*time.Second, func() bool {
		b, _ := os.ReadFile(keeperLog)
		return strings.Contains(string(b), "restored: session imp")
	}) {
		b, _ := os.ReadFile(keeperLog)
		t.Fatalf("the keeper never restored session imp:\n%s", b)
	}
	s3, ok := e.session(hostA, "imp")
	if !ok || s3.PID == s2.PID || s3.RemotePort == s2.RemotePort || s3.RemotePort == r1.RemotePort {
		t.Errorf("after the keeper: %+v; want a third server on a port of its own", s3)
	}
	if s := row(t, e.ls(hostA), hostA, "imp"); s.State != "up" || s.PID != s3.PID {
		t.Errorf("jt ls after the keeper: %q pid %d; want up, pid %d", s.State, s.PID, s3.PID)
	}
	for _, tok := range []string{token1, s2.Token, s3.Token} {
		noToken(t, log1, tok)
		noToken(t, log2, tok)
	}
	e.jt("close", "--kill", "--name", "imp", hostA)
	waitDead(t, keeper)
}

// slurmNode2 is the second compute node of scripts/slurm-cluster (in the
// partition "two" with node1), and its address.
const (
	slurmNode2     = "node2"
	slurmNode2Addr = "10.77.1.2"
)

// needNode2 is needNodeSSH and node2 up, with its own sshd.
func needNode2(t *testing.T) {
	t.Helper()
	needNodeSSH(t)
	out, _ := exec.Command("sinfo", "-h", "-n", slurmNode2, "-o", "%T").Output()
	st := strings.TrimSpace(string(out))
	if !strings.HasPrefix(st, "idle") && !strings.HasPrefix(st, "mixed") && !strings.HasPrefix(st, "allocated") {
		missingReq(t, fmt.Sprintf("node %s is %q, not up; run scripts/slurm-cluster start", slurmNode2, st))
	}
	if out, _ := exec.Command("nsenter", "--net=/run/netns/jtnode2", "ss", "-ltnH", "sport = :22").Output(); !strings.Contains(string(out), ":22 ") {
		missingReq(t, "node2 runs no sshd on port 22; run scripts/slurm-cluster start")
	}
}

// proofServer serves, as user, a file proof.txt that says which node it
// is on, on the node's address and port, in the node's network namespace:
// the program a user's forward leads to. It outlives the jobs.
func proofServer(t *testing.T, ns, user, addr string, port int, proof string) {
	t.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("jt-proof-%s-%d", ns, port))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "proof.txt"), []byte(proof), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", "--net=/run/netns/"+ns, "runuser", "-u", user, "--", "python3", "-m", "http.server", strconv.Itoa(port), "--bind", addr, "--directory", dir)
	// A process group of its own: runuser's python is a child, which the
	// end of the test must take too (a listener left on node1 is another
	// test's failure).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	if !pollUntil(20*time.Second, func() bool {
		out, _ := exec.Command("nsenter", "--net=/run/netns/"+ns, "ss", "-ltnH", fmt.Sprintf("sport = :%d", port)).Output()
		return strings.Contains(string(out), addr+":"+strconv.Itoa(port))
	}) {
		t.Fatalf("the proof server on %s:%d (%s) does not listen", addr, port, ns)
	}
}

// hopMastersTo is hopMasters, those to node alone.
func hopMastersTo(e *env, node string) []int {
	var pids []int
	ps, _ := processes()
	for _, pid := range hopMasters(e) {
		for _, p := range ps {
			if p.pid == pid && slices.Contains(p.argv(), "HostName="+node) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// A private Slurm session with a forward to a port on its node's address;
// the job is cancelled and jt open submits a new one, on node2: jt ls and
// the restored forward point at node2 (the program still on node1's
// address, another user's now, is out of reach), and no ssh master to
// node1 is left.
func TestE2ESlurmForwardFollowsTheJob(t *testing.T) {
	needNode2(t)
	e := newEnv(t)
	name := "slurmmove"
	scancelSession(t, userA, name)
	r1 := e.openSlurm(hostA, name, "--slurm-args", "--time=10 --cpus-per-task 1")
	if r1.Exposure != "private" {
		t.Fatalf("the session is %q, want private (node1's sshd runs)", r1.Exposure)
	}
	port, local := freePort(t), freePort(t)
	// On node1 another user's program answers on that port; on node2 the
	// user's own: each says where it runs.
	proofServer(t, "jtnode1", userOther, slurmNodeAddr, port, "proof of "+slurmNode)
	proofServer(t, "jtnode2", userA, slurmNode2Addr, port, "proof of "+slurmNode2)
	fu := fmt.Sprintf("http://127.0.0.1:%d/proof.txt", local)
	if _, stderr, code := e.run("forward", "--name", name, "--local-port", strconv.Itoa(local), hostA, strconv.Itoa(port)); code != 0 {
		t.Fatalf("jt forward %d: exit %d: %s", port, code, stderr)
	}
	if got, err := fetch(fu); got != "proof of "+slurmNode {
		t.Fatalf("through the forward before the move: %q, %v; want node1's proof", got, err)
	}
	if len(hopMastersTo(e, slurmNode)) != 1 {
		t.Fatalf("ssh masters to node1: %v, want one", hopMastersTo(e, slurmNode))
	}

	// The job ends (scancel, as a time limit or preemption would end it).
	if out, err := exec.Command("scancel", r1.SlurmJob).CombinedOutput(); err != nil {
		t.Fatalf("scancel %s: %v: %s", r1.SlurmJob, err, out)
	}
	waitNoJob(t, userA, name, r1.SlurmJob)
	if s := row(t, e.ls(hostA), hostA, name); s.State != "job ended" {
		t.Errorf("jt ls after scancel: %q, want job ended", s.State)
	}
	// Known gone: its tunnels and its master to node1 are removed at once.
	if got, err := fetch(fu); err == nil {
		t.Errorf("the forward still leads somewhere after the job ended: %q", got)
	}
	if !pollUntil(10*time.Second, func() bool { return len(hopMastersTo(e, slurmNode)) == 0 }) {
		t.Errorf("ssh masters to node1 after its job ended: %v", hopMastersTo(e, slurmNode))
	}

	// jt open submits a new job, which runs on node2.
	r2, stderr := e.openArgs(hostA, name, "--slurm", "--name", name, "--slurm-args", "--time=10 --cpus-per-task 1 --partition=two --nodelist="+slurmNode2, hostA)
	if r2.SlurmNode != slurmNode2 || r2.SlurmJob == r1.SlurmJob || r2.Status != "started" {
		t.Fatalf("jt open after the job ended: %+v; want a new job started on node2\n%s", r2, stderr)
	}
	mustAnswer(t, r2.URL)
	if got, err := fetch(fu); got != "proof of "+slurmNode2 {
		t.Errorf("through the restored forward: %q, %v; want node2's proof", got, err)
	}
	s := row(t, e.ls(hostA), hostA, name)
	if s.State != "up" || s.Job.Node != slurmNode2 || s.SlurmNode != slurmNode2 {
		t.Errorf("jt ls after the move: %q on %q/%q, want up on node2", s.State, s.Job.Node, s.SlurmNode)
	}
	if fr := e.fwRow(hostA, name); len(fr.Forwards) != 1 || fr.Forwards[0].State != "up" || fr.Forwards[0].LocalPort != local {
		t.Errorf("jt ls forwards after the move: %+v", fr.Forwards)
	}
	// The forward is recorded as asked (the node's address), not as an
	// address: nothing of node1 is left in the record.
	if data, _ := os.ReadFile(e.statePath()); strings.Contains(string(data), slurmNodeAddr) || !strings.Contains(string(data), `at = "node-address"`) {
		t.Errorf("the state records the forward by an address, or node1's:\n%s", data)
	}
	if m := hopMastersTo(e, slurmNode); len(m) != 0 {
		t.Errorf("ssh masters to node1 after the move: %v", m)
	}
	if m := hopMastersTo(e, slurmNode2); len(m) != 1 {
		t.Errorf("ssh masters to node2 after the move: %v, want one", m)
	}
	e.jt("close", "--kill", "--name", name, hostA)
}
