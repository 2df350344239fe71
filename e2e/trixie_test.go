package e2e

// The second kind of host: Debian 13 (trixie) with jupyter_server 2 and
// JupyterLab 4, built and started by scripts/trixie-host (as root: a
// chrooted sshd in the network namespace jttrixie, 10.79.0.2). This file
// makes it one more host of the harness: its test users get the box's
// throwaway key, and the box's ssh config gets their aliases, so the same
// helpers (remote, jt runs, the tunnel) work against it.

import (
	"bufio"
	"fmt"
	"net"
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

// What scripts/trixie-host makes.
const (
	trixieRoot = "/var/cache/jt/trixie-root"
	trixieAddr = "10.79.0.2"

	userTrixie      = "jtt1"
	userTrixieOther = "jttother"
	hostTrixie      = "hosttrixie"
	hostTrixieOther = "hosttrixieother"
)

var trixie struct {
	once    sync.Once
	err     error
	missing string
	ready   bool // its aliases are in the box's ssh config
}

// trixieAliases are the trixie host's aliases once it is set up.
func trixieAliases() []string {
	if !trixie.ready {
		return nil
	}
	return []string{hostTrixie, hostTrixieOther}
}

// needTrixie skips or fails the test without the trixie host, and readies
// its users on first use.
func needTrixie(t *testing.T) {
	t.Helper()
	claimIn(t, "trixie")
	needE2E(t)
	// Its users are the same for every worker of a parallel run.
	groupLock(t, "trixie")
	trixie.once.Do(setupTrixie)
	if trixie.err != nil {
		t.Fatalf("trixie host setup: %v", trixie.err)
	}
	if trixie.missing != "" {
		missingReq(t, trixie.missing)
	}
	if err := ownTrixieUsers(); err != nil {
		t.Fatalf("trixie host users: %v", err)
	}
}

// trixieOwnerPath names the worker slot whose box key the trixie users
// authorize now.
const trixieOwnerPath = "/tmp/jt-e2e-group-trixie.owner"

// ownTrixieUsers resets the trixie users for this worker when another
// worker's tests used them last (with the group lock held): no process of
// its left, this box's key authorized.
func ownTrixieUsers() error {
	if b, err := os.ReadFile(trixieOwnerPath); err == nil && string(b) == e2e.dir {
		return nil
	}
	pub, err := os.ReadFile(e2e.box.KeyPath + ".pub")
	if err != nil {
		return err
	}
	for _, u := range []string{userTrixie, userTrixieOther} {
		if err := resetTrixieUser(u, pub); err != nil {
			return fmt.Errorf("user %s: %w", u, err)
		}
	}
	return os.WriteFile(trixieOwnerPath, []byte(e2e.dir), 0o600)
}

func setupTrixie() {
	hostKey, err := os.ReadFile(filepath.Join(trixieRoot, "etc/jt/ssh_host_ed25519_key.pub"))
	if err != nil || !sshBanner(trixieAddr+":22") {
		trixie.missing = "no trixie test host at " + trixieAddr + " (as root: scripts/trixie-host start)"
		return
	}
	f := strings.Fields(string(hostKey))
	if len(f) < 2 {
		trixie.err = fmt.Errorf("malformed host key %q", hostKey)
		return
	}
	known := filepath.Join(e2e.dir, "known_hosts_trixie")
	if err := os.WriteFile(known, []byte(trixieAddr+" "+f[0]+" "+f[1]+"\n"), 0o600); err != nil {
		trixie.err = err
		return
	}
	// sshbox wrote its config at Start and never rewrites it.
	cf, err := os.OpenFile(e2e.box.ConfigPath, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		trixie.err = err
		return
	}
	defer cf.Close()
	for alias, user := range map[string]string{hostTrixie: userTrixie, hostTrixieOther: userTrixieOther} {
		_, err = fmt.Fprintf(cf, `Host %s
  HostName %s
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  LogLevel ERROR
`, alias, trixieAddr, user, e2e.box.KeyPath, known)
		if err != nil {
			trixie.err = err
			return
		}
	}
	trixie.ready = true
}

// stopTrixieUsers kills what the trixie users still run at the end, as
// the box's Stop does for its own users.
func stopTrixieUsers() {
	if !trixie.ready {
		return
	}
	withGroup("trixie", stopTrixieUsersLocked)
}

func stopTrixieUsersLocked() {
	if b, err := os.ReadFile(trixieOwnerPath); err != nil || string(b) != e2e.dir {
		return // another worker's tests use them now
	}
	os.Remove(trixieOwnerPath)
	for _, u := range []string{userTrixie, userTrixieOther} {
		if uid, _, _, err := trixiePasswd(u); err == nil {
			if err := killUID(uid); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: stop trixie user %s: %v\n", u, err)
			}
		}
	}
}

// sshBanner reports whether addr greets with an SSH banner.
func sshBanner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "SSH-2.0")
}

// resetTrixieUser does for a user of the trixie root what sshbox does for
// its own: no process left, a home without earlier runs' files, and the
// box's key as its only authorized key.
func resetTrixieUser(name string, pub []byte) error { return resetUserIn(trixieRoot, name, pub) }

// resetUserIn resets user name of the root file system root (a test host's).
func resetUserIn(root, name string, pub []byte) error {
	uid, gid, home, err := passwdIn(root, name)
	if err != nil {
		return err
	}
	if err := killUID(uid); err != nil {
		return err
	}
	h := filepath.Join(root, home)
	for _, p := range []string{
		filepath.Join(h, ".local"), filepath.Join(h, ".jupyter"), filepath.Join(h, ".ipython"),
		filepath.Join(h, ".ssh"), filepath.Join(h, "venvs"), filepath.Join(h, "lt"),
		filepath.Join(root, "run/screen", "S-"+name),
		filepath.Join(root, "tmp", "tmux-"+strconv.Itoa(uid)),
	} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	ssh := filepath.Join(h, ".ssh")
	if err := os.Mkdir(ssh, 0o700); err != nil {
		return err
	}
	keys := filepath.Join(ssh, "authorized_keys")
	if err := os.WriteFile(keys, pub, 0o600); err != nil {
		return err
	}
	for _, p := range []string{h, ssh, keys} {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return os.Chmod(h, 0o700)
}

// trixiePasswd reads a user's entry from the trixie root's /etc/passwd.
func trixiePasswd(name string) (uid, gid int, home string, err error) {
	return passwdIn(trixieRoot, name)
}

// passwdIn reads a user's entry from root's /etc/passwd.
func passwdIn(root, name string) (uid, gid int, home string, err error) {
	data, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return 0, 0, "", err
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 7 && f[0] == name {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err1 != nil || err2 != nil || uid < 1000 {
				return 0, 0, "", fmt.Errorf("malformed passwd entry %q", l)
			}
			return uid, gid, f[5], nil
		}
	}
	return 0, 0, "", fmt.Errorf("no user %s in %s/etc/passwd (its scripts/ start makes it)", name, root)
}

// killUID SIGKILLs every process of uid and waits until none is left
// (zombies do not count). The trixie users' uids belong to no user of
// this machine.
func killUID(uid int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []int
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return err
		}
		for _, ent := range ents {
			pid, err := strconv.Atoi(ent.Name())
			if err != nil || !procLive(pid) {
				continue
			}
			fi, err := os.Stat("/proc/" + ent.Name())
			if err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
				continue
			}
			left = append(left, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of uid %d survive SIGKILL: %v", uid, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// trixieVersions asks the trixie host for its Python and Jupyter
// versions, for messages.
func trixieVersions(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("chroot", trixieRoot, "python3", "-c",
		"import sys, jupyter_server, jupyterlab; print(sys.version.split()[0], jupyter_server.__version__, jupyterlab.__version__)").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// A venv on the trixie host (Python 3.13, made with
// --system-site-packages, so it can import the system's ipykernel) as a
// profile's venv: a JupyterLab 4 session's kernel runs in the venv.
func TestE2ETrixieVenvProfile(t *testing.T) {
	needTrixie(t)
	e := newEnv(t)
	remote(t, hostTrixie, `set -e
rm -rf "$HOME/venvs/tv"
python3 -m venv --system-site-packages --without-pip "$HOME/venvs/tv"
`)
	t.Cleanup(func() { remoteRun(hostTrixie, `rm -rf "$HOME/venvs"`+"\n") })
	e.useConfig(`[hosts.ptv]
host = "` + hostTrixie + `"
name = "tvenv"
flavour = "lab"
venv = "~/venvs/tv"
`)
	r, stderr := e.openArgs("ptv", "tvenv", "ptv")
	if strings.Contains(stderr, "ipykernel") {
		t.Errorf("jt open warned about the kernel of a venv that can import ipykernel:\n%s", stderr)
	}
	got := kernelOutput(t, r.URL, "import sys\nprint(sys.prefix)\nprint('%d.%d' % sys.version_info[:2])")
	if want := "/home/" + userTrixie + "/venvs/tv\n3.13\n"; got != want {
		t.Errorf("the venv profile's kernel on trixie (%s) printed %q, want %q (the venv's prefix, Python 3.13)", trixieVersions(t), got, want)
	}
	if s := row(t, e.ls("ptv"), "ptv", "tvenv"); s.Flavour != "lab" {
		t.Errorf("jt ls: flavour %q, want lab", s.Flavour)
	}
}
