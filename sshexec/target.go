// Package sshexec is everything jt knows about OpenSSH: destinations, the
// ControlPath, the argv of every ssh call, and the Runner that executes them.
// It knows nothing of Jupyter, screen, TOML or the command line.
package sshexec

import (
	"fmt"
	"strings"

	"github.com/jt-sh/jt/visible"
)

// MaxHostLen bounds a destination; real host names are at most 253 bytes.
const MaxHostLen = 255

// ValidateHost checks a destination before it reaches any ssh argv. It
// accepts what users type (an alias from ~/.ssh/config, user@host, an IP,
// [v6], ssh://user@host:port) and refuses anything ssh could read as an
// option or a shell could read as code.
func ValidateHost(host string) error {
	switch {
	case host == "":
		return fmt.Errorf("empty host: give an ssh destination such as gpu1 or user@host")
	case len(host) > MaxHostLen:
		return fmt.Errorf("host is %d bytes long, more than %d: give an ssh destination such as gpu1 or user@host", len(host), MaxHostLen)
	case strings.HasPrefix(host, "-"):
		return fmt.Errorf("host %s starts with '-', which ssh would read as an option", visible.Quote(host))
	}
	for _, r := range host {
		if !hostRune(r) {
			return fmt.Errorf("host %s contains %s: only letters, digits and . _ - @ : [ ] %% / are allowed", visible.Quote(host), describe(r))
		}
	}
	if strings.Count(host, "@") > 1 && !strings.HasPrefix(host, "ssh://") {
		return fmt.Errorf("host %s has more than one '@'", visible.Quote(host))
	}
	dest := strings.TrimPrefix(host, "ssh://")
	if at := strings.LastIndex(dest, "@"); at >= 0 {
		user := dest[:at]
		if user == "" || strings.HasPrefix(user, "-") {
			return fmt.Errorf("host %s has an empty user or one starting with '-'", visible.Quote(host))
		}
		dest = dest[at+1:]
	}
	// The host part reaches ProxyCommand %h and friends: it must not look
	// like an option either.
	if dest == "" || strings.HasPrefix(dest, "-") {
		return fmt.Errorf("host %s has an empty host name or one starting with '-'", visible.Quote(host))
	}
	return nil
}

func hostRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("._-@:[]%/", r)
}

func describe(r rune) string {
	switch {
	case r == ' ' || r == '\t':
		return "whitespace"
	case r == 0:
		return "a NUL byte"
	case r < 0x20 || r == 0x7f:
		return "a control character"
	}
	return fmt.Sprintf("%q", r)
}
