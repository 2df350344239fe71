package e2e

// A batch session nobody else can reach: Jupyter on a unix socket in a
// 0700 directory on the compute node, reached by jt's own ssh master to
// the node (through the login node's master), against the Slurm test
// cluster, whose node runs an sshd of its own (scripts/slurm-cluster).

import (
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

const (
	nodeNS      = "jtnode1"
	nodeSSHDLog = "/var/log/jt-node-sshd-node1.log"
)

// needNodeSSH is needSlurm and the node's sshd on port 22, as
// scripts/slurm-cluster sets it up now (idempotent; the harness holds the
// e2e lock that guards the cluster).
func needNodeSSH(t *testing.T) {
	t.Helper()
	needSlurm(t)
	if os.Geteuid() == 0 {
		if out, err := exec.Command("../scripts/slurm-cluster", "node-sshd", "start").CombinedOutput(); err != nil {
			t.Logf("scripts/slurm-cluster node-sshd start: %v\n%s", err, out)
		}
	}
	if !nodeSSHDListens() {
		missingReq(t, "node1 runs no sshd on port 22; run scripts/slurm-cluster start")
	}
}

func nodeSSHDListens() bool {
	out, _ := exec.Command("nsenter", "--net=/run/netns/"+nodeNS, "ss", "-ltnH", "sport = :22").Output()
	return strings.Contains(string(out), ":22 ")
}

// nodeSSHD starts or stops the node's sshd (the harness holds the e2e
// lock, which guards the cluster).
func nodeSSHD(t *testing.T, action string) {
	t.Helper()
	out, err := exec.Command("../scripts/slurm-cluster", "node-sshd", action).CombinedOutput()
	if err != nil {
		t.Fatalf("slurm-cluster node-sshd %s: %v: %s", action, err, out)
	}
}

// accepted counts the logins sshd logged for user in log.
func accepted(t *testing.T, log, user string) int {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(data), "Accepted publickey for "+user+" ")
}

// hopMasters lists the live ssh masters of this env to a node.
func hopMasters(e *env) []int {
	var pids []int
	ps, _ := processes()
	for _, p := range ps {
		if filepath.Base(p.argv()[0]) == "ssh" && slices.Contains(p.argv(), "-fN") && procLive(p.pid) &&
			strings.Contains(p.cmdline, "ControlPath="+filepath.Join(e.Runtime, "jt")+"/nd-") {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// The private socket on the node, end to end: a kernel runs; nothing
// listens on TCP for the session on the node or the login node; another
// user is refused by the socket's directory; the node hop logs in once and
// asks nothing; both masters killed, jt open reattaches to the same job
// and server; jt close --kill ends the job and every master.
func TestE2ESlurmPrivate(t *testing.T) {
	needNodeSSH(t)
	e := newEnv(t)
	name := "priv1"
	scancelSession(t, userA, name)
	logins, hops := accepted(t, e2e.box.LogPath, userA), accepted(t, nodeSSHDLog, userA)

	r, stderr := e.openArgs(hostA, name, "--slurm", "--slurm-args", "--time=10", "--name", name, hostA)
	if r.Exposure != "private" || r.Fallback != "" || strings.Contains(stderr, "token-only") || r.SlurmNode != slurmNode {
		t.Errorf("open: exposure %q, fallback %q, node %q; stderr:\n%s", r.Exposure, r.Fallback, r.SlurmNode, stderr)
	}
	if got := runKernel(t, r.URL); got != "2" {
		t.Errorf("kernel evaluated 1+1 to %q, want 2", got)
	}
	if self := netns(t, os.Getpid()); netns(t, r.PID) == self {
		t.Errorf("jupyter (pid %d) runs in the login node's network namespace", r.PID)
	}
	s, ok := e.session(hostA, name)
	if !ok || s.Mode != "socket" || s.RemotePort != 0 || s.RemoteHost != "" || s.Job.Hop == "" || !strings.HasPrefix(s.RemoteSock, "/tmp/jt-") {
		t.Fatalf("state %+v, want a socket under /tmp/jt-… on the node, held by a node hop", s)
	}
	dir := filepath.Dir(s.RemoteSock)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != uidOf(t, userA) {
		t.Errorf("socket directory %s: %v %v, want 0700 owned by %s", dir, fi, err, userA)
	}

	// On the node nothing listens on TCP for the session but the kernels'
	// own loopback ports; the server itself listens on none (the node's
	// daemons, sshd and slurmd, are the cluster's).
	out, err := exec.Command("nsenter", "--net=/run/netns/"+nodeNS, "ss", "-ltnpH").CombinedOutput()
	if err != nil {
		t.Fatalf("ss in %s: %v: %s", nodeNS, err, out)
	}
	for _, l := range lines(string(out)) {
		f := strings.Fields(l)
		daemon := strings.Contains(l, "((\"sshd\",") || strings.Contains(l, "((\"slurmd\",")
		if strings.Contains(l, "pid="+strconv.Itoa(r.PID)+",") || len(f) < 4 || !(strings.HasPrefix(f[3], "127.0.0.1:") || daemon) {
			t.Errorf("on the node a TCP listener for the session: %s", l)
		}
	}
	// Another user of the node is refused by the directory, token or not.
	cmd := exec.Command("nsenter", "--net=/run/netns/"+nodeNS, "runuser", "-u", userOther, "--", "python3", "-c",
		"import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])", s.RemoteSock)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "PermissionError") {
		t.Errorf("%s connecting to %s: %v: %s; want EACCES", userOther, s.RemoteSock, err, out)
	}
	// The login node listens for nothing of it; the local port is the hop's.
	if ports := listeningPorts(sshdPIDsOf(t, userA)); len(ports) != 0 {
		t.Errorf("the login node's sshd of %s listens on %v", userA, ports)
	}
	hop := hopMasters(e)
	if len(hop) != 1 || !listeningPorts(hop)[r.LocalPort] || listeningPorts([]int{e.masterPID(hostA)})[r.LocalPort] {
		t.Errorf("127.0.0.1:%d: want it held by the one node master %v, not the login's", r.LocalPort, hop)
	}
	// One login each: the hop rode the login's master and asked nothing.
	if n, m := accepted(t, e2e.box.LogPath, userA)-logins, accepted(t, nodeSSHDLog, userA)-hops; n != 1 || m != 1 {
		t.Errorf("logins: %d to the login node, %d to the node; want 1 and 1", n, m)
	}
	if got := row(t, e.ls(), hostA, name); got.State != "up" || got.Exposure != "private" {
		t.Errorf("jt ls row %+v, want up and private", got)
	}
	if stdout, _ := e.jt("ls"); !strings.Contains(stdout, slurmNode+":socket") {
		t.Errorf("jt ls does not show %s:socket:\n%s", slurmNode, stdout)
	}

	// Both masters die: jt open reattaches to the same job and server.
	for _, pid := range append(hop, e.masterPID(hostA)) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitDead(t, pid)
	}
	mustNotAnswer(t, r.URL)
	again, _ := e.openArgs(hostA, name, "--slurm", "--name", name, hostA)
	if again.Status != "running" || again.SlurmJob != r.SlurmJob || again.PID != r.PID || again.Exposure != "private" {
		t.Errorf("reattach: %+v, want running, job %s, pid %d, private", again, r.SlurmJob, r.PID)
	}
	mustAnswer(t, again.URL)

	// jt attach opens the job's screen window on the node, through the
	// node hop (no new login): Jupyter's console, naming its socket's
	// private directory; detached, the server runs on.
	hops = accepted(t, nodeSSHDLog, userA)
	exit, pane := attachInTerminal(t, e, "C-a", "--name", name, hostA)
	// The window is 80 columns until attached: a long line may be wrapped.
	if exit != "EXIT=0" || !strings.Contains(strings.ReplaceAll(pane, "\n", ""), filepath.Base(dir)) {
		t.Errorf("jt attach: %s, want EXIT=0 and Jupyter's console naming %s; pane:\n%s", exit, filepath.Base(dir), pane)
	}
	if n := accepted(t, nodeSSHDLog, userA) - hops; n != 0 {
		t.Errorf("jt attach logged in to the node %d times, want 0 (it rides the node hop)", n)
	}
	mustAnswer(t, again.URL)

	_, stderr = e.jt("close", "--kill", "--name", name, hostA)
	if !strings.Contains(stderr, "cancelled job "+r.SlurmJob) {
		t.Errorf("jt close --kill said %q", stderr)
	}
	if jobs := squeueJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, squeue still has %v", jobs)
	}
	liveLogin := func() []int { return slices.DeleteFunc(jtMasters(e, hostA), func(p int) bool { return !procLive(p) }) }
	if !pollUntil(10*time.Second, func() bool { return len(hopMasters(e)) == 0 && len(liveLogin()) == 0 }) {
		t.Errorf("masters left after jt close --kill: node %v, login %v", hopMasters(e), liveLogin())
	}
	if !pollUntil(10*time.Second, func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) }) {
		t.Errorf("the socket directory %s outlives the job", dir)
	}
}

// uidOf is user's uid.
func uidOf(t *testing.T, user string) uint32 {
	t.Helper()
	out, err := exec.Command("id", "-u", user).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return uint32(n)
}

// A node that refuses ssh: jt falls back to TCP and the token and says so
// everywhere; with private = true it refuses with one line, cancelling the
// job it submitted and nothing else.
func TestE2ESlurmPrivateFallback(t *testing.T) {
	needNodeSSH(t)
	e := newEnv(t)
	name, strict := "privfb", "privno"
	scancelSession(t, userA, name)
	scancelSession(t, userA, strict)
	nodeSSHD(t, "stop")
	t.Cleanup(func() { nodeSSHD(t, "start") })

	r, stderr := e.openArgs(hostA, name, "--slurm", "--slurm-args", "--time=10", "--name", name, hostA)
	if r.Exposure != "token-only" || !strings.Contains(r.Fallback, "no ssh to "+slurmNode) || !strings.Contains(stderr, "token-only") {
		t.Errorf("fallback open: exposure %q, fallback %q; stderr:\n%s", r.Exposure, r.Fallback, stderr)
	}
	mustAnswer(t, r.URL)
	if got := row(t, e.ls(), hostA, name); got.State != "up" || got.Exposure != "token-only" {
		t.Errorf("jt ls row %+v, want up and token-only", got)
	}
	if stdout, _ := e.jt("ls"); !strings.Contains(stdout, ",token-only") {
		t.Errorf("jt ls does not say token-only:\n%s", stdout)
	}

	// jt attach needs ssh to the node: one clear line, and a way to follow
	// the output instead.
	if exit, pane := attachRefused(t, e, "--name", name, hostA); exit != "EXIT=1" || !strings.Contains(pane, "by ssh to "+slurmNode) || !strings.Contains(pane, "jt logs -f") {
		t.Errorf("jt attach to a node without sshd: %s; pane:\n%s\nwant EXIT=1, why and jt logs -f", exit, pane)
	}

	// jt doctor says what the site would need.
	if stdout, _, _ := e.run("doctor", "--slurm", hostA); !strings.Contains(stdout, "pam_slurm_adopt") || !strings.Contains(stdout, "/etc/ssh/ssh_known_hosts") {
		t.Errorf("jt doctor --slurm does not say what a private server needs:\n%s", stdout)
	}

	e.useConfig("[hosts." + hostA + "]\nprivate = true\n")
	e.opened[[2]string{hostA, strict}] = true
	_, stderr, code := e.run("open", "--no-browser", "--slurm", "--name", strict, hostA)
	errs := 0
	for _, l := range lines(stderr) {
		if strings.HasPrefix(l, "jt: error: ") {
			errs++
		}
	}
	if code != 1 || errs != 1 || !strings.Contains(stderr, "jt: error: private: no ssh to "+slurmNode) {
		t.Errorf("private open: exit %d, stderr:\n%s\nwant exit 1 and one error line", code, stderr)
	}
	if jobs := squeueJobs(t, userA, strict); len(jobs) != 0 {
		t.Errorf("the refused open left its job: %v", jobs)
	}
	if e.recorded(hostA, strict) {
		t.Errorf("a refused open was recorded")
	}
	if jobs := squeueJobs(t, userA, name); len(jobs) != 1 || !strings.HasSuffix(jobs[0], " RUNNING") {
		t.Errorf("the other session's job: %v, want it running still", jobs)
	}

	// The node takes ssh again: jt attach and jt ls --ports reach the
	// token-only session's node through an ssh master made for each, which
	// goes with it.
	nodeSSHD(t, "start")
	if exit, pane := attachInTerminal(t, e, "C-a", "--name", name, hostA); exit != "EXIT=0" || !strings.Contains(pane, "Jupyter") {
		t.Errorf("jt attach to the token-only session: %s; pane:\n%s", exit, pane)
	}
	ports, _ := e.jt("ls", "--ports", "--name", name, hostA)
	if !strings.Contains(ports, strconv.Itoa(r.RemotePort)+" ") {
		t.Errorf("jt ls --ports of the token-only session does not list Jupyter's port %d:\n%s", r.RemotePort, ports)
	}
	if !pollUntil(10*time.Second, func() bool { return len(hopMasters(e)) == 0 }) {
		t.Errorf("node masters left after attach and ls --ports: %v", hopMasters(e))
	}
}

// The same for Grid Engine, behind the same scheduler interface: the job
// on sgenode1 listens on a private socket there, reached by ssh to it.
func TestE2ESGEPrivate(t *testing.T) {
	needSGE(t)
	listens := func() bool {
		out, _ := exec.Command("nsenter", "--net=/run/netns/jtsge1", "ss", "-ltnH", "sport = :22").Output()
		return strings.Contains(string(out), ":22 ")
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("../scripts/sge-cluster", "node-sshd", "start").CombinedOutput(); err != nil {
			t.Logf("scripts/sge-cluster node-sshd start: %v\n%s", err, out)
		}
	}
	if !listens() {
		missingReq(t, sgeNode+" runs no sshd on port 22; run scripts/sge-cluster start")
	}
	e := newEnv(t)
	name := "sgepriv"
	r := e.openSGE(hostA, name, "--scheduler-args", "-l h_rt=600")
	if r.Exposure != "private" || r.Fallback != "" {
		t.Errorf("open: exposure %q, fallback %q, want private", r.Exposure, r.Fallback)
	}
	if got := kernelOutput(t, r.URL, "import socket; socket.gethostname()"); got != "'"+sgeNode+"'" {
		t.Errorf("the kernel runs on %s, want %s", got, sgeNode)
	}
	s, ok := e.session(hostA, name)
	// Under the job's own TMPDIR there, which Grid Engine makes per job.
	if !ok || s.Mode != "socket" || s.Job.Hop == "" || !strings.HasPrefix(s.RemoteSock, "/tmp/") || !strings.Contains(s.RemoteSock, "/jt-") {
		t.Fatalf("state %+v, want a socket on %s held by a node hop", s, sgeNode)
	}
	cmd := exec.Command("nsenter", "--net=/run/netns/jtsge1", "runuser", "-u", userOther, "--", "python3", "-c",
		"import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])", s.RemoteSock)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "PermissionError") {
		t.Errorf("%s connecting to %s: %v: %s; want EACCES", userOther, s.RemoteSock, err, out)
	}
	if exit, pane := attachInTerminal(t, e, "C-a", "--name", name, hostA); exit != "EXIT=0" || !strings.Contains(strings.ReplaceAll(pane, "\n", ""), filepath.Base(filepath.Dir(s.RemoteSock))) {
		t.Errorf("jt attach: %s, want EXIT=0 and Jupyter's console naming its socket's directory; pane:\n%s", exit, pane)
	}
	if _, stderr := e.jt("close", "--kill", "--name", name, hostA); !strings.Contains(stderr, r.Job.ID) {
		t.Errorf("jt close --kill said %q", stderr)
	}
	if !pollUntil(10*time.Second, func() bool { return len(hopMasters(e)) == 0 }) {
		t.Errorf("node masters left after jt close --kill: %v", hopMasters(e))
	}
	if jobs := qstatJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("qstat after jt close --kill: %v", jobs)
	}
}
