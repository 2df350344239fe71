package sshexec_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/sshexec"
)

const testControlDir = "/tmp/jt-test-cm"

type argvCase struct {
	name   string
	argv   []string
	master bool
	// tail is what follows the host (the remote command), if anything.
	tail []string
}

func argvCases(c *sshexec.Client, host string) []argvCase {
	tcp := sshexec.Forward{LocalPort: 8888, RemotePort: 8890}
	sock := sshexec.Forward{LocalPort: 9000, RemoteSock: "/home/a/.local/state/jt/sessions/x/runtime/jupyter.sock"}
	return []argvCase{
		{name: "master", argv: c.MasterArgs(host), master: true},
		{name: "check", argv: c.CheckArgs(host)},
		{name: "exit", argv: c.ExitArgs(host)},
		{name: "forward tcp", argv: c.ForwardArgs(host, tcp)},
		{name: "forward socket", argv: c.ForwardArgs(host, sock)},
		{name: "cancel tcp", argv: c.CancelArgs(host, tcp)},
		{name: "cancel socket", argv: c.CancelArgs(host, sock)},
		{name: "script", argv: c.ScriptArgs(host), tail: []string{sshexec.RemoteShell}},
		{name: "terminal", argv: c.TerminalArgs(host, "screen -r 123.jt-default"), tail: []string{"screen -r 123.jt-default"}},
	}
}

// options returns the -o values of argv, failing on any -o that is not
// followed by its own Key=Value element.
func options(t *testing.T, argv []string) []string {
	t.Helper()
	var opts []string
	for i, a := range argv {
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-o") && a != "-o" {
			t.Errorf("option glued to -o: %q in %q", a, argv)
		}
		if a != "-o" {
			continue
		}
		if i+1 >= len(argv) {
			t.Fatalf("-o at the end of %q", argv)
		}
		v := argv[i+1]
		k, _, ok := strings.Cut(v, "=")
		if !ok || k == "" || strings.HasPrefix(v, "-") || strings.ContainsAny(k, " \t") {
			t.Errorf("-o followed by %q, not Key=Value, in %q", v, argv)
		}
		opts = append(opts, v)
	}
	return opts
}

func TestArgvShape(t *testing.T) {
	for _, client := range []*sshexec.Client{
		{ControlDir: testControlDir},
		{ControlDir: testControlDir, ConfigFile: "/home/a/my ssh config", ConnectTimeout: 2500 * time.Millisecond, Options: []string{"User=bob"}},
	} {
		for _, host := range []string{"gpu1", "alice@gpu1.example.org", "[::1]", "ssh://bob@host:2222"} {
			for _, tc := range argvCases(client, host) {
				t.Run(tc.name+"/"+host, func(t *testing.T) {
					argv := tc.argv
					// "--" immediately precedes the host, exactly once.
					if n := strings.Count("\x00"+strings.Join(argv, "\x00")+"\x00", "\x00--\x00"); n != 1 {
						t.Fatalf("%d \"--\" in %q, want 1", n, argv)
					}
					i := slices.Index(argv, "--")
					if i+1 >= len(argv) || argv[i+1] != host {
						t.Fatalf("\"--\" not immediately before the host in %q", argv)
					}
					if got := argv[i+2:]; !slices.Equal(got, tc.tail) && !(len(got) == 0 && len(tc.tail) == 0) {
						t.Errorf("after the host: %q, want %q", got, tc.tail)
					}
					opts := options(t, argv)
					if !slices.Contains(opts, "ControlPath="+testControlDir+"/cm-%C") {
						t.Errorf("no ControlPath=%s/cm-%%C in %q", testControlDir, argv)
					}
					for _, a := range argv {
						l := strings.ToLower(a)
						if strings.Contains(l, "stricthostkeychecking") || strings.Contains(l, "userknownhostsfile") {
							t.Errorf("host key checking touched: %q in %q", a, argv)
						}
					}
					if client.ConfigFile != "" {
						j := slices.Index(argv, "-F")
						if j < 0 || j+1 >= len(argv) || argv[j+1] != client.ConfigFile {
							t.Errorf("-F %q not passed as two elements in %q", client.ConfigFile, argv)
						}
					}
					if tc.master {
						// yes or auto (auto replaces a stale socket); never no.
						if !slices.Contains(opts, "ControlMaster=yes") && !slices.Contains(opts, "ControlMaster=auto") {
							t.Errorf("master lacks ControlMaster=yes (or auto) in %q", argv)
						}
						for _, want := range []string{"ControlPersist=", "ServerAliveInterval=", "ConnectTimeout="} {
							if !slices.ContainsFunc(opts, func(o string) bool { return strings.HasPrefix(o, want) }) {
								t.Errorf("master lacks %s in %q", want, argv)
							}
						}
						if !slices.Contains(argv[:i], "-fN") {
							t.Errorf("master lacks -fN in %q", argv)
						}
						// The master is the one call that may ask for a password.
						if slices.Contains(opts, "BatchMode=yes") {
							t.Errorf("master has BatchMode=yes: ssh could not ask for a password: %q", argv)
						}
						return
					}
					for _, want := range []string{"ControlMaster=no", "BatchMode=yes"} {
						if !slices.Contains(opts, want) {
							t.Errorf("client call lacks %s in %q", want, argv)
						}
					}
					if slices.Contains(argv, "-fN") || slices.Contains(argv, "-f") {
						t.Errorf("client call daemonises: %q", argv)
					}
				})
			}
		}
	}
}

func TestConnectTimeoutRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "15"}, {-time.Second, "15"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {time.Millisecond, "1"}, {30 * time.Second, "30"}} {
		c := &sshexec.Client{ControlDir: testControlDir, ConnectTimeout: tc.d}
		for _, argv := range [][]string{c.MasterArgs("h"), c.CheckArgs("h")} {
			if !slices.Contains(argv, "ConnectTimeout="+tc.want) {
				t.Errorf("ConnectTimeout %v: want ConnectTimeout=%s in %q", tc.d, tc.want, argv)
			}
		}
	}
}

func TestForwardArgsCarrySpec(t *testing.T) {
	c := &sshexec.Client{ControlDir: testControlDir}
	f := sshexec.Forward{LocalPort: 8888, RemotePort: 8890}
	for _, argv := range [][]string{c.ForwardArgs("h", f), c.CancelArgs("h", f)} {
		i := slices.Index(argv, "-L")
		if i < 0 || i+1 >= len(argv) || argv[i+1] != f.Spec() {
			t.Errorf("-L %s not two elements in %q", f.Spec(), argv)
		}
		if j := slices.Index(argv, "-O"); j < 0 || j > i {
			t.Errorf("-O missing or after -L in %q", argv)
		}
	}
}

func TestForwardSpec(t *testing.T) {
	for _, tc := range []struct {
		f    sshexec.Forward
		want string
	}{
		{sshexec.Forward{LocalPort: 8888, RemotePort: 8888}, "127.0.0.1:8888:127.0.0.1:8888"},
		{sshexec.Forward{LocalPort: 1, RemotePort: 65535, RemoteHost: "10.1.2.3"}, "127.0.0.1:1:10.1.2.3:65535"},
		{sshexec.Forward{LocalPort: 9000, RemotePort: 8888, RemoteHost: "::1"}, "127.0.0.1:9000:[::1]:8888"},
		{sshexec.Forward{LocalPort: 9000, RemoteSock: "/run/user/1000/j.sock"}, "127.0.0.1:9000:/run/user/1000/j.sock"},
		// The socket takes precedence over a port.
		{sshexec.Forward{LocalPort: 9000, RemotePort: 8888, RemoteSock: "/s"}, "127.0.0.1:9000:/s"},
		{sshexec.Forward{}, "127.0.0.1:0:127.0.0.1:0"},
	} {
		got := tc.f.Spec()
		if got != tc.want {
			t.Errorf("%+v.Spec() = %q, want %q", tc.f, got, tc.want)
		}
		if !strings.HasPrefix(got, "127.0.0.1:") {
			t.Errorf("%+v.Spec() = %q does not bind 127.0.0.1 explicitly", tc.f, got)
		}
	}
}
