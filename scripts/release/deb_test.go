package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The .deb of this machine's arch, installed with dpkg -i as a user
// would: jt --version says the version and commit, man -w jt finds the
// page, a fresh interactive bash completes "jt op<TAB>" to "jt open"
// through the installed completion file alone, and dpkg -r removes every
// file it put there. It refuses to touch a machine that already has a
// jt installed, and removes the package however the test ends.
func TestReleaseDebInstall(t *testing.T) {
	t.Parallel()
	b := releaseDir(t)
	if os.Geteuid() != 0 {
		need(t, "installing the .deb needs root")
	}
	tools(t, "dpkg", "man", "tmux", "bash")
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err != nil {
		need(t, "bash-completion is not installed (apt-get install bash-completion)")
	}
	if exec.Command("dpkg", "-s", "jt").Run() == nil {
		t.Fatal("a jt package is installed already: not touching it")
	}
	for _, f := range installed("deb") {
		if _, err := os.Lstat(f); err == nil {
			t.Fatalf("%s exists already: not touching it", f)
		}
	}
	arch := strings.TrimSpace(sh(t, "", "dpkg", "--print-architecture"))
	deb := filepath.Join(b.dir, b.named(t, "jt_", "_"+arch+".deb"))

	sh(t, "", "dpkg", "-i", deb)
	t.Cleanup(func() {
		if exec.Command("dpkg", "-s", "jt").Run() == nil {
			if out, err := exec.Command("dpkg", "-r", "jt").CombinedOutput(); err != nil {
				t.Errorf("dpkg -r jt: %v\n%s", err, out)
			}
		}
	})
	var listed []string
	for _, f := range strings.Fields(sh(t, "", "dpkg", "-L", "jt")) {
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			listed = append(listed, f)
		}
	}
	slices.Sort(listed)
	if want := installed("deb"); !slices.Equal(listed, want) {
		t.Errorf("dpkg -L jt (files):\n%q\nwant\n%q", listed, want)
	}
	if got, want := strings.TrimSpace(sh(t, "", "/usr/bin/jt", "--version")), "jt version "+b.src.Version+" (commit "+b.src.Commit+")"; got != want {
		t.Errorf("jt --version: %q, want %q", got, want)
	}
	if got := strings.TrimSpace(sh(t, "", "man", "-w", "jt")); got != "/usr/share/man/man1/jt.1.gz" {
		t.Errorf("man -w jt: %q", got)
	}
	bashCompletes(t)

	sh(t, "", "dpkg", "-r", "jt")
	for _, f := range installed("deb") {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("dpkg -r jt left %s", f)
		}
	}
	if _, err := os.Stat("/usr/share/doc/jt"); err == nil {
		t.Error("dpkg -r jt left /usr/share/doc/jt")
	}
}

// bashCompletes types "jt op<TAB>" into a fresh interactive bash in a
// tmux pane: a new user's ~/.bashrc (Debian's /etc/skel one, which loads
// bash-completion), nothing of jt's sourced, so the completion can come
// only from the installed file.
func bashCompletes(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	skel, err := os.ReadFile("/etc/skel/.bashrc")
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".bashrc"), skel, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "tmux")
	tmux := func(args ...string) string {
		t.Helper()
		return sh(t, "", "tmux", append([]string{"-S", sock}, args...)...)
	}
	tmux("new-session", "-d", "-x", "100", "-y", "20", "env", "-i", "HOME="+home, "PATH=/usr/bin:/bin", "TERM=xterm", "bash", "-i")
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	waitPane := func(what string, ok func(string) bool) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			pane := tmux("capture-pane", "-p")
			if ok(pane) {
				return pane
			}
			select {
			case <-ctx.Done():
				t.Fatalf("bash -i in tmux: %s did not show:\n%s", what, pane)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	hasLine := func(want string) func(string) bool {
		return func(pane string) bool { return slices.Contains(strings.Split(pane, "\n"), want) }
	}
	// Typed, the line says $((1+1)); only the shell, once ready, prints 2.
	tmux("send-keys", "echo READY-$((1+1))", "Enter")
	waitPane("the shell's READY-2", hasLine("READY-2"))
	tmux("send-keys", "jt op", "Tab")
	// (tmux leaves off the space bash adds after a whole word.)
	waitPane("jt open", func(pane string) bool {
		return slices.ContainsFunc(strings.Split(pane, "\n"), func(l string) bool { return strings.HasSuffix(l, " jt open") })
	})
	// And it was jt's completion, loaded from the file: complete -p says so.
	tmux("send-keys", "C-u", "complete -p jt; echo DONE-$((2+1))", "Enter")
	pane := waitPane("DONE-3", hasLine("DONE-3"))
	if !strings.Contains(pane, "complete -F _jt jt") {
		t.Errorf("complete -p jt after the TAB:\n%s", pane)
	}
}
