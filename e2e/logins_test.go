package e2e

// Two login nodes behind one name, one home (scripts/login-pair): the
// alias hostLogins lands on login1 or login2, as the test says (its
// ProxyCommand reads the node from a file), the way a round-robin DNS name
// lands on one machine today and another tomorrow. Both nodes' host keys
// are the alias's, as a site's round-robin name has them.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	hostLogins   = "logins"
	loginPairDir = "/etc/jt-login-pair"
)

var loginPair struct {
	once    sync.Once
	landing string // the file the alias's ProxyCommand reads the node from
	err     error
	missing string
}

// loginLog is node's sshd log.
func loginLog(node string) string { return "/var/log/jt-login-pair-" + node + ".log" }

// needLoginPair skips or fails the test without the login pair, and adds
// the alias to the box's ssh config on first use.
func needLoginPair(t *testing.T) {
	t.Helper()
	claimIn(t, "logins")
	needE2E(t)
	loginPairReady(t)
}

// loginPairReady is needLoginPair for a test claimed by another group.
func loginPairReady(t *testing.T) {
	t.Helper()
	groupLock(t, "logins")
	loginPair.once.Do(setupLoginPair)
	if loginPair.err != nil {
		t.Fatalf("login pair setup: %v", loginPair.err)
	}
	if loginPair.missing != "" {
		missingReq(t, loginPair.missing)
	}
	if out, err := exec.Command("../scripts/login-pair", "status").CombinedOutput(); err != nil {
		missingReq(t, "the login pair is not up (as root: scripts/login-pair start): "+string(out))
	}
}

func setupLoginPair() {
	var known strings.Builder
	for _, n := range []string{"login1", "login2"} {
		pub, err := os.ReadFile(filepath.Join(loginPairDir, n, "ssh_host_ed25519_key.pub"))
		if err != nil {
			loginPair.missing = "no login pair (as root: scripts/login-pair start)"
			return
		}
		f := strings.Fields(string(pub))
		if len(f) < 2 {
			loginPair.err = fmt.Errorf("malformed host key %q", pub)
			return
		}
		fmt.Fprintf(&known, "%s %s %s\n", hostLogins, f[0], f[1])
	}
	knownPath := filepath.Join(e2e.dir, "known_hosts_logins")
	if err := os.WriteFile(knownPath, []byte(known.String()), 0o600); err != nil {
		loginPair.err = err
		return
	}
	loginPair.landing = filepath.Join(e2e.dir, "logins-landing")
	if err := os.WriteFile(loginPair.landing, []byte("login1\n"), 0o600); err != nil {
		loginPair.err = err
		return
	}
	cf, err := os.OpenFile(e2e.box.ConfigPath, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		loginPair.err = err
		return
	}
	defer cf.Close()
	_, loginPair.err = fmt.Fprintf(cf, `Host %s
  ProxyCommand /bin/sh -c 'exec socat - "TCP:$(cat %s):22"'
  HostKeyAlias %s
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  LogLevel ERROR
`, hostLogins, loginPair.landing, hostLogins, userA, e2e.box.KeyPath, knownPath)
}

// land makes the alias's next connection reach node.
func land(t *testing.T, node string) {
	t.Helper()
	if err := os.WriteFile(loginPair.landing, []byte(node+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// onNode runs argv on a login node (as root).
func onNode(t *testing.T, node string, argv ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("../scripts/login-pair", append([]string{"run", node}, argv...)...).CombinedOutput()
	return string(out), err
}

// jupytersOn lists the live jupyter processes of userA on node.
func jupytersOn(t *testing.T, node string) []string {
	t.Helper()
	out, _ := onNode(t, node, "ps", "-u", userA, "-o", "pid=,stat=,args=")
	var live []string
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) >= 3 && !strings.HasPrefix(f[1], "Z") && strings.Contains(l, "jupyter") {
			live = append(live, l)
		}
	}
	return live
}

// killAllMasters kills e's master to the alias and its hops, as a dropped
// network would.
func killAllMasters(t *testing.T, e *env) {
	t.Helper()
	pids := hopMasters(e)
	if e.masterRunning(hostLogins) {
		pids = append(pids, e.masterPID(hostLogins))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitDead(t, pid)
	}
}

// loginCleanup ends what a test left on the pair: e's masters, userA's
// processes on both nodes, login1's sshd up again.
func loginCleanup(t *testing.T, envs ...*env) {
	t.Cleanup(func() {
		exec.Command("../scripts/login-pair", "sshd", "start", "login1").Run()
		for _, e := range envs {
			exec.Command("ssh", e.masterArgs("-O", "exit", hostLogins)...).Run()
			for _, pid := range hopMasters(e) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		for _, n := range []string{"login1", "login2"} {
			onNode(t, n, "pkill", "-KILL", "-u", userA)
		}
	})
}

// A session started on login1 is found again from login2: the same
// server (same pid, on login1), reached through login2's master by one
// more login (to login1, asking nothing); a kernel there says login1.
// Then a second laptop with no state, landing on login2, lists it, opens
// its console and stops it, all on login1.
func TestE2ELoginsReattachThroughOtherLogin(t *testing.T) {
	needLoginPair(t)
	e, laptop := newEnv(t), newEnv(t)
	loginCleanup(t, e, laptop)
	name := "rr" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)

	land(t, "login1")
	r := e.open(hostLogins, name)
	if r.Node != "login1" {
		t.Fatalf("open: node %q, want login1", r.Node)
	}
	if out, err := onNode(t, "login1", "cat", "/proc/"+strconv.Itoa(r.PID)+"/environ"); err != nil || !strings.Contains(out, "JUPYTER_RUNTIME_DIR=") {
		t.Fatalf("pid %d is not a jupyter of the session on login1: %v %q", r.PID, err, out)
	}
	if got := jupytersOn(t, "login2"); len(got) != 0 {
		t.Errorf("login2 runs jupyter: %v", got)
	}

	// Every master dies; the name lands on login2 now.
	killAllMasters(t, e)
	mustNotAnswer(t, r.URL)
	land(t, "login2")
	on1, on2 := accepted(t, loginLog("login1"), userA), accepted(t, loginLog("login2"), userA)
	again, stderr := e.openArgs(hostLogins, name, "--name", name, hostLogins)
	if again.Status != "running" || again.PID != r.PID || again.Node != "login1" {
		t.Errorf("reattach from login2: %+v, want running, pid %d, node login1; stderr:\n%s", again, r.PID, stderr)
	}
	if n1, n2 := accepted(t, loginLog("login1"), userA)-on1, accepted(t, loginLog("login2"), userA)-on2; n1 != 1 || n2 != 1 {
		t.Errorf("logins: %d to login1, %d to login2; want 1 and 1 (the hop rides login2's master)", n1, n2)
	}
	if got := kernelOutput(t, again.URL, "import socket; socket.gethostname()"); got != "'login1'" {
		t.Errorf("the kernel runs on %s, want 'login1'", got)
	}
	if s, _ := e.session(hostLogins, name); s.Node != "login1" || s.Hop == "" {
		t.Errorf("record %+v, want node login1 and its hop", s)
	}
	hop := hopMasters(e)
	if len(hop) != 1 || !listeningPorts(hop)[again.LocalPort] {
		t.Errorf("127.0.0.1:%d: want it held by the one hop master %v", again.LocalPort, hop)
	}
	// jt forward to a port on login1's loopback rides the same hop.
	web := exec.Command("../scripts/login-pair", "run", "login1", "runuser", "-u", userA, "--", "python3", "-m", "http.server", "--bind", "127.0.0.1", "18765")
	if err := web.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { web.Process.Kill(); web.Wait() })
	if !pollUntil(10*time.Second, func() bool {
		out, _ := onNode(t, "login1", "ss", "-ltnH", "sport = :18765")
		return strings.Contains(out, "127.0.0.1:18765")
	}) {
		t.Fatal("no web server on login1's 127.0.0.1:18765")
	}
	lp := freePort(t)
	e.jt("forward", "--name", name, "--local-port", strconv.Itoa(lp), hostLogins, "18765")
	if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(lp) + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET through jt forward to login1's 127.0.0.1:18765: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if !listeningPorts(hopMasters(e))[lp] {
		t.Errorf("127.0.0.1:%d of jt forward is not held by the hop master %v", lp, hopMasters(e))
	}
	if got := row(t, e.ls(hostLogins), hostLogins, name); got.State != "up" || got.Node != "login1" || got.PID != r.PID {
		t.Errorf("jt ls row %+v, want up on login1, pid %d", got, r.PID)
	}
	if stdout, _ := e.jt("ls", hostLogins); !strings.Contains(stdout, "NODE") || !strings.Contains(stdout, "login1") {
		t.Errorf("jt ls shows no NODE login1:\n%s", stdout)
	}

	// The name lands on login1 again: the session is reached directly,
	// one login and no hop.
	killAllMasters(t, e)
	land(t, "login1")
	on1, on2 = accepted(t, loginLog("login1"), userA), accepted(t, loginLog("login2"), userA)
	if back, _ := e.openArgs(hostLogins, name, "--name", name, hostLogins); back.Status != "running" || back.PID != r.PID || back.Node != "login1" {
		t.Errorf("reattach from login1: %+v, want running, pid %d, node login1", back, r.PID)
	}
	if n1, n2 := accepted(t, loginLog("login1"), userA)-on1, accepted(t, loginLog("login2"), userA)-on2; n1 != 1 || n2 != 0 {
		t.Errorf("logins: %d to login1, %d to login2; want 1 and 0", n1, n2)
	}
	if hop := hopMasters(e); len(hop) != 0 {
		t.Errorf("hop masters %v with the session on the login the master reached", hop)
	}
	if s, _ := e.session(hostLogins, name); s.Node != "login1" || s.Hop != "" {
		t.Errorf("record %+v, want node login1 and no hop", s)
	}

	// A second laptop, no state, landing on login2.
	got := row(t, laptop.ls(hostLogins), hostLogins, name)
	if got.State != "tunnel down" || got.Node != "login1" || got.PID != r.PID {
		t.Errorf("jt ls from a laptop with no state: %+v, want the server running on login1 (tunnel down here), pid %d", got, r.PID)
	}
	// The log is in the shared home: jt logs reads it from login2.
	if logs, _ := laptop.jt("logs", "--name", name, hostLogins); !strings.Contains(logs, "Jupyter") {
		t.Errorf("jt logs from login2 printed %q, want Jupyter's log", logs)
	}
	exit, pane := attachInTerminal(t, laptop, "C-a", "--name", name, hostLogins)
	if exit != "EXIT=0" || !strings.Contains(strings.ReplaceAll(pane, "\n", ""), "Jupyter") {
		t.Errorf("jt attach from login2: %s, want EXIT=0 and Jupyter's console; pane:\n%s", exit, pane)
	}
	mustAnswer(t, again.URL)
	_, stderr = laptop.jt("close", "--kill", "--name", name, hostLogins)
	if !strings.Contains(stderr, "stopped jupyter (pid "+strconv.Itoa(r.PID)+")") {
		t.Errorf("jt close --kill said %q", stderr)
	}
	if !pollUntil(10*time.Second, func() bool { return len(jupytersOn(t, "login1")) == 0 }) {
		t.Errorf("jupyter left on login1: %v", jupytersOn(t, "login1"))
	}
}

// login2 cannot reach login1 (its sshd is down): one error naming login1
// and why; nothing started on login2, the record unchanged.
func TestE2ELoginsOtherNodeUnreachable(t *testing.T) {
	needLoginPair(t)
	e := newEnv(t)
	loginCleanup(t, e)
	name := "ru" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)

	land(t, "login1")
	r := e.open(hostLogins, name)
	killAllMasters(t, e)
	before, ok := e.session(hostLogins, name)
	if !ok {
		t.Fatal("the session is not recorded")
	}
	if out, err := exec.Command("../scripts/login-pair", "sshd", "stop", "login1").CombinedOutput(); err != nil {
		t.Fatalf("stop login1's sshd: %v: %s", err, out)
	}
	land(t, "login2")
	stdout, stderr, code := e.run("open", "--no-browser", "--name", name, hostLogins)
	if code == 0 || stdout != "" {
		t.Errorf("jt open: exit %d, stdout %q; want a failure", code, stdout)
	}
	errLines := 0
	for _, l := range lines(stderr) {
		if strings.HasPrefix(l, "jt: error:") {
			errLines++
			if !strings.Contains(l, "runs on login1") || !strings.Contains(l, "cannot reach login1") {
				t.Errorf("the error does not name login1 and why: %q", l)
			}
		}
	}
	if errLines != 1 {
		t.Errorf("want one jt: error line, got %d:\n%s", errLines, stderr)
	}
	if got := jupytersOn(t, "login2"); len(got) != 0 {
		t.Errorf("jt open started jupyter on login2: %v", got)
	}
	after, ok := e.session(hostLogins, name)
	if !ok || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the record changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := jupytersOn(t, "login1"); len(got) == 0 {
		t.Errorf("the server (pid %d) on login1 is gone", r.PID)
	}
	// Its sshd back, the session is reached again.
	if out, err := exec.Command("../scripts/login-pair", "sshd", "start", "login1").CombinedOutput(); err != nil {
		t.Fatalf("start login1's sshd: %v: %s", err, out)
	}
	if again, _ := e.openArgs(hostLogins, name, "--name", name, hostLogins); again.PID != r.PID || again.Node != "login1" {
		t.Errorf("reattach with login1's sshd back: %+v, want pid %d on login1", again, r.PID)
	}
}

// The batch case on the same pair: a Slurm session submitted through
// login1, reattached through login2 after every master died: the same
// job and server, its node reached by the node hop through login2's
// master (one login to login2, one to the node).
func TestE2ELoginsSlurmThroughOtherLogin(t *testing.T) {
	needNodeSSH(t)
	loginPairReady(t)
	e := newEnv(t)
	loginCleanup(t, e)
	name := "rs" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	t.Cleanup(func() { scancelSession(t, userA, name) })

	land(t, "login1")
	on1, on2 := accepted(t, loginLog("login1"), userA), accepted(t, loginLog("login2"), userA)
	r, _ := e.openArgs(hostLogins, name, "--slurm", "--slurm-args", "--time=10", "--name", name, hostLogins)
	if r.SlurmNode != slurmNode || r.Exposure != "private" {
		t.Fatalf("open through login1: %+v, want a private session on %s", r, slurmNode)
	}
	if n1, n2 := accepted(t, loginLog("login1"), userA)-on1, accepted(t, loginLog("login2"), userA)-on2; n1 != 1 || n2 != 0 {
		t.Errorf("the open logged in %d times to login1, %d to login2; want 1 and 0", n1, n2)
	}

	killAllMasters(t, e)
	mustNotAnswer(t, r.URL)
	land(t, "login2")
	on2, hops := accepted(t, loginLog("login2"), userA), accepted(t, nodeSSHDLog, userA)
	again, stderr := e.openArgs(hostLogins, name, "--slurm", "--name", name, hostLogins)
	if again.Status != "running" || again.SlurmJob != r.SlurmJob || again.PID != r.PID || again.Exposure != "private" {
		t.Errorf("reattach through login2: %+v, want running, job %s, pid %d, private; stderr:\n%s", again, r.SlurmJob, r.PID, stderr)
	}
	if n, m := accepted(t, loginLog("login2"), userA)-on2, accepted(t, nodeSSHDLog, userA)-hops; n != 1 || m != 1 {
		t.Errorf("logins: %d to login2, %d to the node; want 1 and 1", n, m)
	}
	if got := kernelOutput(t, again.URL, "import socket; socket.gethostname()"); got != "'"+slurmNode+"'" {
		t.Errorf("the kernel runs on %s, want '%s'", got, slurmNode)
	}
	_, stderr = e.jt("close", "--kill", "--name", name, hostLogins)
	if !strings.Contains(stderr, "cancelled job "+r.SlurmJob) {
		t.Errorf("jt close --kill said %q", stderr)
	}
	if jobs := squeueJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, squeue still has %v", jobs)
	}
}
