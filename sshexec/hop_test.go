package sshexec

import (
	"encoding/base64"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func keyBlob(typ string) string {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(typ)))
	b = append(b, typ...)
	b = append(b, make([]byte, 36)...)
	return base64.StdEncoding.EncodeToString(b)
}

func TestHopArgs(t *testing.T) {
	c := &Client{ControlDir: "/run/user/1000/jt", ConfigFile: "/home/a/ssh config", Runner: &ExecRunner{Path: "/usr/bin/ssh"},
		Routes: map[string]Route{"hpc": {Dest: "alice@login.example.org", Options: []string{"ProxyJump=bastion"}}}}
	h := Hop{Login: "hpc", Node: "node1", Name: "default"}
	a, err := c.NodeHop(h).MasterArgs()
	if err != nil {
		t.Fatal(err)
	}
	opt := func(k string) string {
		for i := 0; i+1 < len(a); i++ {
			if a[i] == "-o" && strings.HasPrefix(a[i+1], k+"=") {
				return strings.TrimPrefix(a[i+1], k+"=") // the first wins, as in ssh
			}
		}
		return ""
	}
	for k, want := range map[string]string{"HostName": "node1", "Port": "22", "HostKeyAlias": "node1", "StrictHostKeyChecking": "yes",
		"BatchMode": "yes", "UserKnownHostsFile": c.NodeHop(h).KnownHostsPath(), "ControlPath": c.NodeHop(h).ControlPath(), "GlobalKnownHostsFile": "none"} {
		if got := opt(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	if a[len(a)-2] != "--" || a[len(a)-1] != "alice@login.example.org" {
		t.Errorf("argv ends %q, want -- and the login's destination", a[len(a)-2:])
	}
	proxy := opt("ProxyCommand")
	for _, want := range []string{"'/usr/bin/ssh' ", "'-F' '/home/a/ssh config'", "'ControlPath=/run/user/1000/jt/cm-%%C'", "'ControlMaster=no'", "'BatchMode=yes'", "'-W' %h:%p '--' 'alice@login.example.org'", "'ProxyJump=bastion'"} {
		if !strings.Contains(proxy, want) {
			t.Errorf("ProxyCommand %q lacks %q", proxy, want)
		}
	}
	if slices.Contains(a, "StrictHostKeyChecking=no") || slices.Contains(a, "StrictHostKeyChecking=accept-new") {
		t.Errorf("host-key checking weakened: %q", a)
	}
	other := c.NodeHop(Hop{Login: "hpc", Node: "node1", Name: "exp2"}).ControlPath()
	if other == c.NodeHop(h).ControlPath() || len(other) > ControlPathMax() {
		t.Errorf("control paths %s and %s: want distinct per session, short", other, c.NodeHop(h).ControlPath())
	}
}

func TestHopRefusesHostile(t *testing.T) {
	c := &Client{ControlDir: "/tmp/jt-0"}
	for _, node := range []string{"", "-oProxyCommand=x", "node1 x", "$(touch x)", "n'1", "a/b", "..", "node\n1", strings.Repeat("n", 300)} {
		if _, err := c.NodeHop(Hop{Login: "hpc", Node: node, Name: "default"}).MasterArgs(); err == nil {
			t.Errorf("node %q accepted", node)
		}
	}
	bad := &Client{ControlDir: "/tmp/it's", Runner: &ExecRunner{Path: "/usr/bin/ssh"}}
	if _, err := bad.NodeHop(Hop{Login: "hpc", Node: "node1", Name: "default"}).MasterArgs(); err == nil {
		t.Errorf("a quote in the control path reached a ProxyCommand")
	}
}

func TestHostKeys(t *testing.T) {
	good := keyBlob("ssh-ed25519")
	if err := CheckHostKey("ssh-ed25519", good); err != nil {
		t.Errorf("good key refused: %v", err)
	}
	for _, k := range [][2]string{{"ssh-dss", good}, {"ssh-rsa", good}, {"ssh-ed25519", "not base64!"}, {"ssh-ed25519", ""},
		{"ssh-ed25519", good + "\nnode2 ssh-ed25519 " + good}, {"ssh-ed25519", strings.Repeat("A", 20000)}} {
		if CheckHostKey(k[0], k[1]) == nil {
			t.Errorf("key %q %q accepted", k[0], k[1])
		}
	}
	dir := t.TempDir()
	c := &Client{ControlDir: dir}
	h := Hop{Login: "hpc", Node: "node1", Name: "default"}
	if err := c.NodeHop(h).WriteKnownHosts([]HostKey{{Type: "ssh-ed25519", Key: good}, {Revoked: true, Type: "ssh-ed25519", Key: good}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(c.NodeHop(h).KnownHostsPath())
	if err != nil {
		t.Fatal(err)
	}
	if want := "node1 ssh-ed25519 " + good + "\n@revoked node1 ssh-ed25519 " + good + "\n"; string(data) != want {
		t.Errorf("known_hosts %q, want %q", data, want)
	}
	if fi, _ := os.Stat(c.NodeHop(h).KnownHostsPath()); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if err := c.NodeHop(h).WriteKnownHosts([]HostKey{{Type: "ssh-ed25519", Key: "x\ny"}}); err == nil {
		t.Errorf("a bad key was written")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".kh-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// jt attach over the hop: a terminal (-t) on the node through the hop's
// master, the console command last, host-key checking as strict as the
// master's.
func TestHopTerminalArgs(t *testing.T) {
	c := &Client{ControlDir: "/run/user/1000/jt", Runner: &ExecRunner{Path: "/usr/bin/ssh"},
		Routes: map[string]Route{"hpc": {Dest: "alice@login.example.org"}}}
	h := Hop{Login: "hpc", Node: "node1", Name: "default"}
	a, err := c.NodeHop(h).TerminalArgs("exec /bin/sh -c 'screen -r x'")
	if err != nil {
		t.Fatal(err)
	}
	n := len(a)
	if n < 4 || a[n-4] != "-t" || a[n-3] != "--" || a[n-2] != "alice@login.example.org" || a[n-1] != "exec /bin/sh -c 'screen -r x'" {
		t.Errorf("argv ends %q, want -t -- DEST CMD", a[max(0, n-4):])
	}
	for _, want := range []string{"ControlPath=" + c.NodeHop(h).ControlPath(), "HostName=node1", "StrictHostKeyChecking=yes", "HostKeyAlias=node1", "ControlMaster=no", "ClearAllForwardings=yes", "RemoteCommand=none"} {
		if !slices.Contains(a, want) {
			t.Errorf("argv %q lacks %s", a, want)
		}
	}
	if _, err := c.NodeHop(Hop{Login: "hpc", Node: "-oProxyCommand=x", Name: "default"}).TerminalArgs("true"); err == nil {
		t.Error("a hostile node name reached the argv")
	}
}

// The hop's options win over the user's config for the login node (ssh
// keeps the first value): ssh -G of the hop's argv, with a config that
// turns each on, says that none of them reaches the node connection.
func TestHopOverridesTheUsersConfig(t *testing.T) {
	ssh, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no ssh client")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("Host *\n  ForwardAgent yes\n  ForwardX11 yes\n  KnownHostsCommand /bin/echo %H\n  VerifyHostKeyDNS yes\n  PermitLocalCommand yes\n  LocalCommand touch "+dir+"/ran\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Client{ControlDir: dir, ConfigFile: cfg, Runner: &ExecRunner{Path: ssh}}
	a, err := c.NodeHop(Hop{Login: "hpc", Node: "node1", Name: "default"}).MasterArgs()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(a, "-fN")
	if i < 0 {
		t.Fatalf("no -fN in %q", a)
	}
	a = append(append(slices.Clone(a[:i]), "-G"), a[i+1:]...)
	out, err := exec.Command(ssh, a...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh -G: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			got[k] = v
		}
	}
	for k, want := range map[string]string{"forwardagent": "no", "forwardx11": "no", "verifyhostkeydns": "false", "permitlocalcommand": "no", "hostname": "node1"} {
		if got[k] != want {
			t.Errorf("ssh -G: %s %q, want %q", k, got[k], want)
		}
	}
	if v, ok := got["knownhostscommand"]; ok {
		t.Errorf("ssh -G: knownhostscommand %q, want none", v)
	}
}
