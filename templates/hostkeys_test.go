package templates

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

func TestHostKeysGate(t *testing.T) {
	b := binary.BigEndian.AppendUint32(nil, uint32(len("ssh-ed25519")))
	key := base64.StdEncoding.EncodeToString(append(append(b, "ssh-ed25519"...), make([]byte, 36)...))
	out := "banner\n@@JT-SESSION@@\nnode=node1\nkey0=ssh-ed25519 " + key + "\nrevoked1=ssh-ed25519 " + key + "\nextra=x\n@@JT-END@@\n"
	r, err := Read("login", KindHostKeys, []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	keys := HostKeysOf(r.Blocks[0])
	if len(keys) != 2 || keys[0].Revoked || !keys[1].Revoked || keys[0].Key != key {
		t.Errorf("keys %+v", keys)
	}
	for _, bad := range []string{"ssh-ed25519", "ssh-ed25519 " + key + " more", "ssh-dss " + key, "ssh-ed25519 $(touch x)", "ssh-rsa " + key} {
		out := "@@JT-SESSION@@\nnode=node1\nkey0=" + bad + "\n@@JT-END@@\n"
		if _, err := Read("login", KindHostKeys, []byte(out)); !Refused(err) {
			t.Errorf("key %q: %v, want refused", bad, err)
		}
	}
	s, err := Render(HostKeys{Node: "node1"})
	if err != nil || !strings.Contains(s, "node='node1'") || !strings.Contains(s, "ssh-keygen -F") {
		t.Errorf("render: %v\n%s", err, s)
	}
}
