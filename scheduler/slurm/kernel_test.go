//go:build unix

package slurm_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/slurm"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// The Slurm job sets the same kernel up on the node, in the job's own run
// directory, and jt open --slurm's answer carries the warning when the
// env's python has no ipykernel. sbatch here runs the job at once.
func TestSlurmJobEnvKernel(t *testing.T) {
	for _, withKernel := range []bool{true, false} {
		t.Run(strconv.FormatBool(withKernel), func(t *testing.T) {
			home := t.TempDir()
			scripttest.MakeVenv(t, home, "env", withKernel)
			bin := t.TempDir()
			pidFile := filepath.Join(bin, "job.pid")
			for name, body := range map[string]string{
				"jupyter": scripttest.EnvJupyter,
				"sbatch": `#!/bin/sh
for a in "$@"; do case $a in --output=*) out=${a#--output=} ;; esac; last=$a; done
setsid sh "$last" >>"$out" 2>&1 </dev/null &
echo $! >` + templates.Quote(pidFile) + `
echo 7
`,
				"squeue": `#!/bin/sh
case "$*" in
*--name*) ;;
*'%T|%r|%N|%k'*) echo 'RUNNING|None|node1|jt:00cc' ;;
*'%L|%l'*) echo '59:00|1:00:00' ;;
esac
`,
				"scancel": "#!/bin/sh\nexit 0\n",
			} {
				if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			job, err := slurm.Render(scheduler.JobScript{Name: "sk", Nonce: "00cc", Flavour: "notebook", Port: 9124, Env: templates.Env{Venv: "~/env"}})
			if err != nil {
				t.Fatal(err)
			}
			script, err := slurm.Render(scheduler.OpenScript{Name: "sk", Nonce: "00cc", Job: job, Timeout: 10})
			if err != nil {
				t.Fatal(err)
			}
			r := scripttest.Run(t, home, script, "PATH="+bin+":"+os.Getenv("PATH"))
			defer func() {
				data, _ := os.ReadFile(pidFile)
				if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
					syscall.Kill(pid, syscall.SIGTERM)
				}
			}()
			if len(r.Reply.Blocks) != 1 || r.Reply.Blocks[0].Error || r.Reply.Blocks[0].Values["status"] != "started" {
				t.Fatalf("slurm_open.sh answered %+v\nstderr: %s", r.Reply.Blocks, r.Stderr)
			}
			b := r.Reply.Blocks[0]
			run := filepath.Join(home, ".local/state/jt/slurm/sk/00cc")
			gotPath, _ := os.ReadFile(filepath.Join(run, "runtime", "jupyter_path"))
			spec := scripttest.KernelSpec(t, run)
			log, _ := os.ReadFile(filepath.Join(run, "log"))
			if withKernel {
				want := []string{filepath.Join(home, "env/bin/python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"}
				if argv := scripttest.ArgvOf(spec); !slices.Equal(argv, want) || spec["display_name"] != "Python 3 (venv ~/env)" {
					t.Errorf("the job's kernelspec %v, want argv %q", spec, want)
				}
				if g, w := strings.TrimSpace(string(gotPath)), run+"/jupyter:"+home+"/env/share/jupyter"; g != w {
					t.Errorf("the job's JUPYTER_PATH %q, want %q", g, w)
				}
				if w := templates.KernelWarning(b); w != "" {
					t.Errorf("a warning although the venv has ipykernel: %q", w)
				}
				return
			}
			if spec != nil {
				t.Errorf("a kernelspec without ipykernel: %v", spec)
			}
			if g, w := strings.TrimSpace(string(gotPath)), home+"/env/share/jupyter"; g != w {
				t.Errorf("the job's JUPYTER_PATH %q, want %q", g, w)
			}
			want := "the venv ~/env cannot import ipykernel: notebooks run in Jupyter's default Python kernel, not in it; to run them there: " + home + "/env/bin/python -m pip install ipykernel"
			if w := templates.KernelWarning(b); w != want {
				t.Errorf("warning %q, want %q", w, want)
			}
			if !strings.Contains(string(log), "jt: "+want+"\n") {
				t.Errorf("the job's output lacks the warning:\n%s", log)
			}
		})
	}
}
