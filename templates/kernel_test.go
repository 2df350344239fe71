//go:build unix

package templates_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// condaPrefix is a conda whose activate exports CONDA_PREFIX=$HOME/cenv.
const condaPrefix = `case "$*" in
"shell.posix hook") cat <<'EOF'
conda() {
	[ "$1" = activate ] && CONDA_PREFIX="$HOME/cenv" && export CONDA_PREFIX
}
EOF
;;
*) exit 2 ;;
esac
`

// A venv or conda env whose python can import ipykernel is the session's
// default kernel: a kernelspec python3 in the session's own directory,
// first on the server's JUPYTER_PATH. Without ipykernel the kernels are
// left alone and the answer says so; close removes what open wrote.
func TestOpenEnvKernel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        templates.Env
		venvDir    string // made under the home, with bin/python
		condaEnv   bool   // make $HOME/cenv/bin/python
		withKernel bool
		wantPy     string // relative to the home; "" when no kernelspec is written
		wantLabel  string
		wantPath   string // the server's JUPYTER_PATH; SESS is the session dir, HOME the home
		wantWarn   string
	}{
		{name: "venv", env: templates.Env{Venv: "~/env"}, venvDir: "env", withKernel: true,
			wantPy: "env/bin/python", wantLabel: "Python 3 (venv ~/env)", wantPath: "SESS/jupyter:HOME/env/share/jupyter"},
		{name: "venv without ipykernel", env: templates.Env{Venv: "~/env"}, venvDir: "env",
			wantPath: "HOME/env/share/jupyter", wantWarn: "the venv ~/env cannot import ipykernel: notebooks run in Jupyter's default Python kernel, not in it; to run them there: HOME/env/bin/python -m pip install ipykernel"},
		{name: "venv quoted", env: templates.Env{Venv: `~/it's "an" env\`}, venvDir: `it's "an" env\`, withKernel: true,
			wantPy: `it's "an" env\/bin/python`, wantLabel: `Python 3 (venv ~/it's "an" env\)`, wantPath: `SESS/jupyter:HOME/it's "an" env\/share/jupyter`},
		{name: "venv absolute", env: templates.Env{Venv: "HOME/abs"}, venvDir: "abs", withKernel: true,
			wantPy: "abs/bin/python", wantLabel: "Python 3 (venv HOME/abs)", wantPath: "SESS/jupyter:HOME/abs/share/jupyter"},
		{name: "conda", env: templates.Env{Conda: "torch"}, condaEnv: true, withKernel: true,
			wantPy: "cenv/bin/python", wantLabel: "Python 3 (conda torch)", wantPath: "SESS/jupyter:HOME/cenv/share/jupyter"},
		{name: "conda without python", env: templates.Env{Conda: "torch"},
			wantPath: "HOME/cenv/share/jupyter", wantWarn: "HOME/cenv/bin/python does not run: notebooks run in Jupyter's default Python kernel, not in the conda torch"},
		{name: "conda then venv", env: templates.Env{Conda: "torch", Venv: "~/env"}, venvDir: "env", condaEnv: true, withKernel: true,
			wantPy: "env/bin/python", wantLabel: "Python 3 (venv ~/env)", wantPath: "SESS/jupyter:HOME/env/share/jupyter:HOME/cenv/share/jupyter"},
		{name: "setup only", env: templates.Env{Setup: []string{"export A=1"}}, wantPath: "unset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			conda := fakeTools(t, home, map[string]string{"conda": condaPrefix})
			if tc.venvDir != "" {
				scripttest.MakeVenv(t, home, tc.venvDir, tc.withKernel)
			}
			if tc.condaEnv {
				scripttest.FakePython(t, filepath.Join(home, "cenv", "bin", "python"), tc.withKernel)
			}
			bin := t.TempDir()
			if err := os.WriteFile(filepath.Join(bin, "jupyter"), []byte(scripttest.EnvJupyter), 0o755); err != nil {
				t.Fatal(err)
			}
			env := tc.env
			env.Venv = strings.ReplaceAll(env.Venv, "HOME", home)
			o := templates.Open{Name: "k", Mode: "tcp", Mux: "none", Timeout: 10, Flavour: "notebook", Env: env}
			path := "PATH=" + bin + ":" + conda + ":" + os.Getenv("PATH")
			r := scripttest.Run(t, home, render(t, o), path)
			sess := filepath.Join(sessionsDir(home), "k")
			closeScript := render(t, templates.Close{Name: "k"})
			defer scripttest.Run(t, home, closeScript, path)
			if len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Error || r.Reply.Blocks[0].Values["status"] != "started" {
				t.Fatalf("open.sh answered %+v\nstderr: %s", r.Reply.Blocks, r.Stderr)
			}
			b := r.Reply.Blocks[0]
			expand := func(s string) string {
				return strings.ReplaceAll(strings.ReplaceAll(s, "SESS", sess), "HOME", home)
			}

			got, _ := os.ReadFile(filepath.Join(sess, "runtime", "jupyter_path"))
			if g := strings.TrimSuffix(string(got), "\n"); g != expand(tc.wantPath) {
				t.Errorf("the server's JUPYTER_PATH is %q, want %q", g, expand(tc.wantPath))
			}
			if w := templates.KernelWarning(b); w != expand(tc.wantWarn) {
				t.Errorf("kernel warning %q, want %q", w, expand(tc.wantWarn))
			}
			spec := scripttest.KernelSpec(t, sess)
			if tc.wantPy == "" {
				if spec != nil {
					t.Errorf("a kernelspec was written: %v", spec)
				}
			} else {
				want := []string{filepath.Join(home, tc.wantPy), "-m", "ipykernel_launcher", "-f", "{connection_file}"}
				if argv := scripttest.ArgvOf(spec); !slices.Equal(argv, want) {
					t.Errorf("kernelspec argv %q, want %q", argv, want)
				}
				if spec["display_name"] != expand(tc.wantLabel) || spec["language"] != "python" {
					t.Errorf("kernelspec %v, want display name %q, language python", spec, expand(tc.wantLabel))
				}
			}

			scripttest.Run(t, home, closeScript, path)
			if _, err := os.Stat(filepath.Join(sess, "jupyter")); !os.IsNotExist(err) {
				t.Errorf("close left the session's kernelspec: %v", err)
			}
		})
	}
}

// A server started again without the env loses the kernelspec of the last.
func TestOpenEnvKernelNotLeftOver(t *testing.T) {
	home := t.TempDir()
	scripttest.MakeVenv(t, home, "env", true)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "jupyter"), []byte(scripttest.EnvJupyter), 0o755); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + bin + ":" + os.Getenv("PATH")
	sess := filepath.Join(sessionsDir(home), "k")
	o := templates.Open{Name: "k", Mode: "tcp", Mux: "none", Timeout: 10, Flavour: "notebook", Env: templates.Env{Venv: "~/env"}}
	defer scripttest.Run(t, home, render(t, templates.Close{Name: "k"}), path)
	r := scripttest.Run(t, home, render(t, o), path)
	if len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Values["status"] != "started" || r.Reply.Blocks[0].Server == nil {
		t.Fatalf("first open: %+v %s", r.Reply.Blocks, r.Stderr)
	}
	if scripttest.KernelSpec(t, sess) == nil {
		t.Fatal("the venv's kernelspec was not written")
	}
	// The server ends (as after a reboot or a crash); its session dir stays.
	pid := r.Reply.Blocks[0].Server.PID
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	o.Env = templates.Env{}
	if r := scripttest.Run(t, home, render(t, o), path); len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Values["status"] != "started" {
		t.Fatalf("second open: %+v %s", r.Reply.Blocks, r.Stderr)
	}
	if spec := scripttest.KernelSpec(t, sess); spec != nil {
		t.Errorf("a server without the venv keeps its kernelspec: %v", spec)
	}
}

func TestKernelWarningVisible(t *testing.T) {
	b := templates.Block{Values: map[string]string{"kernel_warning": "a\x1b[2Jb\x07c ok\u0085"}}
	if got, want := templates.KernelWarning(b), `a\x1b[2Jb\x07c ok\x85`; got != want {
		t.Errorf("KernelWarning = %q, want %q", got, want)
	}
	if got := templates.KernelWarning(templates.Block{Values: map[string]string{}}); got != "" {
		t.Errorf("no warning gave %q", got)
	}
}

// jt doctor says which python the notebooks of a venv profile run in, or
// warns, with the fix, when that python has no ipykernel.
func TestDoctorEnvKernel(t *testing.T) {
	for _, withKernel := range []bool{true, false} {
		home := t.TempDir()
		scripttest.MakeVenv(t, home, "env", withKernel)
		// Quick stand-ins for jupyter: its own checks are not this test's.
		stub := "#!/bin/sh\necho 6.4.12\n"
		bin := fakeTools(t, t.TempDir(), map[string]string{"jupyter": stub, "jupyter-notebook": stub, "jupyter-server": stub, "jupyter-lab": stub})
		r := scripttest.Run(t, home, render(t, templates.Doctor{Name: "default", Mux: "auto", Flavour: "notebook", Env: templates.Env{Venv: "~/env"}}), "PATH="+bin+":"+os.Getenv("PATH"))
		var kernel *templates.Block
		for i, b := range r.Reply.Blocks {
			if b.Values["check"] == "kernel" {
				kernel = &r.Reply.Blocks[i]
			}
		}
		if !r.Reply.Complete || kernel == nil {
			t.Fatalf("ipykernel %v: no kernel check in %+v\nstderr: %s", withKernel, r.Reply.Blocks, r.Stderr)
		}
		py := filepath.Join(home, "env/bin/python")
		v := kernel.Values
		if withKernel {
			if v["status"] != "ok" || !strings.HasPrefix(v["msg"], "notebooks run in "+py+" (python 3.") || !strings.HasSuffix(v["msg"], ", the venv ~/env)") {
				t.Errorf("with ipykernel: %v", v)
			}
		} else if v["status"] != "warn" || !strings.Contains(v["msg"], "cannot import ipykernel") || v["fix"] != "to run them there: "+py+" -m pip install ipykernel" {
			t.Errorf("without ipykernel: %v", v)
		}
	}
}
