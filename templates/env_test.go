package templates_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

var fullEnv = templates.Env{
	Setup:   []string{"export JT_A=1", "source ~/env.sh"},
	Modules: []string{"python/3.11"},
	Conda:   "torch",
	Venv:    "~/venv",
}

// envInputs are the scripts that set an environment up.
func envInputs(env templates.Env) []any {
	o := benignOpen
	o.Env = env
	return []any{o, templates.Doctor{Name: "default", Mux: "auto", Flavour: "notebook", Env: env}}
}

// Every environment value reaches the script as one quoted word: a hostile
// one keeps the script's statements and never reaches the shell unquoted.
// (Setup lines are shell code by design, but only when eval runs them.)
func TestRenderEnvHostile(t *testing.T) {
	t.Parallel()
	for _, in := range envInputs(fullEnv) {
		base := shape(parse(t, render(t, in)))
		for i, v := range scripttest.Hostile {
			for _, field := range []string{"Setup", "Modules", "Conda", "Venv"} {
				if v == "" && (field == "Conda" || field == "Venv") {
					continue // empty means not set: nothing is rendered
				}
				env := fullEnv
				env.Setup = slices.Clone(env.Setup)
				env.Modules = slices.Clone(env.Modules)
				switch field {
				case "Setup":
					env.Setup[1] = v
				case "Modules":
					env.Modules[0] = v
				case "Conda":
					env.Conda = v
				case "Venv":
					env.Venv = v
				}
				script := render(t, envInputs(env)[slices.IndexFunc(envInputs(env), func(x any) bool {
					return reflect.TypeOf(x) == reflect.TypeOf(in)
				})])
				f := parse(t, script)
				if got := shape(f); !reflect.DeepEqual(got, base) {
					t.Errorf("%T %s %d: %s", in, field, i, shapeDiff(got, base))
				}
				noCanaryOutsideQuotes(t, f)
				if i%7 == 0 {
					shN(t, script)
				}
			}
		}
	}
}

// findFunc returns the body of the function called name.
func findFunc(t *testing.T, f *syntax.File, name string) *syntax.FuncDecl {
	t.Helper()
	var fd *syntax.FuncDecl
	syntax.Walk(f, func(n syntax.Node) bool {
		if d, ok := n.(*syntax.FuncDecl); ok && d.Name.Value == name {
			fd = d
		}
		return fd == nil
	})
	if fd == nil {
		t.Fatalf("no function %s in the script", name)
	}
	return fd
}

// calls lists the simple commands below node whose first word is cmd.
func calls(node syntax.Node, cmd string) []*syntax.CallExpr {
	var out []*syntax.CallExpr
	syntax.Walk(node, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok && len(c.Args) > 0 && c.Args[0].Lit() == cmd {
			out = append(out, c)
		}
		return true
	})
	return out
}

// wordArgs gives the literal words of a call (non-literal ones as "<expr>").
func wordArgs(c *syntax.CallExpr) []string {
	var out []string
	for _, w := range c.Args {
		if l := w.Lit(); l != "" {
			out = append(out, l)
		} else {
			out = append(out, "<expr>")
		}
	}
	return out
}

// The conda step: a shell hook loaded with eval "$(EXE shell.posix hook)"
// (or "shell hook -s posix" for micromamba and mamba 2), then
// "conda activate NAME" with NAME one single-quoted literal word.
func TestRenderCondaStructure(t *testing.T) {
	for _, name := range []string{"torch", "my env", "it's $(x)", "/opt/envs/py311"} {
		for _, in := range envInputs(templates.Env{Conda: name}) {
			f := parse(t, render(t, in))
			hook := findFunc(t, f, "conda_hook")
			hooks := map[string]bool{}
			for _, ev := range calls(hook, "eval") {
				if len(ev.Args) != 2 || len(ev.Args[1].Parts) != 1 {
					t.Fatalf("eval %v: want one double-quoted word", wordArgs(ev))
				}
				dq, ok := ev.Args[1].Parts[0].(*syntax.DblQuoted)
				if !ok || len(dq.Parts) != 1 {
					t.Fatalf("eval argument is not \"$(…)\"")
				}
				cs, ok := dq.Parts[0].(*syntax.CmdSubst)
				if !ok || len(cs.Stmts) != 1 {
					t.Fatalf("eval argument is not one command substitution")
				}
				inner := cs.Stmts[0].Cmd.(*syntax.CallExpr)
				hooks[strings.Join(wordArgs(inner)[1:], " ")] = true
			}
			if !hooks["shell.posix hook"] || !hooks["shell hook -s posix"] {
				t.Errorf("hooks loaded: %v; want conda's shell.posix hook and micromamba's shell hook -s posix", hooks)
			}
			setup := findFunc(t, f, "env_setup")
			for _, tool := range []string{"conda", "micromamba", "mamba"} {
				cs := calls(setup, tool)
				if len(cs) != 1 {
					t.Fatalf("%d %s calls in env_setup, want 1", len(cs), tool)
				}
				c := cs[0]
				if len(c.Args) != 3 || c.Args[1].Lit() != "activate" {
					t.Fatalf("%s call %v, want: %s activate NAME", tool, wordArgs(c), tool)
				}
				if got := literal(t, c.Args[2]); got != name {
					t.Errorf("%s activate %q, want %q", tool, got, name)
				}
			}
			// The hook comes first, in the same step: conda_hook || return.
			if len(calls(setup, "conda_hook")) != 1 {
				t.Errorf("env_setup does not call conda_hook once")
			}
		}
	}
}

// Without an environment, no setup code is rendered beyond the empty step.
func TestRenderNoEnv(t *testing.T) {
	script := render(t, benignOpen)
	for _, s := range []string{"conda_hook", "module_init", "activate"} {
		if strings.Contains(script, s) {
			t.Errorf("script without an environment mentions %s", s)
		}
	}
}

// fakeTools writes executables into dir/bin.
func fakeTools(t *testing.T, dir string, tools map[string]string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range tools {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

const fakeConda = `case "$*" in
"shell.posix hook") cat <<'EOF'
conda() {
	if [ "$1" = activate ]; then
		[ "$2" = "my env" ] || { echo "EnvironmentNameNotFound: Could not find conda environment: $2" >&2; return 1; }
		export CONDA_DEFAULT_ENV="$2" CONDA_TOOL=conda
	fi
}
EOF
;;
*) exit 2 ;;
esac
`

const fakeMicromamba = `case "$*" in
"shell hook -s posix") cat <<'EOF'
micromamba() {
	[ "$1" = activate ] && export CONDA_DEFAULT_ENV="$2" CONDA_TOOL=micromamba
}
EOF
;;
*) exit 2 ;;
esac
`

// openEnv runs open.sh with mux none and a command that dumps its
// environment to $HOME/env.out: what Jupyter (and its kernels) would get.
func openEnv(t *testing.T, home string, env templates.Env, extraEnv ...string) (scripttest.Result, map[string]string) {
	t.Helper()
	o := benignOpen
	o.Name = uniqueName(t, "env")
	o.Dir, o.Mux, o.Timeout, o.Env = "", "none", 10, env
	o.Command = `sh -c 'env >"$HOME/env.out"'`
	os.Remove(filepath.Join(home, "env.out"))
	r := scripttest.Run(t, home, render(t, o), extraEnv...)
	vars := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(home, "env.out")); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				vars[k] = v
			}
		}
	}
	return r, vars
}

func TestEnvReachesTheServer(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	bin := fakeTools(t, home, map[string]string{"conda": fakeConda})
	scripttest.WriteFiles(t, home, map[string]string{
		"env.sh":                   "export FROM_SOURCE=yes\nname=clobbered dir=/clobbered\n",
		".jt-modules.sh":           "module() { [ \"$1\" = load ] && export LOADED_MODULES=\"${LOADED_MODULES:+$LOADED_MODULES:}$2\"; }\n",
		"venv/bin/activate":        "VIRTUAL_ENV=\"$HOME/venv\"; export VIRTUAL_ENV; PATH=\"$VIRTUAL_ENV/bin:$PATH\"; export PATH\n",
		"venv/bin/python-stand-in": "",
	})
	env := templates.Env{
		Setup:   []string{"export JT_A='a b'", "source ~/env.sh", "source ~/.jt-modules.sh"},
		Modules: []string{"python/3.11", "cuda 12"},
		Conda:   "my env",
		Venv:    "~/venv",
	}
	r, vars := openEnv(t, home, env, "PATH="+bin+":"+os.Getenv("PATH"))
	if len(r.Reply.Blocks) != 1 || !strings.Contains(r.Reply.Blocks[0].Values["error"], "jupyter exited with status 0") {
		t.Fatalf("open.sh answered %+v, want the dumped-env command to exit 0\nstderr: %s", r.Reply.Blocks, r.Stderr)
	}
	for k, want := range map[string]string{
		"JT_A": "a b", "FROM_SOURCE": "yes", "LOADED_MODULES": "python/3.11:cuda 12",
		"CONDA_DEFAULT_ENV": "my env", "CONDA_TOOL": "conda", "VIRTUAL_ENV": filepath.Join(home, "venv"),
	} {
		if vars[k] != want {
			t.Errorf("the server's %s = %q, want %q", k, vars[k], want)
		}
	}
	if want := filepath.Join(home, "venv", "share", "jupyter"); vars["JUPYTER_PATH"] != want {
		t.Errorf("the server's JUPYTER_PATH %q, want the venv's kernels %s first", vars["JUPYTER_PATH"], want)
	}
	if !strings.HasPrefix(vars["PATH"], filepath.Join(home, "venv", "bin")+":") {
		t.Errorf("the server's PATH %q does not start with the venv", vars["PATH"])
	}
	// The setup's "name=clobbered dir=…" did not change jt's own variables.
	if !strings.HasSuffix(vars["JUPYTER_RUNTIME_DIR"], "/"+uniqueName(t, "env")+"/runtime") {
		t.Errorf("JUPYTER_RUNTIME_DIR %q: the setup clobbered the session name", vars["JUPYTER_RUNTIME_DIR"])
	}
	log, _ := os.ReadFile(filepath.Join(sessionsDir(home), uniqueName(t, "env"), "setup.log"))
	for _, step := range []string{"+ export JT_A='a b'", "+ module load python/3.11", "+ conda activate my env", "+ venv ~/venv"} {
		if !strings.Contains(string(log), step) {
			t.Errorf("setup.log lacks %q:\n%s", step, log)
		}
	}
}

func TestEnvMicromamba(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	// Not on PATH: where the micromamba installer puts it.
	fakeTools(t, filepath.Join(home, "micromamba"), map[string]string{"micromamba": fakeMicromamba})
	_, vars := openEnv(t, home, templates.Env{Conda: "torch"})
	if vars["CONDA_DEFAULT_ENV"] != "torch" || vars["CONDA_TOOL"] != "micromamba" {
		t.Errorf("micromamba activation: CONDA_DEFAULT_ENV=%q CONDA_TOOL=%q", vars["CONDA_DEFAULT_ENV"], vars["CONDA_TOOL"])
	}
}

// A failing step stops jt open with the step and its output; the server
// command never runs.
func TestEnvFailureIsReported(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	bin := fakeTools(t, home, map[string]string{"conda": fakeConda})
	for _, tc := range []struct {
		env       templates.Env
		step, out string
	}{
		{templates.Env{Setup: []string{"export A=1", "echo about to fail; false", "export B=2"}}, "echo about to fail; false", "about to fail"},
		{templates.Env{Conda: "nope"}, "conda activate nope", "EnvironmentNameNotFound"},
		{templates.Env{Venv: "~/novenv"}, "venv ~/novenv", "not a Python venv"},
		{templates.Env{Modules: []string{"python/3.11"}}, "module (init)", "no module command"},
		{templates.Env{Setup: []string{"echo bye; exit 3"}}, "echo bye; exit 3", "bye"},
	} {
		r, vars := openEnv(t, home, tc.env, "PATH="+bin+":"+os.Getenv("PATH"))
		if len(r.Reply.Blocks) != 1 || !r.Reply.Blocks[0].Error {
			t.Errorf("%+v: answer %+v, want an error\nstderr: %s", tc.env, r.Reply.Blocks, r.Stderr)
			continue
		}
		b := r.Reply.Blocks[0]
		if !strings.HasSuffix(b.Values["error"], "at: "+tc.step) || b.Values["hint"] == "" {
			t.Errorf("%+v: error %q hint %q, want the failing step %q", tc.env, b.Values["error"], b.Values["hint"], tc.step)
		}
		if !strings.Contains(strings.Join(b.Log, "\n"), tc.out) {
			t.Errorf("%+v: the answer's log %q lacks %q", tc.env, b.Log, tc.out)
		}
		if len(vars) > 0 {
			t.Errorf("%+v: the server command ran after a failed setup", tc.env)
		}
	}
}

// A setup line reading stdin must not eat the rest of the script (which
// is sh's stdin).
func TestEnvSetupCannotReadTheScript(t *testing.T) {
	home := t.TempDir()
	r, vars := openEnv(t, home, templates.Env{Setup: []string{"cat >/dev/null; export AFTER=1"}})
	if vars["AFTER"] != "1" {
		t.Errorf("setup reading stdin broke the script: %+v\nstderr: %s", r.Reply.Blocks, r.Stderr)
	}
}

func TestDoctorScript(t *testing.T) {
	home := t.TempDir()
	d := templates.Doctor{Name: "default", Mux: "auto", Flavour: "notebook", Env: templates.Env{Setup: []string{"export X=1"}}}
	r := scripttest.Run(t, home, render(t, d))
	if !r.Reply.Complete {
		t.Fatalf("doctor.sh did not finish: %+v\nstdout: %s\nstderr: %s", r.Reply, r.Stdout, r.Stderr)
	}
	got := map[string]string{}
	for _, b := range r.Reply.Blocks {
		got[b.Values["check"]] = b.Values["status"]
		if b.Values["msg"] == "" {
			t.Errorf("check %s has no message", b.Values["check"])
		}
	}
	for _, c := range []string{"shell", "sh", "state", "env", "console", "jupyter"} {
		if got[c] == "" {
			t.Errorf("no %s check: %v", c, got)
		}
	}
	if got["env"] != "ok" || got["state"] != "ok" {
		t.Errorf("checks %v", got)
	}

	// A failing setup is reported with its output, and the checks go on.
	d.Env.Setup = []string{"echo broken >&2; false"}
	r = scripttest.Run(t, home, render(t, d))
	var env templates.Block
	for _, b := range r.Reply.Blocks {
		if b.Values["check"] == "env" {
			env = b
		}
	}
	if env.Values["status"] != "fail" || env.Values["fix"] == "" || !slices.Contains(env.Log, "broken") || !r.Reply.Complete {
		t.Errorf("failed setup: %+v (complete %v)", env, r.Reply.Complete)
	}
}
