package commands

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostileHosts are host names as jt hosts --names may print them from a
// hostile ~/.ssh/config: each would run code, or change, if a shell
// expanded it.
func hostileHosts(canary string) []string {
	return []string{
		"$(touch " + canary + ")",
		"`touch " + canary + "`",
		"${HOME}x",
		"$((6*7))",
		"a;touch " + canary,
		"-oProxyCommand=x",
		"~root",
		"*",
	}
}

func TestBashCompletionHostsAreData(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	// A stand-in for jt: its hosts --names prints the hostile names and two plain ones.
	fakeJT := filepath.Join(dir, "jt")
	names := append(hostileHosts(canary), "gpu1", "gpu-2.example.org")
	if err := os.WriteFile(fakeJT, []byte("#!/bin/sh\ncat <<'EOF'\n"+strings.Join(names, "\n")+"\nEOF\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	script := bashCompletion(completionSpec(NewApp("test", "test")))
	for prefix, want := range map[string][]string{
		"":     {"gpu1", "gpu-2.example.org"},
		"gpu":  {"gpu1", "gpu-2.example.org"},
		"gpu-": {"gpu-2.example.org"},
		"$":    nil,
		"x":    nil,
	} {
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script+`
COMP_WORDS=("$1" open "$2"); COMP_CWORD=2
_jt
printf '%s\n' "${COMPREPLY[@]}"
`, "bash", fakeJT, prefix)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" {
				got = append(got, l)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("jt open %q<TAB>: %q, want %q", prefix, got, want)
		}
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("completion ran code from a host name: the canary exists")
	}
}

func TestFishCompletionHostsAreData(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("no fish")
	}
	dir := t.TempDir()
	canary := filepath.Join(dir, "canary")
	names := append(hostileHosts(canary), "gpu1")
	if err := os.WriteFile(filepath.Join(dir, "jt"), []byte("#!/bin/sh\ncat <<'EOF'\n"+strings.Join(names, "\n")+"\nEOF\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fish, "--no-config", "-c", "source; complete -C 'jt open '")
	cmd.Stdin = strings.NewReader(fishCompletion(completionSpec(NewApp("test", "test"))))
	cmd.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH"), "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fish: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "gpu1" {
		t.Errorf("jt open <TAB> in fish: %q, want only gpu1", got)
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("completion ran code from a host name: the canary exists")
	}
}
