package sshexec_test

import (
	"strings"
	"testing"

	"github.com/jt-sh/jt/sshexec"
)

// hostileHosts are destinations that must never reach an ssh argv: each could
// be read by ssh as an option, or by a shell as code, or is not a host at all.
var hostileHosts = []struct{ name, host string }{
	{"option ProxyCommand", "-oProxyCommand=touch /tmp/pwned"},
	{"option without value", "-x"},
	{"semicolon", "a;touch /tmp/pwned"},
	{"command substitution", "$(touch /tmp/pwned)"},
	{"backticks", "`touch /tmp/pwned`"},
	{"single quote", "a'b"},
	{"double quote", `a"b`},
	{"space", "a b"},
	{"tab", "a\tb"},
	{"newline", "a\nb"},
	{"newline then option", "gpu1\n-oProxyCommand=x"},
	{"carriage return", "a\rb"},
	{"NUL", "a\x00b"},
	{"DEL", "a\x7fb"},
	{"10 kB", strings.Repeat("a", 10<<10)},
	{"10 kB hostile", strings.Repeat("$(x)", 2560)},
	{"empty", ""},
	{"user then option host", "user@-x"},
	{"user then ProxyCommand host", "user@-oProxyCommand=x"},
	{"empty user", "@host"},
	{"user starting with dash", "-u@host"},
	{"two @", "a@b@c"},
	{"pipe", "a|b"},
	{"ampersand", "a&b"},
	{"redirect", "a>b"},
	{"glob", "a*"},
	{"unicode", "gpü1"},
	{"ssh URI with option host", "ssh://-oProxyCommand=x"},
	{"ssh URI with dash host", "ssh://-x"},
	{"ssh URI with user and dash host", "ssh://bob@-x:22"},
}

func TestValidateHostRejects(t *testing.T) {
	for _, tc := range hostileHosts {
		t.Run(tc.name, func(t *testing.T) {
			err := sshexec.ValidateHost(tc.host)
			if err == nil {
				t.Fatalf("ValidateHost(%q) = nil, want an error", tc.host)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r\x00") {
				t.Errorf("message is not one clean line: %q", msg)
			}
			if len(msg) > 400 {
				t.Errorf("message is %d bytes long; a hostile host must be shortened: %.80q…", len(msg), msg)
			}
		})
	}
}

func TestValidateHostAccepts(t *testing.T) {
	for _, host := range []string{
		"gpu1",
		"alice@gpu1.example.org",
		"10.0.0.1",
		"[::1]",
		"ssh://bob@host:2222",
		"host_with-dash.x",
		"GPU-1",
		"fe80::1%eth0",
		"alice@10.0.0.1",
		strings.Repeat("a", sshexec.MaxHostLen),
	} {
		if err := sshexec.ValidateHost(host); err != nil {
			t.Errorf("ValidateHost(%q) = %v, want nil", host, err)
		}
	}
}
