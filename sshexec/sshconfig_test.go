package sshexec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigHosts(t *testing.T) {
	home := t.TempDir()
	other := t.TempDir()
	write(t, filepath.Join(home, ".ssh", "config"), `# my config
Host gpu1 gpu2 *.example.org !bad login?
  User alice
host=cpu # a comment
HOST = "quoted name" 'single'
Match host foo exec "true"
  User x
Include relative.conf ~/tilde.conf
Include `+other+`/*.inc
Include /nonexistent/*.conf
Host gpu1
Host *
  ServerAliveInterval 30
`)
	write(t, filepath.Join(home, ".ssh", "relative.conf"), "Host fromrelative\n")
	write(t, filepath.Join(home, "tilde.conf"), "Host fromtilde\nInclude nested.conf\n")
	write(t, filepath.Join(home, ".ssh", "nested.conf"), "Host fromnested\n")
	write(t, filepath.Join(other, "a.inc"), "Host froma\n")
	write(t, filepath.Join(other, "b.inc"), "Host fromb\n")
	// Relative to the including file's directory is NOT where ssh looks.
	write(t, filepath.Join(other, "relative.conf"), "Host wrongplace\n")

	got, err := ConfigHosts(filepath.Join(home, ".ssh", "config"), home)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"gpu1", "gpu2", "cpu", "quoted name", "single", "fromrelative", "fromtilde", "fromnested", "froma", "fromb"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hosts\n got %q\nwant %q", got, want)
	}

	// A file given with -F resolves relative includes from ~/.ssh too.
	write(t, filepath.Join(other, "main"), "Include relative.conf\nHost direct\n")
	got, _ = ConfigHosts(filepath.Join(other, "main"), home)
	if !reflect.DeepEqual(got, []string{"fromrelative", "direct"}) {
		t.Errorf("-F file: %q", got)
	}

	if got, err := ConfigHosts(filepath.Join(home, "missing"), home); err != nil || len(got) != 0 {
		t.Errorf("missing file: %q, %v", got, err)
	}
}

func TestConfigHostsIncludeLoop(t *testing.T) {
	home := t.TempDir()
	write(t, filepath.Join(home, ".ssh", "config"), "Host a\nInclude config\n")
	if _, err := ConfigHosts(filepath.Join(home, ".ssh", "config"), home); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("include loop: %v", err)
	}
}

func TestSplitConfigLine(t *testing.T) {
	for line, want := range map[string][]string{
		"Host a b":              {"Host", "a", "b"},
		"  Host\ta  ":           {"Host", "a"},
		"Host=a":                {"Host", "a"},
		"Host = a # c":          {"Host", "a"},
		`Include "a b" c`:       {"Include", "a b", "c"},
		"Host a#b":              {"Host", "a#b"},
		"# Host commented":      {""},
		"":                      {""},
		"Host\r":                {"Host"},
		"IdentityFile ~/.ssh/x": {"IdentityFile", "~/.ssh/x"},
	} {
		k, args := splitConfigLine(line)
		if got := append([]string{k}, args...); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
}

func TestOpenSSHVersion(t *testing.T) {
	for line, want := range map[string][3]int{
		"OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024": {9, 2, 1},
		"OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2":                 {8, 1, 1},
		"OpenSSH_6.6.1p1 Ubuntu-2ubuntu2":                           {6, 6, 1},
		"Sun_SSH_1.1":                                               {0, 0, 0},
	} {
		ma, mi, ok := OpenSSHVersion(line)
		okInt := 0
		if ok {
			okInt = 1
		}
		if [3]int{ma, mi, okInt} != want {
			t.Errorf("%q: %d.%d %v, want %v", line, ma, mi, ok, want)
		}
	}
}
