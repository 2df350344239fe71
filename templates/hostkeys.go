package templates

import (
	"strconv"
	"strings"

	"github.com/jt-sh/jt/sshexec"
)

// HostKeys is the input of hostkeys.sh: the host keys the login node
// knows for a compute node.
type HostKeys struct{ Node string }

// maxHostKeys bounds the keys hostkeys.sh answers, of each kind (keys,
// certificate authorities, revocations).
const maxHostKeys = 16

func hostKeyKeys() map[string]grammar {
	m := map[string]grammar{"node": gNode, "error": text, "hint": text}
	for i := 0; i < maxHostKeys; i++ {
		m["key"+strconv.Itoa(i)] = g("a host key", checkHostKeyValue)
		m["revoked"+strconv.Itoa(i)] = g("a revoked host key", checkHostKeyValue)
		m["ca"+strconv.Itoa(i)] = g("a host certificate authority", checkHostKeyValue)
	}
	return m
}

// checkHostKeyValue: "TYPE BASE64", as sshexec.CheckHostKey has it.
func checkHostKeyValue(s string) string {
	typ, key, ok := strings.Cut(s, " ")
	if !ok {
		return "not a key type and a key"
	}
	if err := sshexec.CheckHostKey(typ, key); err != nil {
		return err.Error()
	}
	return ""
}

// HostKeysOf reads hostkeys.sh's answer block (checked by Read).
func HostKeysOf(b Block) []sshexec.HostKey {
	var keys []sshexec.HostKey
	for i := 0; i < maxHostKeys; i++ {
		for _, k := range []string{"key", "revoked", "ca"} {
			if s, ok := b.Values[k+strconv.Itoa(i)]; ok {
				typ, key, _ := strings.Cut(s, " ")
				keys = append(keys, sshexec.HostKey{Revoked: k == "revoked", CertAuthority: k == "ca", Type: typ, Key: key})
			}
		}
	}
	return keys
}
