package e2e

// End-to-end tests of profiles from jt's config file, the remote
// environment (venv, setup lines, modules), the multiplexers, jt hosts,
// shell completion and aliases, and jt doctor — the built jt binary against
// the harness's real sshd, screen, tmux and Jupyter (harness_test.go).
// Profile names are never ssh aliases, so a call that went to the name
// instead of the profile's destination would fail.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// useConfig writes jt's config file for this env and points jt at it.
func (e *env) useConfig(text string) string {
	e.t.Helper()
	dir := filepath.Join(e.dir, "c")
	path := filepath.Join(dir, "jt", "config.toml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
	// The last value wins in exec's environment.
	e.vars = append(e.vars, "XDG_CONFIG_HOME="+dir)
	return path
}

// openProfile runs jt open --no-browser --json PROFILE (the session name
// comes from the profile) and decodes its answer.
func (e *env) openProfile(profile, name string, extra ...string) openResult {
	e.t.Helper()
	r, _ := e.openArgs(profile, name, append(append([]string(nil), extra...), profile)...)
	return r
}

var venvOnce sync.Map // host → *sync.Once

// ensureVenv makes ~/venv on host (once per test run): a venv over the
// system's Python and Jupyter, with its own kernelspec, as
// `pip install ipykernel` in a venv would install it.
func ensureVenv(t *testing.T, host string) {
	t.Helper()
	o, _ := venvOnce.LoadOrStore(host, &sync.Once{})
	var err error
	o.(*sync.Once).Do(func() {
		_, stderr, rerr := remoteRun(host, `set -e
[ -x "$HOME/venv/bin/python" ] || python3 -m venv --system-site-packages "$HOME/venv"
"$HOME/venv/bin/python" -m ipykernel install --prefix "$HOME/venv" --name python3 >/dev/null 2>&1
`)
		if rerr != nil {
			err = fmt.Errorf("%v: %s", rerr, stderr)
		}
	})
	if err != nil {
		t.Fatalf("make ~/venv on %s: %v", host, err)
	}
}

const envProbe = `import os, sys
print(sys.prefix)
print(os.environ.get("JT_TEST_VAR"))
print(os.environ.get("LOADED_MODULES"))
print(os.getcwd())`

// The remote session directory of a session.
func sessDir(user, name string) string {
	return "/home/" + user + "/.local/state/jt/sessions/" + name
}

// A profile with dir, port, a venv and a setup line, with each
// multiplexer: the kernel runs in the venv and sees the setup's variable;
// the server survives a dropped connection and jt open reattaches to it
// (same pid); ls, logs, attach and close --kill reach it by the profile's
// name, though that name is no ssh alias.
func TestE2EProfileEnvironment(t *testing.T) {
	for _, mux := range []string{"auto", "tmux", "none"} {
		t.Run(mux, func(t *testing.T) {
			e := newEnv(t)
			if mux == "tmux" {
				if _, err := exec.LookPath("tmux"); err != nil {
					missingReq(t, "tmux not found (apt install tmux)")
				}
			}
			ensureVenv(t, hostA)
			remote(t, hostA, "mkdir -p \"$HOME/work dir\"\n")
			profile, name, port := "penv-"+mux, "env-"+mux, freePort(t)
			e.useConfig(fmt.Sprintf(`# a profile of the e2e tests
[hosts.%s]
host = %q
dir = "~/work dir"
port = %d
name = %q
console = %q
venv = "~/venv"
setup = ["export JT_TEST_VAR=hello"]
`, profile, hostA, port, name, mux))

			r := e.openProfile(profile, name)
			if r.Status != "started" || r.RemotePort != port || r.Dir != "/home/"+userA+"/work dir" {
				t.Errorf("jt open %s: %+v; want started on port %d in ~/work dir", profile, r, port)
			}
			want := fmt.Sprintf("/home/%s/venv\nhello\nNone\n/home/%s/work dir\n", userA, userA)
			if got := kernelOutput(t, r.URL, envProbe); got != want {
				t.Errorf("the kernel printed %q, want %q (venv prefix, JT_TEST_VAR, no modules, dir)", got, want)
			}
			wantMux := mux
			if mux == "auto" {
				wantMux = "screen" // the test host has screen
			}
			if got := strings.TrimSpace(remote(t, hostA, "cat "+shellQuote(sessDir(userA, name)+"/mux")+"\n")); got != wantMux {
				t.Errorf("the host recorded mux %q, want %q", got, wantMux)
			}
			switch wantMux {
			case "screen":
				if ids := screenIDs(t, hostA, name); len(ids) != 1 {
					t.Errorf("screen sessions jt-%s: %v, want one", name, ids)
				}
			case "tmux":
				out := remote(t, hostA, "tmux -L jt-"+name+" list-sessions -F '#{session_name}'; true\n")
				if strings.TrimSpace(out) != "jt-"+name {
					t.Errorf("tmux server jt-%s has sessions %q, want jt-%s", name, out, name)
				}
			case "none":
				if ids := screenIDs(t, hostA, name); len(ids) != 0 {
					t.Errorf("mux none, yet screen sessions %v", ids)
				}
				// Its own session: the end of the login that started it cannot hang it up.
				out := remote(t, hostA, fmt.Sprintf("ps -o sid= -p %d; ps -o sid= -p $$\n", r.PID))
				if f := strings.Fields(out); len(f) != 2 || f[0] == f[1] {
					t.Errorf("session ids of the server and a login: %q; want different ones", out)
				}
			}

			// A dropped connection: the server stays; jt open reattaches.
			e.exitMaster(hostA)
			if !remoteAlive(t, hostA, r.PID) {
				t.Fatalf("the server (pid %d, mux %s) died with the connection", r.PID, mux)
			}
			again := e.openProfile(profile, name)
			if again.Status != "running" || again.PID != r.PID {
				t.Errorf("reopen: status %q pid %d, want running with pid %d", again.Status, again.PID, r.PID)
			}
			mustAnswer(t, again.URL)
			if got := kernelOutput(t, again.URL, envProbe); got != want {
				t.Errorf("after reattaching, a new kernel printed %q, want %q", got, want)
			}

			// ls, logs and url by the profile's name, with no --name.
			if row := row(t, e.ls(), profile, name); row.State != "up" || row.PID != r.PID {
				t.Errorf("jt ls: %+v, want up with pid %d", row, r.PID)
			}
			if stdout, _ := e.jt("url", profile); strings.TrimSpace(stdout) != again.URL {
				t.Errorf("jt url %s printed %q, want %q", profile, stdout, again.URL)
			}
			if stdout, _ := e.jt("logs", profile); !strings.Contains(stdout, "Jupyter") {
				t.Errorf("jt logs %s: %q, want Jupyter's log", profile, stdout)
			}
			switch wantMux {
			case "tmux":
				attachTmux(t, e, profile, name)
			case "none":
				_, stderr, code := e.run("attach", profile)
				if code != 1 || !strings.Contains(stderr, "no console") || !strings.Contains(stderr, "jt logs -f") {
					t.Errorf("jt attach with mux none: exit %d, %q; want exit 1, no console, a hint to jt logs -f", code, stderr)
				}
			}

			e.jt("close", "--kill", profile)
			if remoteAlive(t, hostA, r.PID) {
				t.Errorf("jt close --kill %s left the server (pid %d) running", profile, r.PID)
			}
			if wantMux == "tmux" {
				if out := remote(t, hostA, "tmux -L jt-"+name+" list-sessions 2>/dev/null; true\n"); strings.TrimSpace(out) != "" {
					t.Errorf("tmux server jt-%s still has %q", name, out)
				}
			}
			if e.recorded(profile, name) {
				t.Errorf("the state still records %s %s", profile, name)
			}
		})
	}
}

// attachTmux runs jt attach in a terminal (a local tmux), checks that the
// remote tmux window shows Jupyter's console, and detaches with Ctrl-B d.
func attachTmux(t *testing.T, e *env, profile, name string) {
	t.Helper()
	if exit, pane := attachInTerminal(t, e, "C-b", profile); exit != "EXIT=0" {
		t.Errorf("jt attach %s (session %s) ended with %s, want EXIT=0; pane:\n%s", profile, name, exit, pane)
	}
}

// A module-style setup. The profile's setup sources a file that
// defines a module function (as a site's init script would), and modules
// lists what to load: the kernel sees what was loaded.
func TestE2EProfileModules(t *testing.T) {
	e := newEnv(t)
	remote(t, hostA, `cat >"$HOME/.jt-modules.sh" <<'EOF'
module() {
	case $1 in
	load) shift; LOADED_MODULES="${LOADED_MODULES:+$LOADED_MODULES:}$1"; export LOADED_MODULES ;;
	*) echo "module: unknown command $1" >&2; return 1 ;;
	esac
}
EOF
`)
	e.useConfig(fmt.Sprintf(`[hosts.pmod]
host = %q
setup = ["source ~/.jt-modules.sh", "export JT_TEST_VAR=modules"]
modules = ["python/3.11", "gcc/12"]
`, hostA))
	r := e.openProfile("pmod", "mods", "--name", "mods")
	want := fmt.Sprintf("/usr\nmodules\npython/3.11:gcc/12\n/home/%s\n", userA)
	if got := kernelOutput(t, r.URL, envProbe); got != want {
		t.Errorf("the kernel printed %q, want %q", got, want)
	}
}

// A failing environment setup stops jt open with the step, its
// output and a hint; no server starts.
func TestE2EProfileSetupFails(t *testing.T) {
	e := newEnv(t)
	e.useConfig(fmt.Sprintf(`[hosts.pbad]
host = %q
name = "badenv"
setup = ["export A=1", "echo 'loading the toolchain'; no-such-command-jt"]
`, hostA))
	e.opened[[2]string{"pbad", "badenv"}] = true
	_, stderr, code := e.run("open", "--no-browser", "pbad")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"jt: error: the environment setup failed on ",
		"at: echo 'loading the toolchain'; no-such-command-jt",
		"jt:   | loading the toolchain",
		"no-such-command-jt: not found",
		"jt: hint: ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if pids := jupyterPIDs(t, hostA, "badenv"); len(pids) != 0 {
		t.Errorf("a server started after the setup failed: %v", pids)
	}
}

// A profile with a jump host goes through it (ssh -o ProxyJump),
// for open and for every later command on the session.
func TestE2EProfileJump(t *testing.T) {
	e := newEnv(t)
	e.useConfig(fmt.Sprintf(`[hosts.pjump]
host = %q
jump = %q
ssh_options = ["ConnectionAttempts=2"]
`, hostA, hostB))
	before, _ := e2e.box.AuthCount(userB)
	r := e.openProfile("pjump", "jump", "--name", "jump")
	mustAnswer(t, r.URL)
	if after, _ := e2e.box.AuthCount(userB); after <= before {
		t.Errorf("no login as %s (the jump host's user): %d before, %d after", userB, before, after)
	}
	// The master carries the profile's options after jt's own.
	found := cmdlinesWith("ProxyJump=" + hostB)
	if out := strings.Join(found, "\n"); len(found) == 0 || !strings.Contains(out, "ConnectionAttempts=2") || !strings.Contains(out, "-fN") {
		t.Errorf("no master with the profile's options: %q", found)
	}
	if row := row(t, e.ls(), "pjump", "jump"); row.State != "up" {
		t.Errorf("jt ls: %+v", row)
	}
	e.jt("close", "--kill", "--name", "jump", "pjump")
	if remoteAlive(t, hostA, r.PID) {
		t.Errorf("jt close --kill left the server running")
	}
}

// Config mistakes are one error line naming file, line and key,
// exit status 2, and nothing runs: not even ssh.
func TestE2EConfigErrors(t *testing.T) {
	e := newEnv(t)
	ran := filepath.Join(e.dir, "ssh-ran")
	fakeSSH := filepath.Join(e.dir, "fake-ssh")
	if err := os.WriteFile(fakeSSH, []byte("#!/bin/sh\necho ran >>"+shellQuote(ran)+"\nexit 255\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.vars = append(e.vars, "JT_SSH="+fakeSSH)
	for _, tc := range []struct {
		name, text string
		line       int
		want       string
	}{
		{"unknown key", "[hosts.gpu]\nhost = \"hosta\"\n\nprot = 8888\n", 4, `unknown key "prot" in [hosts.gpu] (did you mean "port"?)`},
		{"wrong type", "[defaults]\nmux = \"tmux\"\n[hosts.gpu]\nport = \"8888\"\n", 4, `key "port" in [hosts.gpu] must be an integer, not a string ("8888")`},
		{"syntax", "[hosts.gpu]\nhost = \"hosta\"\ndir = \"~/x\n", 3, `TOML syntax error: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := e.useConfig(tc.text)
			for _, args := range [][]string{{"open", "--no-browser", "gpu"}, {"ls"}, {"close", "gpu"}, {"doctor", "gpu"}} {
				_, stderr, code := e.run(args...)
				if code != 2 {
					t.Errorf("jt %s: exit %d, want 2", strings.Join(args, " "), code)
				}
				ls := lines(stderr)
				prefix := fmt.Sprintf("jt: error: %s:%d: ", path, tc.line)
				if len(ls) != 1 || !strings.HasPrefix(ls[0], prefix) || !strings.Contains(ls[0], tc.want) {
					t.Errorf("jt %s: stderr %q\nwant one line %q…%q", strings.Join(args, " "), stderr, prefix, tc.want)
				}
			}
			if _, err := os.Stat(ran); err == nil {
				t.Fatalf("ssh ran despite the config error")
			}
		})
	}
}

// jt hosts lists profiles, then the ssh config's concrete
// aliases, following Include the way ssh does (relative paths from
// ~/.ssh, not from the including file), leaving patterns out.
func TestE2EHosts(t *testing.T) {
	e := newEnv(t)
	e.useConfig("[hosts.zprof]\nhost = \"hosta\"\n[hosts.aprof]\n")
	dir := filepath.Join(e.dir, "sshcfg")
	// A name no real ~/.ssh holds: ssh would read it there, not here.
	rel := "jt-e2e-rel-" + filepath.Base(e.dir) + ".conf"
	files := map[string]string{
		"main": "Include " + filepath.Join(dir, "conf.d", "*.conf") + "\nInclude " + rel +
			"\nHost mainalias other-alias\n  User x\nHost *\n  ServerAliveInterval 9\nHost *.example.org !bastion\n",
		"conf.d/a.conf": "Host included-a\n  HostName 10.1.2.3\n",
		"conf.d/b.conf": "host = included-b  # comment\n",
		rel:             "Host relative-here\n  HostName 10.9.8.7\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "main")
	stdout, _ := e.jt("--ssh-config", main, "hosts", "--names")
	want := "aprof\nzprof\nincluded-a\nincluded-b\nmainalias\nother-alias\n"
	if stdout != want {
		t.Errorf("jt hosts --names:\n%s\nwant:\n%s", stdout, want)
	}
	// ssh reads the config the same way: the absolute Include is read, the
	// relative one is looked for in ~/.ssh, not beside the config.
	hostname := func(host string) string {
		out, err := exec.Command("ssh", "-F", main, "-G", host).Output()
		if err != nil {
			t.Fatalf("ssh -G %s: %v", host, err)
		}
		m := regexp.MustCompile(`(?m)^hostname (.*)$`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("ssh -G %s printed no hostname", host)
		}
		return m[1]
	}
	if got := hostname("included-a"); got != "10.1.2.3" {
		t.Errorf("ssh -G included-a: hostname %s, want 10.1.2.3 (from the included file)", got)
	}
	if got := hostname("relative-here"); got != "relative-here" {
		t.Errorf("ssh -G relative-here: hostname %s: ssh read the relative Include beside the config", got)
	}
	stdout, _ = e.jt("--ssh-config", main, "hosts")
	if !regexp.MustCompile(`(?m)^zprof\s+profile\s+hosta$`).MatchString(stdout) || !regexp.MustCompile(`(?m)^included-b\s+ssh config\s+included-b$`).MatchString(stdout) {
		t.Errorf("jt hosts:\n%s", stdout)
	}
}

// The bash completion script, sourced in bash, completes
// "jt open g<TAB>" to a profile (and an ssh alias) through jt hosts.
func TestE2ECompletionAndAlias(t *testing.T) {
	e := newEnv(t)
	e.useConfig("[hosts.gpu-big]\nhost = \"hosta\"\n[hosts.\"cpu.small\"]\nhost = \"hostb\"\n")
	script, _ := e.jt("completion", "bash")
	compFile := filepath.Join(e.dir, "jt.bash")
	os.WriteFile(compFile, []byte(script), 0o600)
	bash := func(body string) string {
		t.Helper()
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", "source "+shellQuote(compFile)+"\n"+body)
		cmd.Env = e.shellEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return string(out)
	}
	complete := `c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _jt; echo "${COMPREPLY[*]}"; }
`
	if got := bash("complete -p jt"); strings.TrimSpace(got) != "complete -F _jt jt" {
		t.Errorf("complete -p jt: %q", got)
	}
	for words, want := range map[string]string{
		"jt open g":                         "gpu-big",
		"jt --ssh-config /dev/null open ''": "cpu.small gpu-big",
		"jt close --kill c":                 "cpu.small",
		"jt op":                             "open",
		"jt open --cons":                    "--console",
		"jt open --console t":               "tmux",
		"jt doctor --name g g":              "gpu-big",
		"jt config ''":                      "path init show",
		"jt completion ''":                  "bash zsh fish",
	} {
		if got := strings.TrimSpace(bash(complete + "c " + words)); got != want {
			t.Errorf("%s<TAB>: %q, want %q", words, got, want)
		}
	}
	// ssh aliases too (JT_SSH_CONFIG is the box's config).
	if got := strings.Fields(bash(complete + "c jt open host")); !slices.Contains(got, hostA) || !slices.Contains(got, hostB) {
		t.Errorf("jt open host<TAB>: %q, want the box's aliases %s and %s", got, hostA, hostB)
	}

	// fish and zsh, where installed (they are optional on the test machine).
	shellEnv := e.shellEnv()
	if fish, err := exec.LookPath("fish"); err == nil {
		script, _ := e.jt("completion", "fish")
		f := filepath.Join(e.dir, "jt.fish")
		os.WriteFile(f, []byte(script), 0o600)
		cmd := exec.Command(fish, "--no-config", "-c", "source "+shellQuote(f)+"; complete -C 'jt open g'; complete -C 'jt open --console s'")
		cmd.Env = shellEnv
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "gpu-big\nscreen\n" {
			t.Errorf("fish completion: %q, %v; want gpu-big and screen", out, err)
		}
	} else {
		t.Log("no fish: its completion is not tested")
	}
	if zsh, err := exec.LookPath("zsh"); err == nil {
		script, _ := e.jt("completion", "zsh")
		f := filepath.Join(e.dir, "jt.zsh")
		os.WriteFile(f, []byte(script), 0o600)
		// zsh runs the bash function through bashcompinit, in sh emulation;
		// compadd (not run here) then keeps the candidates matching "g".
		cmd := exec.Command(zsh, "-f", "-c", "autoload -U compinit; compinit -u; source "+shellQuote(f)+
			"\nemulate sh -c 'COMP_WORDS=(jt open g); COMP_CWORD=2; _jt; printf \"%s\\n\" \"${COMPREPLY[@]}\"'")
		cmd.Env = shellEnv
		if out, err := cmd.CombinedOutput(); err != nil || !slices.Contains(lines(string(out)), "gpu-big") || !slices.Contains(lines(string(out)), hostA) {
			t.Errorf("zsh completion: %q, %v; want the profiles and ssh aliases", out, err)
		}
	} else {
		t.Log("no zsh: its completion is not tested")
	}

	stdout, _ := e.jt("alias")
	if stdout != "alias jcpu_small='jt open cpu.small'\nalias jgpu_big='jt open gpu-big'\n" {
		t.Errorf("jt alias printed %q", stdout)
	}
	if got := bash(`shopt -s expand_aliases; eval "$(jt alias)"; alias jgpu_big`); strings.TrimSpace(got) != "alias jgpu_big='jt open gpu-big'" {
		t.Errorf("the aliases in bash: %q", got)
	}
}

// jt doctor on a working host passes every check; on a host
// where neither screen nor tmux is on the PATH, it says so, gives the fix
// and exits 1.
func TestE2EDoctor(t *testing.T) {
	e := newEnv(t)
	stdout, stderr, code := e.run("doctor", hostA)
	if code != 0 {
		t.Fatalf("jt doctor %s: exit %d\n%s%s", hostA, code, stdout, stderr)
	}
	for _, want := range []string{"ok   ssh client OpenSSH_", "ok   control socket ", "ok   logged in to " + hostA,
		"ok   jt open keeps the server in screen: Screen version", "ok   jupyter notebook 6.", "ok   jupyter notebook can listen on a private unix socket"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("jt doctor output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "FAIL") {
		t.Errorf("a check failed:\n%s", stdout)
	}
	// Without a master the checks log in by themselves.
	if stdout, stderr, code := e.run("--no-mux", "doctor", hostA); code != 0 || !strings.Contains(stdout, "without ControlMaster") || strings.Contains(stdout, "FAIL") {
		t.Errorf("jt --no-mux doctor %s: exit %d\n%s%s", hostA, code, stdout, stderr)
	}

	// A PATH with every tool of the host but screen and tmux.
	remote(t, hostA, `rm -rf "$HOME/nomux" && mkdir "$HOME/nomux"
for f in /usr/local/bin/* /usr/bin/* /bin/*; do
	case ${f##*/} in screen | tmux) continue ;; esac
	[ -e "$HOME/nomux/${f##*/}" ] || ln -s "$f" "$HOME/nomux/"
done
`)
	e.useConfig(fmt.Sprintf("[hosts.pnomux]\nhost = %q\nsetup = [\"PATH=$HOME/nomux\"]\n", hostA))
	stdout, stderr, code = e.run("doctor", "pnomux")
	if code != 1 {
		t.Errorf("jt doctor pnomux: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^FAIL neither screen nor tmux is installed.*\n     fix: install screen .* or tmux, or set console = "none"`).MatchString(stdout) {
		t.Errorf("jt doctor pnomux does not name the problem and the fix:\n%s", stdout)
	}
	if !strings.Contains(stdout, "ok   environment set up (1 setup line); python3 ") || !strings.Contains(stderr, "jt: error: 1 check(s) failed (console)") {
		t.Errorf("jt doctor pnomux:\n%s%s", stdout, stderr)
	}
}

// A profile and its destination share one master; closing the
// profile's session must not end the tunnel of the destination's.
func TestE2EProfileSharesMaster(t *testing.T) {
	e := newEnv(t)
	e.useConfig(fmt.Sprintf("[hosts.pshare]\nhost = %q\n", hostA))
	plain := e.open(hostA, "plain")
	viaProfile := e.openProfile("pshare", "shared", "--name", "shared")
	if e.masterPID(hostA) <= 0 {
		t.Fatal("no master")
	}
	e.jt("close", "--kill", "--name", "shared", "pshare")
	mustAnswer(t, plain.URL)
	mustNotAnswer(t, viaProfile.URL)
	// Once nothing uses it, the master goes.
	e.jt("close", "--kill", "--name", "plain", hostA)
	deadline := time.Now().Add(10 * time.Second)
	for e.masterRunning(hostA) {
		if time.Now().After(deadline) {
			t.Fatal("the master survives the last session's close")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A profile whose venv was made the usual way where Jupyter comes from the
// system (python3 -m venv --system-site-packages, no kernelspec of its
// own): its python is the session's default kernel, so the notebook runs
// in the venv and imports what only the venv has. The user's own
// kernelspecs of other names still show; a session without the profile
// still runs in /usr; close --kill removes the session's kernelspec. A
// venv whose python cannot import ipykernel keeps the system's kernel,
// and jt open says so in one line.
func TestE2EProfileVenvKernel(t *testing.T) {
	e := newEnv(t)
	home := "/home/" + userA
	remote(t, hostA, `set -e
rm -rf "$HOME/kvenv" "$HOME/kbare"
python3 -m venv --system-site-packages --without-pip "$HOME/kvenv"
site=$("$HOME/kvenv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo 'WHERE = "venv"' >"$site/jt_venv_only.py"
python3 -m venv --without-pip "$HOME/kbare"
mkdir -p "$HOME/.local/share/jupyter/kernels/jt-e2e-own"
cat >"$HOME/.local/share/jupyter/kernels/jt-e2e-own/kernel.json" <<'EOF2'
{"argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "the user's own", "language": "python"}
EOF2
`)
	t.Cleanup(func() {
		remoteRun(hostA, `rm -rf "$HOME/kvenv" "$HOME/kbare" "$HOME/.local/share/jupyter/kernels/jt-e2e-own"`+"\n")
	})
	e.useConfig(fmt.Sprintf(`[hosts.pvk]
host = %q
name = "kvenv"
venv = "~/kvenv"

[hosts.pbare]
host = %q
name = "kbare"
venv = "~/kbare"
`, hostA, hostA))

	r, stderr := e.openArgs("pvk", "kvenv", "pvk")
	if strings.Contains(stderr, "ipykernel") {
		t.Errorf("jt open warned about the kernel of a venv that has ipykernel:\n%s", stderr)
	}
	const probe = `import sys
print(sys.prefix)
try:
    import jt_venv_only
    print(jt_venv_only.WHERE)
except ImportError:
    print("not importable")`
	if got, want := kernelOutput(t, r.URL, probe), home+"/kvenv\nvenv\n"; got != want {
		t.Errorf("the venv profile's kernel printed %q, want %q (the venv's prefix, its own module)", got, want)
	}
	status, body, err := api(r.URL, "GET", "api/kernelspecs", nil)
	var specs struct {
		Default     string `json:"default"`
		Kernelspecs map[string]struct {
			Spec struct {
				Argv        []string `json:"argv"`
				DisplayName string   `json:"display_name"`
			} `json:"spec"`
		} `json:"kernelspecs"`
	}
	if err != nil || status != 200 || json.Unmarshal(body, &specs) != nil {
		t.Fatalf("GET /api/kernelspecs: %d %v %s", status, err, body)
	}
	py := specs.Kernelspecs["python3"].Spec
	if specs.Default != "python3" || py.DisplayName != "Python 3 (venv ~/kvenv)" || len(py.Argv) == 0 || py.Argv[0] != home+"/kvenv/bin/python" {
		t.Errorf("kernelspecs: default %q, python3 %+v; want python3 as the venv's python", specs.Default, py)
	}
	if specs.Kernelspecs["jt-e2e-own"].Spec.DisplayName != "the user's own" {
		t.Errorf("the user's own kernelspec is gone: %s", body)
	}

	// Another session on the same host, without the profile: the system's Python.
	plain := e.open(hostA, "kplain")
	if got, want := kernelOutput(t, plain.URL, probe), "/usr\nnot importable\n"; got != want {
		t.Errorf("a session without the venv printed %q, want %q", got, want)
	}

	if out, _ := e.jt("doctor", "pvk"); !strings.Contains(out, "ok   notebooks run in "+home+"/kvenv/bin/python (python 3.") {
		t.Errorf("jt doctor pvk does not name the kernel's python:\n%s", out)
	}

	spec := sessDir(userA, "kvenv") + "/jupyter/kernels/python3/kernel.json"
	if out := remote(t, hostA, "test -f "+shellQuote(spec)+" && echo yes\n"); strings.TrimSpace(out) != "yes" {
		t.Fatalf("no kernelspec at %s", spec)
	}
	e.jt("close", "--kill", "pvk")
	if out := remote(t, hostA, "test -e "+shellQuote(spec)+" && echo left; true\n"); strings.TrimSpace(out) != "" {
		t.Errorf("jt close --kill left %s", spec)
	}
	mustAnswer(t, plain.URL)

	// No ipykernel in the venv: today's kernel, and one line that says so.
	r, stderr = e.openArgs("pbare", "kbare", "pbare")
	var warned []string
	for _, l := range lines(stderr) {
		if strings.Contains(l, "ipykernel") {
			warned = append(warned, l)
		}
	}
	want := "jt: pbare: the venv ~/kbare cannot import ipykernel: notebooks run in Jupyter's default Python kernel, not in it; to run them there: " + home + "/kbare/bin/python -m pip install ipykernel"
	if len(warned) != 1 || warned[0] != want {
		t.Errorf("jt open pbare warned %q, want one line %q", warned, want)
	}
	if got := kernelOutput(t, r.URL, probe); got != "/usr\nnot importable\n" {
		t.Errorf("the kernel of a venv without ipykernel printed %q, want the system's /usr", got)
	}
}
