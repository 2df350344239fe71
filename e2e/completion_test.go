package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// zshTab drives an interactive zsh through a pseudo-terminal (zsh/zpty):
// it loads jt's completion, types $1 (with its TABs) and prints what the
// terminal showed once $2 appears on it (completion runs jt, which a loaded
// machine or a -race build makes slow), or after 30 s.
const zshTab = `zmodload zsh/zpty
zpty -b z 'zsh -f -i'
zpty -w z 'PS1="> "; autoload -U compinit && compinit -u; source <(jt completion zsh); echo READY'
zpty -r -m z out '*READY*'
zpty -r -m z out '*> '
zpty -w -n z "$1"
all=
for i in {1..300}; do
	while zpty -r -t z out; do all+=$out; done
	[[ $all == *"$2"* ]] && break
	sleep 0.1
done
sleep 0.2
while zpty -r -t z out; do all+=$out; done
print -r -- "$all"
zpty -d z
`

// Host names from ~/.ssh/config are data to completion, in bash, zsh and
// fish: an entry that would run code if a shell expanded it creates
// nothing, and the plain hosts still complete.
func TestE2ECompletionHostsAreData(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	canaries := []string{filepath.Join(dir, "f1"), filepath.Join(dir, "f2"), filepath.Join(dir, "f3"), filepath.Join(dir, "f4")}
	home, _ := os.UserHomeDir()
	config := "Host normal1 gpu-node.example\n" +
		"Host \"$(touch " + canaries[0] + ")\"\n" +
		"Host $(touch${IFS}" + canaries[1] + ")\n" +
		"Host \"`touch " + canaries[2] + "`\"\n" +
		"Host `touch${IFS}" + canaries[3] + "`\n" +
		"Host ${HOME}x $((6*7))x\n" +
		"Host -oProxyCommand=x\n" +
		"Host normal2\n  HostName 127.0.0.1\n"
	cfg := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := e.shellEnv("JT_SSH_CONFIG=" + cfg)
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %q: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	noCanary := func(shell string) {
		t.Helper()
		for _, c := range canaries {
			if _, err := os.Stat(c); err == nil {
				t.Errorf("%s: completion ran code from a Host name: %s exists", shell, c)
				os.Remove(c)
			}
		}
	}
	hostile := regexp.MustCompile("touch|\\$|`|" + regexp.QuoteMeta(home+"x") + "|42x|ProxyCommand")
	check := func(shell, prefix string, got []string, want ...string) {
		t.Helper()
		noCanary(shell)
		for _, g := range got {
			if hostile.MatchString(g) {
				t.Errorf("%s: jt open %q<TAB> offers %q", shell, prefix, g)
			}
		}
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("%s: jt open %q<TAB> offers %q, not %s", shell, prefix, got, w)
			}
		}
	}

	// The hostile names do reach completion: jt hosts lists them.
	if names := run(e2e.jt, "hosts", "--names"); !strings.Contains(names, "$(touch "+canaries[0]+")") || !strings.Contains(names, "${HOME}x") {
		t.Fatalf("jt hosts --names does not list the test's entries:\n%s", names)
	}

	for _, shell := range []string{"bash", "zsh", "fish"} {
		if _, err := exec.LookPath(shell); err != nil {
			missingReq(t, shell+" not found on PATH")
		}
	}

	// bash calls the function as readline does, with COMP_WORDS and COMP_CWORD.
	bash := `source <(jt completion bash)
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_jt
printf '%s\n' "${COMPREPLY[@]}"
`
	check("bash", "", lines(run("bash", "-c", bash, "bash", "jt", "open", "")), "normal1", "normal2", "gpu-node.example")
	check("bash", "n", lines(run("bash", "-c", bash, "bash", "jt", "open", "n")), "normal1", "normal2")
	check("bash config show", "", lines(run("bash", "-c", bash, "bash", "jt", "config", "show", "")), "normal1", "gpu-node.example")
	if got := lines(run("bash", "-c", bash, "bash", "jt", "open", "g")); len(got) != 1 || got[0] != "gpu-node.example" {
		t.Errorf("bash: jt open g<TAB> offers %q, want only gpu-node.example", got)
	}

	// zsh, typed at a terminal: a TAB lists, a prefix completes.
	script := filepath.Join(dir, "tab.zsh")
	if err := os.WriteFile(script, []byte(zshTab), 0o600); err != nil {
		t.Fatal(err)
	}
	ansi := regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f]`)
	screen := ansi.ReplaceAllString(run("zsh", "-f", script, "jt open \t\t", "normal2"), " ")
	check("zsh", "", strings.Fields(screen), "normal1", "normal2", "gpu-node.example")
	screen = ansi.ReplaceAllString(run("zsh", "-f", script, "jt open g\t", "gpu-node.example"), " ")
	if !strings.Contains(screen, "jt open gpu-node.example") {
		t.Errorf("zsh: jt open g<TAB> did not complete gpu-node.example: %q", screen)
	}
	noCanary("zsh")

	// fish's own completion engine.
	var got []string
	for _, l := range lines(run("fish", "-c", `jt completion fish | source; complete -C "jt open "`)) {
		c, _, _ := strings.Cut(l, "\t")
		got = append(got, c)
	}
	check("fish", "", got, "normal1", "normal2", "gpu-node.example")
}
