package sshexec_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/jt-sh/jt/sshexec"
)

// A routed name (a profile) reaches its own destination with its options,
// placed after jt's own so that jt's ControlPath and BatchMode win.
func TestRouteArgv(t *testing.T) {
	c := &sshexec.Client{ControlDir: testControlDir, Routes: map[string]sshexec.Route{
		"gpu": {Dest: "alice@gpu1.example.org", Options: []string{"ProxyJump=bastion", "ControlPath=/tmp/evil", "BatchMode=no"}},
	}}
	for _, tc := range argvCases(c, "gpu") {
		t.Run(tc.name, func(t *testing.T) {
			argv := tc.argv
			i := slices.Index(argv, "--")
			if i < 0 || i+1 >= len(argv) || argv[i+1] != "alice@gpu1.example.org" {
				t.Fatalf("argv %q does not go to the route's destination after --", argv)
			}
			if slices.Contains(argv, "gpu") {
				t.Errorf("the profile name reached the argv: %q", argv)
			}
			opts := options(t, argv)
			first := func(key string) string {
				for _, o := range opts {
					if k, v, _ := strings.Cut(o, "="); strings.EqualFold(k, key) {
						return v
					}
				}
				return ""
			}
			if got := first("ControlPath"); got != sshexec.ControlPathPattern(testControlDir) {
				t.Errorf("first ControlPath is %q: the profile's must come after jt's", got)
			}
			if !tc.master && first("BatchMode") != "yes" {
				t.Errorf("first BatchMode is %q, want jt's yes", first("BatchMode"))
			}
			if first("ProxyJump") != "bastion" {
				t.Errorf("the route's ProxyJump is missing: %q", opts)
			}
		})
	}
	// A name without a route is its own destination, with no extra options.
	for _, tc := range argvCases(c, "gpu2") {
		if slices.Contains(tc.argv, "ProxyJump=bastion") || tc.argv[slices.Index(tc.argv, "--")+1] != "gpu2" {
			t.Errorf("%s: unrouted name got the route: %q", tc.name, tc.argv)
		}
	}
}

func TestSameMaster(t *testing.T) {
	c := &sshexec.Client{Routes: map[string]sshexec.Route{
		"gpu":   {Dest: "hosta"},
		"gpu-j": {Dest: "hosta", Options: []string{"ProxyJump=b"}},
		"self":  {Options: nil},
	}}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"gpu", "hosta", true},
		{"gpu", "gpu-j", false},
		{"self", "self", true},
		{"gpu", "hostb", false},
	} {
		if got := c.SameMaster(tc.a, tc.b); got != tc.want {
			t.Errorf("SameMaster(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
