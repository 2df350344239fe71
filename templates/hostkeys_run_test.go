package templates_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// hostKey is a well-formed ed25519 key blob, distinct per n.
func hostKey(n int) string {
	b := binary.BigEndian.AppendUint32(nil, uint32(len("ssh-ed25519")))
	b = append(b, "ssh-ed25519"...)
	b = binary.BigEndian.AppendUint32(b, 32)
	k := make([]byte, 32)
	k[0], k[1] = byte(n), byte(n>>8)
	return base64.StdEncoding.EncodeToString(append(b, k...))
}

// hostKeysOf runs hostkeys.sh for node gpu7 with known_hosts in the home
// (the machine's /etc/ssh/ssh_known_hosts knows no gpu7) and gates it.
func hostKeysOf(t *testing.T, knownHosts string) ([]sshexec.HostKey, templates.Block, error) {
	t.Helper()
	home := t.TempDir()
	scripttest.WriteFiles(t, home, map[string]string{".ssh/known_hosts": knownHosts})
	script, err := templates.Render(templates.HostKeys{Node: "gpu7"})
	if err != nil {
		t.Fatal(err)
	}
	r := scripttest.Run(t, home, script)
	reply, err := templates.Read("login", templates.KindHostKeys, []byte(r.Stdout))
	if err != nil {
		return nil, templates.Block{}, err
	}
	if len(reply.Blocks) != 1 {
		t.Fatalf("%d blocks:\n%s\n%s", len(reply.Blocks), r.Stdout, r.Stderr)
	}
	return templates.HostKeysOf(reply.Blocks[0]), reply.Blocks[0], nil
}

func count(keys []sshexec.HostKey, revoked, ca bool) int {
	n := 0
	for _, k := range keys {
		if k.Revoked == revoked && k.CertAuthority == ca {
			n++
		}
	}
	return n
}

// A @revoked line with a comment, followed by a comment line: the answer
// holds the key and the revocation (it was refused whole, and a private
// session fell back to token-only).
func TestHostKeysRevokedWithComments(t *testing.T) {
	kh := "gpu7 ssh-ed25519 " + hostKey(1) + " root@gpu7\n" +
		"@revoked gpu7 ssh-ed25519 " + hostKey(2) + " the old key, leaked\n" +
		"# rotated 2026-11\n\n"
	keys, _, err := hostKeysOf(t, kh)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if len(keys) != 2 || count(keys, false, false) != 1 || count(keys, true, false) != 1 || keys[1].Key != hostKey(2) {
		t.Errorf("keys %+v, want the key and the revocation", keys)
	}
}

// 16 keys, then a revoked one: the revocation is kept (jt kept the keys
// and lost it, so the hop accepted a key the login node's own ssh
// refuses); past 16 revocations the answer is an error, never a cut list.
func TestHostKeysNeverDropARevocation(t *testing.T) {
	var kh strings.Builder
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&kh, "gpu7 ssh-ed25519 %s\n", hostKey(i))
	}
	fmt.Fprintf(&kh, "@revoked gpu7 ssh-ed25519 %s\n", hostKey(3))
	keys, _, err := hostKeysOf(t, kh.String())
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if count(keys, false, false) != 16 || count(keys, true, false) != 1 {
		t.Errorf("%d keys, %d revoked; want 16 and 1", count(keys, false, false), count(keys, true, false))
	}
	for i := 0; i < 17; i++ {
		fmt.Fprintf(&kh, "@revoked gpu7 ssh-ed25519 %s\n", hostKey(100+i))
	}
	_, b, err := hostKeysOf(t, kh.String())
	if err != nil || !b.Error || !strings.Contains(b.Values["error"], "revokes more than 16 host keys of gpu7") {
		t.Errorf("18 revocations: %v, block %+v; want an error that says so", err, b.Values)
	}
}

// A @cert-authority line whose pattern matches the node is used as ssh
// uses it: an entry of jt's own known_hosts file for the node.
func TestHostKeysCertAuthority(t *testing.T) {
	kh := "@cert-authority *.cluster.example,gpu* ssh-ed25519 " + hostKey(9) + " site CA\n" +
		"@cert-authority login* ssh-ed25519 " + hostKey(8) + " another site\n"
	keys, _, err := hostKeysOf(t, kh)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if len(keys) != 1 || !keys[0].CertAuthority || keys[0].Key != hostKey(9) {
		t.Fatalf("keys %+v, want the CA for gpu*", keys)
	}
	c := &sshexec.Client{ControlDir: t.TempDir()}
	h := sshexec.Hop{Login: "hpc", Node: "gpu7", Name: "default"}
	if err := c.NodeHop(h).WriteKnownHosts(keys); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(c.NodeHop(h).KnownHostsPath())
	if err != nil || string(got) != "@cert-authority gpu7 ssh-ed25519 "+hostKey(9)+"\n" {
		t.Errorf("jt's known_hosts: %q, %v", got, err)
	}
}
