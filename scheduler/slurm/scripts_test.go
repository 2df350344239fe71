//go:build unix

package slurm_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/slurm"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// The scripts' inputs are every scheduler's (the scheduler package's
// tests parse them with hostile values); Render knows no other input.
func TestRenderSlurmRefuses(t *testing.T) {
	if _, err := slurm.Render(templates.Open{}); err == nil {
		t.Error("Render(Open) should refuse")
	}
}

// fakeSlurm puts sbatch and squeue stand-ins first on PATH: sbatch records
// its argv one word per line and answers job 42; squeue answers $SQUEUE.
func fakeSlurm(t *testing.T) (bin, argvFile string) {
	t.Helper()
	bin = t.TempDir()
	argvFile = filepath.Join(bin, "argv")
	writeExec := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeExec("sbatch", `for a in "$@"; do printf '%s\n' "$a"; done >"`+argvFile+`"
for a in "$@"; do last=$a; done
cp "$last" "`+argvFile+`.job"
stat -c %a "$last" >"`+argvFile+`.mode"
case " $* " in *" -p bad "*) echo "sbatch: error: invalid partition specified: bad" >&2; echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2; exit 1 ;; esac
echo 42
`)
	writeExec("squeue", `printf '%s' "${SQUEUE:-}"`+"\n")
	writeExec("scancel", "exit 0\n")
	return bin, argvFile
}

// Each sbatch option arrives as the one word it was, after the user's
// options come jt's own, and the job script is written as rendered, 0600.
func TestSlurmOpenSubmitsWords(t *testing.T) {
	home := t.TempDir()
	bin, argvFile := fakeSlurm(t)
	args := []string{"--partition=gpu", "-c", "4", "--comment=$(touch " + home + "/pwned)", "it's", `"q"`, "a b", "--mem=1G;x"}
	job, err := slurm.Render(scheduler.JobScript{Name: "s1", Nonce: "00ff", Command: "jupyter lab '$(touch " + home + "/pwned)'"})
	if err != nil {
		t.Fatal(err)
	}
	script, err := slurm.Render(scheduler.OpenScript{Name: "s1", Nonce: "00ff", Args: args, Job: job, Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	// squeue knows no job 42: the script says it ended, after submitting.
	r := scripttest.Run(t, home, script, "PATH="+bin+":"+os.Getenv("PATH"))
	got, err := os.ReadFile(argvFile)
	if err != nil {
		t.Fatalf("sbatch did not run: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	run := filepath.Join(home, ".local/state/jt/slurm/s1/00ff")
	want := append([]string{"--parsable"}, args...)
	want = append(want, "--job-name=jt-s1", "--comment=jt:00ff", "--output="+run+"/log", "--open-mode=append", run+"/job.sh")
	if g := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n"); strings.Join(g, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("sbatch argv:\n%q\nwant\n%q", g, want)
	}
	if data, _ := os.ReadFile(argvFile + ".job"); string(data) != job+"\n" {
		t.Errorf("job script differs from the rendered one:\n%s", data)
	}
	if mode, _ := os.ReadFile(argvFile + ".mode"); strings.TrimSpace(string(mode)) != "600" {
		t.Errorf("job script mode %s, want 600", mode)
	}
	if _, err := os.Stat(filepath.Join(home, "pwned")); err == nil {
		t.Error("a value ran as code")
	}
	if len(r.Reply.Blocks) != 1 || !r.Reply.Blocks[0].Error || !strings.Contains(r.Reply.Blocks[0].Values["error"], "job 42 ended") {
		t.Errorf("answer %+v, want the error that job 42 ended", r.Reply.Blocks)
	}
}

// A refused submission answers sbatch's own message, and leaves no files.
func TestSlurmOpenRefused(t *testing.T) {
	home := t.TempDir()
	bin, _ := fakeSlurm(t)
	script, err := slurm.Render(scheduler.OpenScript{Name: "s2", Nonce: "00aa", Args: []string{"-p", "bad"}, Job: "#!/bin/sh\n", Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := scripttest.Run(t, home, script, "PATH="+bin+":"+os.Getenv("PATH"))
	if len(r.Reply.Blocks) != 1 || !r.Reply.Blocks[0].Error {
		t.Fatalf("answer %+v, want one error", r.Reply.Blocks)
	}
	b := r.Reply.Blocks[0]
	if b.Values["error"] != "sbatch refused the job: Batch job submission failed: Invalid partition name specified" {
		t.Errorf("error %q", b.Values["error"])
	}
	if len(b.Log) != 2 || !strings.Contains(b.Log[0], "invalid partition specified: bad") {
		t.Errorf("detail %q, want sbatch's two lines", b.Log)
	}
	if _, err := os.Stat(filepath.Join(home, ".local/state/jt/slurm/s2")); err == nil {
		t.Error("a refused job left its directory")
	}
}

// Without Slurm on PATH the answer says which command is missing.
func TestSlurmOpenNoSlurm(t *testing.T) {
	home := t.TempDir()
	script, err := slurm.Render(scheduler.OpenScript{Name: "s3", Nonce: "00bb", Job: "#!/bin/sh\n", Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := scripttest.Run(t, home, script, "PATH="+scripttest.PathWithout(t, "sbatch", "squeue", "scancel"))
	if len(r.Reply.Blocks) != 1 || !strings.Contains(r.Reply.Blocks[0].Values["error"], "sbatch not found") {
		t.Errorf("answer %+v, want sbatch not found", r.Reply.Blocks)
	}
}

// The job script runs Jupyter bound to a network address of the node (not
// loopback), says so in a 0600 info file once the runtime file exists, and
// passes scancel's SIGTERM on. With console screen, Jupyter runs in a
// screen window in a private directory of the node's own, which the job
// waits on and says where it is (console), and which goes with the job.
func TestSlurmJobScript(t *testing.T) {
	for _, console := range []string{"none", "screen", "broken screen"} {
		t.Run(console, func(t *testing.T) { testSlurmJobScript(t, console) })
	}
}

func testSlurmJobScript(t *testing.T, console string) {
	broken := console == "broken screen"
	if broken {
		console = "screen"
	}
	if _, err := exec.LookPath("screen"); err != nil && console == "screen" {
		t.Fatal("screen is not installed (apt install screen)")
	}
	home := t.TempDir()
	name, nonce := "j1", "0a0b"
	run := filepath.Join(home, ".local/state/jt/slurm", name, nonce)
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	// A stand-in for jupyter: writes its runtime file and its argv, waits.
	fake := `#!/bin/sh
printf '%s\n' "$@" >"$JUPYTER_RUNTIME_DIR/argv"
printf '%s\n' "${JT_FROM_SETUP:-}" >"$JUPYTER_RUNTIME_DIR/env"
printf '{"pid": %d, "port": 1, "token": "t0k", "base_url": "/"}\n' $$ >"$JUPYTER_RUNTIME_DIR/nbserver-$$.json"
trap 'rm -f "$JUPYTER_RUNTIME_DIR/nbserver-$$.json"; exit 0' TERM
echo fake jupyter is up
while :; do sleep 0.1; done
`
	if err := os.WriteFile(filepath.Join(bin, "jupyter"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if broken {
		// A screen that cannot start a window: Jupyter runs without one.
		if err := os.WriteFile(filepath.Join(bin, "screen"), []byte("#!/bin/sh\necho 'Cannot make directory' >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := slurm.Render(scheduler.JobScript{Name: name, Nonce: nonce, Flavour: "notebook", Port: 9123,
		Env: templates.Env{Setup: []string{"export JT_FROM_SETUP='it works'", "name=clobbered"}}, Console: console})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = []string{"HOME=" + home, "PATH=" + bin + ":" + os.Getenv("PATH")}
	cmd.Dir = home
	// The job's output goes to the log, appended, as sbatch --open-mode=append does.
	logf, err := os.OpenFile(filepath.Join(run, "log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	info := filepath.Join(run, "info")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(info); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no info file after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(info)
	fi, _ := os.Stat(info)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("info has mode %o, want 600", fi.Mode().Perm())
	}
	kv := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		kv[k] = v
	}
	if kv["port"] != "9123" || kv["dir"] != home || !strings.HasPrefix(kv["runtime"], "nbserver-") || kv["pid"] == "" {
		t.Errorf("info %q", data)
	}
	if strings.HasPrefix(kv["addr"], "127.") || kv["addr"] == "" {
		t.Errorf("bound to %q, want a network address of this host", kv["addr"])
	}
	argv, _ := os.ReadFile(filepath.Join(run, "runtime", "argv"))
	want := "notebook\n--no-browser\n--ip=" + kv["addr"] + "\n--port=9123\n--port-retries=0\n"
	if string(argv) != want {
		t.Errorf("jupyter argv %q, want %q", argv, want)
	}
	if env, _ := os.ReadFile(filepath.Join(run, "runtime", "env")); string(env) != "it works\n" {
		t.Errorf("the setup's export reached jupyter as %q", env)
	}
	if kv["runtime"] != "nbserver-"+kv["pid"]+".json" {
		t.Errorf("info names runtime file %s for pid %s: the pid is not Jupyter's", kv["runtime"], kv["pid"])
	}
	cons := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(run, "console")); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			k, v, _ := strings.Cut(l, "=")
			cons[k] = v
		}
	}
	if broken {
		log, _ := os.ReadFile(filepath.Join(run, "log"))
		if len(cons) != 0 || !strings.Contains(string(log), "screen did not start") {
			t.Errorf("with a broken screen: console file %q, log %q; want none, and the log to say so", cons, log)
		}
	} else if console == "screen" {
		if cons["mux"] != "screen" || !regexp.MustCompile(`^[0-9]+\.jt-j1$`).MatchString(cons["id"]) {
			t.Errorf("console file %q, want mux screen and id PID.jt-j1", cons)
		}
		fi, err := os.Lstat(cons["screendir"])
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("screen's directory %s: %v %v, want a 0700 directory", cons["screendir"], fi, err)
		}
		ls := exec.Command("screen", "-ls")
		ls.Env = []string{"HOME=" + home, "SCREENDIR=" + cons["screendir"], "PATH=" + os.Getenv("PATH")}
		if out, _ := ls.CombinedOutput(); !strings.Contains(string(out), cons["id"]) {
			t.Errorf("screen -ls in %s does not list %s:\n%s", cons["screendir"], cons["id"], out)
		}
		var log []byte
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if log, _ = os.ReadFile(filepath.Join(run, "log")); strings.Contains(string(log), "fake jupyter is up") {
				break
			}
		}
		if !strings.Contains(string(log), "fake jupyter is up") {
			t.Errorf("Jupyter's output in the window is not in the log: %q", log)
		}
	} else if len(cons) != 0 {
		t.Errorf("console file %q with console none", cons)
	}
	cmd.Process.Signal(sigterm) // what scancel and the time limit send
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the job script survives SIGTERM")
	}
	if _, err := os.Stat(info); err == nil {
		t.Error("info survives the end of the job")
	}
	if _, err := os.Stat(filepath.Join(run, "console")); err == nil {
		t.Error("the console file survives the end of the job")
	}
	if d := cons["screendir"]; d != "" {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("screen's directory %s survives the end of the job", d)
		}
	}
}
