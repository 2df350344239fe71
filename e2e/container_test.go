package e2e

// jt open --container: Jupyter in a directory image (the Debian 13 root
// file system of the trixie test host: Python 3.13, jupyter_server 2.15)
// on the Debian 12 test host, under rootless Podman and Charliecloud.

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// containerImage is the directory image; it is shared with the trixie
// host, so nothing may write into it (rootless runtimes cannot: it is
// root's).
const containerImage = "/var/cache/jt/trixie-root"

// needContainers skips (or, with JT_E2E=require, fails) without the
// image or the runtimes.
func needContainers(t *testing.T, runtimes ...string) {
	t.Helper()
	needE2E(t)
	if _, err := os.Stat(containerImage + "/usr/bin/jupyter-server"); err != nil {
		missingReq(t, "the trixie root file system "+containerImage+" (scripts/trixie-host start builds it)")
	}
	for _, rt := range runtimes {
		if _, err := exec.LookPath(rt); err != nil {
			missingReq(t, rt+" (apt-get install podman runc uidmap charliecloud-runtime)")
		}
	}
}

// usePodman gives the host's user a Podman that works here: this
// machine's cgroups are a v1/v2 hybrid, which crun (Podman's default on
// Debian 12) refuses; runc runs rootless containers on it.
func usePodman(t *testing.T, host string) {
	t.Helper()
	remote(t, host, `mkdir -p "$HOME/.config/containers" && printf '[engine]\nruntime = "runc"\n' >"$HOME/.config/containers/containers.conf"`+"\n")
}

// kernelRelease is what a kernel prints of its Python and its /etc/os-release.
const kernelRelease = `import sys
print('%d.%d' % sys.version_info[:2])
print([l.split('=')[1].strip() for l in open('/etc/os-release') if l.startswith('VERSION_CODENAME=')][0])`

func TestE2EContainerHost(t *testing.T) {
	needContainers(t, "podman", "ch-run")
	usePodman(t, hostA)
	if got := remote(t, hostA, `. /etc/os-release && echo "$VERSION_CODENAME"`+"\n"); strings.TrimSpace(got) != "bookworm" {
		t.Fatalf("the test host is %q; want bookworm (Debian 12), so that the image's trixie shows", got)
	}
	for _, rt := range []string{"podman", "charliecloud"} {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			containerSession(t, rt)
		})
	}
}

// containerSession proves one runtime: the kernel runs in the image, the
// token is on no command line, the socket is the user's alone, a reattach
// after kill -9 of the master finds the same server, and close --kill
// leaves nothing behind.
func containerSession(t *testing.T, rt string) {
	e := newEnv(t)
	name := "ct" + rt[:3]
	args := []string{"--name", name, "--lab", "--container", containerImage, "--container-runtime", rt, hostA}

	sampler := sampleCmdlines()
	r, _ := e.openArgs(hostA, name, args...)
	mustAnswer(t, r.URL)
	cmdlines, rounds := sampler.finish()
	if got, want := kernelOutput(t, r.URL, kernelRelease), "3.13\ntrixie\n"; got != want {
		t.Errorf("the kernel of the %s session printed %q; want %q (the image's Python and Debian 13, on a Debian 12 host)", rt, got, want)
	}

	// The token: on no command line, host's or container's (all share
	// this machine's process table).
	token := tokenOf(t, r.URL)
	// The sampler saw Jupyter in the container, and podman's run (ch-run
	// execs Jupyter in its place: its own command line lasts an instant).
	seen := map[string]string{"jupyter": `jupyter-lab\x00--no-browser\x00--sock=[^\x00]*/sessions/` + name + `/`}
	if rt == "podman" {
		seen["podman"] = `^podman\x00run\x00--rm\x00--name\x00jt-` + name + `-`
	}
	for what, expr := range seen {
		re := regexp.MustCompile(expr)
		if !slices.ContainsFunc(cmdlines, re.MatchString) {
			t.Errorf("in %d rounds the sampler never saw %s's command line (/%s/): it cannot vouch for it", rounds, what, expr)
		}
	}
	for _, c := range cmdlines {
		if strings.Contains(c, token) {
			t.Errorf("the token is on a command line: %q", strings.ReplaceAll(c, "\x00", " "))
		}
	}

	s := row(t, e.ls(hostA), hostA, name)
	if s.State != "up" || s.Mode != "socket" || s.RemoteSock == "" {
		t.Fatalf("jt ls: %s is %q mode %q socket %q; want up on the session's unix socket", name, s.State, s.Mode, s.RemoteSock)
	}
	if got := pyRun(t, hostA, pyConnect, s.RemoteSock); got != "CONNECTED" {
		t.Fatalf("%s (the owner) connecting to %s: %s; want CONNECTED", userA, s.RemoteSock, got)
	}
	if got := pyRun(t, hostOther, pyConnect, s.RemoteSock); got != "EACCES" {
		t.Errorf("%s connecting to %s's server socket %s: %s; want EACCES", userOther, userA, s.RemoteSock, got)
	}

	// kill -9 of the master: the next open reattaches to the same server.
	pid := e.masterPID(hostA)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the master (pid %d): %v", pid, err)
	}
	waitDead(t, pid)
	again, _ := e.openArgs(hostA, name, args...)
	if again.PID != r.PID || again.Status != "running" {
		t.Errorf("open after kill -9 of the master: pid %d status %q; want pid %d running (the same server)", again.PID, again.Status, r.PID)
	}
	mustAnswer(t, again.URL)

	if rt == "podman" {
		// The control for the check below: podman lists the container now.
		if out := remote(t, hostA, "podman ps -a --format '{{.Names}}'\n"); !strings.Contains(out, "jt-"+name+"-") {
			t.Errorf("podman ps -a as %s lists %q; want the session's container jt-%s-…", userA, out, name)
		}
	}

	// close --kill: no container, no server, no socket.
	e.jt("close", "--kill", "--name", name, hostA)
	out := remote(t, hostA, `ps -u "$(id -u)" -o pid=,args= | grep -F -- `+shellQuote("sessions/"+name+"/")+` | grep -v grep
[ -e `+shellQuote(s.RemoteSock)+` ] && echo "socket left"
podman ps -a --format '{{.Names}}' 2>/dev/null | grep -x -- `+shellQuote("jt-"+name+"-.*")+`
true
`)
	if strings.TrimSpace(out) != "" {
		t.Errorf("after jt close --kill the %s session left: %s", rt, out)
	}
	if pidAlive(r.PID) {
		t.Errorf("after jt close --kill, the server (pid %d) still runs", r.PID)
	}
}

// tokenOf is the token of a session's URL.
func tokenOf(t *testing.T, u string) string {
	t.Helper()
	_, token := parseURL(t, u)
	if len(token) < 32 {
		t.Fatalf("token %q is too short to search for", token)
	}
	return token
}

// In a Slurm job: the job script starts the container on the compute
// node (a network host of its own), and jt close --kill cancels the job
// with the container and its server.
func TestE2EContainerSlurm(t *testing.T) {
	needSlurm(t)
	needContainers(t, "podman", "ch-run")
	usePodman(t, hostA)
	for _, rt := range []string{"charliecloud", "podman"} {
		t.Run(rt, func(t *testing.T) {
			e := newEnv(t)
			name := "cts" + rt[:3]
			scancelSession(t, userA, name)
			r := e.openSlurm(hostA, name, "--lab", "--container", containerImage, "--container-runtime", rt, "--slurm-args", "--time=10")
			mustAnswer(t, r.URL)
			if got, want := kernelOutput(t, r.URL, kernelRelease), "3.13\ntrixie\n"; got != want {
				t.Errorf("the kernel of the %s job printed %q; want %q", rt, got, want)
			}
			for _, c := range cmdlinesWith(tokenOf(t, r.URL)) {
				t.Errorf("the token is on a command line: %q", c)
			}
			if self := netns(t, os.Getpid()); netns(t, r.PID) == self {
				t.Errorf("jupyter (pid %d) runs in the login node's network namespace, not on the node", r.PID)
			}
			if rt == "podman" {
				if out := remote(t, hostA, "podman ps -a --format '{{.Names}}'\n"); !strings.Contains(out, "jt-"+name+"-") {
					t.Errorf("podman ps -a as %s lists %q; want the job's container jt-%s-…", userA, out, name)
				}
			}
			e.jt("close", "--kill", "--name", name, hostA)
			if jobs := squeueJobs(t, userA, name); len(jobs) != 0 {
				t.Errorf("after jt close --kill, squeue still has %v", jobs)
			}
			waitDead(t, r.PID)
			if !pollUntil(30*time.Second, func() bool {
				return strings.TrimSpace(remote(t, hostA, "podman ps -a --format '{{.Names}}' | grep -F -- "+shellQuote("jt-"+name+"-")+"; true\n")) == ""
			}) {
				t.Errorf("after jt close --kill the job's container is still in podman ps -a")
			}
		})
	}
}

// jt doctor --container: the image Jupyter would run in is checked where
// it would run; a missing image and an image without Jupyter are each a
// FAIL line with its fix.
func TestE2EContainerDoctor(t *testing.T) {
	needContainers(t, "podman", "ch-run")
	usePodman(t, hostA)
	e := newEnv(t)
	// An image with a shell and nothing else: dash and the libraries it needs.
	remote(t, hostA, `set -e
img=$HOME/nojupyter
rm -rf "$img"
mkdir -p "$img/bin" "$img/dev" "$img/proc" "$img/sys" "$img/tmp" "$img/home" "$img/etc" "$img/run"
cp /bin/dash "$img/bin/sh"
for l in $(ldd /bin/dash | grep -o '/[^ ]*'); do mkdir -p "$img${l%/*}" && cp "$l" "$img$l"; done
: >"$img/etc/passwd"; : >"$img/etc/group"
`)
	t.Cleanup(func() { remoteRun(hostA, `rm -rf "$HOME/nojupyter"`+"\n") })

	for _, rt := range []string{"podman", "charliecloud"} {
		stdout, _, code := e.run("doctor", "--lab", "--container", containerImage, "--container-runtime", rt, hostA)
		if code != 0 || !strings.Contains(stdout, "ok   the image "+containerImage+" has jupyter lab (found: ") {
			t.Errorf("jt doctor --container %s --container-runtime %s: exit %d; want 0 and the image's JupyterLab:\n%s", containerImage, rt, code, stdout)
		}
		stdout, _, code = e.run("doctor", "--container", "/nonexistent/image", "--container-runtime", rt, hostA)
		if code != 1 || !strings.Contains(stdout, "FAIL the image /nonexistent/image does not exist on ") || !strings.Contains(stdout, "check the path given with --container") {
			t.Errorf("jt doctor with a missing image (%s): exit %d; want 1, a FAIL line and its fix:\n%s", rt, code, stdout)
		}
		stdout, _, code = e.run("doctor", "--container", "~/nojupyter", "--container-runtime", rt, hostA)
		if code != 1 || !strings.Contains(stdout, "FAIL the image "+e2e.box.Home(userA)+"/nojupyter has no Jupyter") || !strings.Contains(stdout, "install Jupyter in the image") {
			t.Errorf("jt doctor with an image without Jupyter (%s): exit %d; want 1, a FAIL line and its fix:\n%s", rt, code, stdout)
		}
	}
}

// --tcp in a container: Jupyter listens on the host's 127.0.0.1 only (the
// container shares the host's network; no port is published).
func TestE2EContainerTCP(t *testing.T) {
	needContainers(t, "podman")
	usePodman(t, hostA)
	e := newEnv(t)
	r, _ := e.openArgs(hostA, "cttcp", "--name", "cttcp", "--lab", "--tcp", "--container", containerImage, "--container-runtime", "podman", hostA)
	mustAnswer(t, r.URL)
	if r.RemotePort <= 0 {
		t.Fatalf("jt open --tcp --container: remote_port %d", r.RemotePort)
	}
	if got := kernelOutput(t, r.URL, kernelRelease); got != "3.13\ntrixie\n" {
		t.Errorf("the kernel printed %q; want the image's Python 3.13 and trixie", got)
	}
	onlyLoopback(t, "ss -ltn on the host (Jupyter in the container)", ssListeners(t, hostA, r.RemotePort), r.RemotePort)
}

// --idle in a container: jt's watcher runs on the host beside the
// container (they share the PID namespace, so it reads the kernels in
// /proc) and never releases a kernel that computes; once the cell ends,
// the kernel and then the server go, and the container with them.
func TestE2EContainerIdle(t *testing.T) {
	needContainers(t, "podman")
	usePodman(t, hostA)
	e := newEnv(t)
	remote(t, hostA, `rm -rf "$HOME/.jt-idle-e2e" && mkdir "$HOME/.jt-idle-e2e"`+"\n")
	t.Cleanup(func() { remoteRun(hostA, `rm -rf "$HOME/.jt-idle-e2e"`+"\n") })
	s := startIdleSession(t, e, hostA, "ctidle", localHome(t, hostA), false, true, "--lab", "--container", containerImage, "--container-runtime", "podman")
	lsChecked := false
	deadline := time.Now().Add(4*idlePeriod + 3*idlePeriod + 2*time.Minute)
	for s.goneAt.IsZero() {
		now := time.Now()
		s.observe(t, now)
		if !lsChecked && now.Sub(s.cellsAt) > idlePeriod+4*time.Second && s.cellsRun() {
			got := row(t, e.ls(hostA), hostA, "ctidle")
			if s.cellsRun() {
				if got.State != "up" || got.Activity != "busy: kernel computing" {
					t.Errorf("jt ls while the cell computes: state %q, activity %q; want up, busy: kernel computing\n%s", got.State, got.Activity, s.watcherLogs())
				}
				lsChecked = true
			}
		}
		if now.After(deadline) {
			t.Fatalf("the session is still up after its cell ended and the idle periods passed; logs:\n%s", s.watcherLogs())
		}
		time.Sleep(time.Second)
	}
	if !lsChecked {
		t.Errorf("jt ls was never asked while the cell computed past the idle period: the test checked nothing there")
	}
	if !pollUntil(30*time.Second, func() bool { return row(t, e.ls(hostA), hostA, "ctidle").State == "stopped (idle)" }) {
		t.Errorf("jt ls after the release: %q; want stopped (idle)", row(t, e.ls(hostA), hostA, "ctidle").State)
	}
	if !pollUntil(30*time.Second, func() bool {
		return strings.TrimSpace(remote(t, hostA, "podman ps -a --format '{{.Names}}' | grep -F jt-ctidle-; true\n")) == ""
	}) {
		t.Errorf("after the idle release the container is still in podman ps -a")
	}
}

// In a Grid Engine job: the shared job script starts the container on
// the execution host too; jt close --kill deletes the job and its server.
// (Podman is not proven here: qdel ends a job with SIGKILL, which conmon does
// not survive, and podman's record of the container stays; the
// README says so.)
func TestE2EContainerSGE(t *testing.T) {
	needSGE(t)
	needContainers(t, "ch-run")
	e := newEnv(t)
	name := "ctsge"
	qdelSession(t, userA, name)
	r := e.openSGE(hostA, name, "--lab", "--container", containerImage, "--container-runtime", "charliecloud", "--scheduler-args", "-l h_rt=600")
	mustAnswer(t, r.URL)
	if got, want := kernelOutput(t, r.URL, kernelRelease+"\nimport socket\nprint(socket.gethostname())"), "3.13\ntrixie\n"+sgeNode+"\n"; got != want {
		t.Errorf("the kernel of the Grid Engine job printed %q; want %q (the image's Python and Debian 13, on the execution host)", got, want)
	}
	for _, c := range cmdlinesWith(tokenOf(t, r.URL)) {
		t.Errorf("the token is on a command line: %q", c)
	}
	e.jt("close", "--kill", "--name", name, hostA)
	if jobs := qstatJobs(t, userA, name); len(jobs) != 0 {
		t.Errorf("after jt close --kill, qstat still has %v", jobs)
	}
	waitDead(t, r.PID)
}
