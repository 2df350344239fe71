package commands

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/scheduler/slurm"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

func TestSplitSlurmArgs(t *testing.T) {
	ok := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"-p gpu --time=1:00:00", []string{"-p", "gpu", "--time=1:00:00"}},
		{`--comment-not="a b" -c 4`, []string{"--comment-not=a b", "-c", "4"}},
		{`--x='it'\''s'`, []string{"--x=it's"}},
		{`--x=a\ b`, []string{"--x=a b"}},
		{`--gres=gpu:1 --mem=4G --account=proj-1`, []string{"--gres=gpu:1", "--mem=4G", "--account=proj-1"}},
	}
	for _, c := range ok {
		got, err := validate.ShellWords("--slurm-args", c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("splitSlurmArgs(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"--x=$HOME", "--x=$(touch /tmp/pwned)", "--x=`id`", `--x="$(id)"`, `--x="${HOME}"`,
		"--x=$((1+1))", "--nodelist=node[1-4]", "--x=*", "~/x", "--x='unterminated", `--x=$'\n'`,
		"a\x00b", "-p gpu; rm -rf ~", "--x=<(id)", "--x=a|b",
	}
	for _, in := range bad {
		if got, err := validate.ShellWords("--slurm-args", in); err == nil {
			if verr := (slurm.Slurm{}).CheckArgs(got); verr == nil {
				t.Errorf("splitSlurmArgs(%q) = %q, accepted; want a refusal", in, got)
			}
		} else if !errors.As(err, new(*validate.UsageError)) {
			t.Errorf("splitSlurmArgs(%q): %v is not a usage error", in, err)
		}
	}
}

func TestValidSlurmArgs(t *testing.T) {
	for _, good := range [][]string{
		nil,
		{"-p", "gpu"},
		{"--partition", "gpu", "--exclusive"},
		{"-pgpu", "-c4", "--mem=4G", "--time=2:00:00"},
		{"--export=ALL,FOO=a b"},
	} {
		if err := (slurm.Slurm{}).CheckArgs(good); err != nil {
			t.Errorf("validSlurmArgs(%q): %v", good, err)
		}
	}
	for _, bad := range [][]string{
		{"gpu"},
		{"--exclusive=user", "gpu"},
		{"-p", "gpu", "extra"},
		{"--"},
		{"-"},
		{"-J", "x"}, {"-Jx"}, {"--job-name=x"}, {"--comment=x"}, {"-o", "/tmp/x"}, {"--output=x"},
		{"--wrap=id"}, {"--parsable"}, {"--open-mode=truncate"},
		{"--x=a\nb"}, {"--x=a\rb"}, {"--x=" + strings.Repeat("a", 5000)},
	} {
		if err := (slurm.Slurm{}).CheckArgs(bad); err == nil {
			t.Errorf("validSlurmArgs(%q) accepted", bad)
		}
	}
}

func TestSlurmDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0:00":       0,
		"59:10":      59*time.Minute + 10*time.Second,
		"1:00:00":    time.Hour,
		"2-03:04:05": 51*time.Hour + 4*time.Minute + 5*time.Second,
		"1-00:00:00": 24 * time.Hour,
		"30":         30 * time.Minute,
		"1-2":        26 * time.Hour,
		"1-2:30":     26*time.Hour + 30*time.Minute,
	} {
		got, ok := slurm.Duration(in)
		if !ok || got != want {
			t.Errorf("slurm.Duration(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "UNLIMITED", "NOT_SET", "INVALID", "1:2:3:4", "a:b", "-1:00", "1--2"} {
		if _, ok := slurm.Duration(in); ok {
			t.Errorf("slurm.Duration(%q) accepted", in)
		}
	}
}

func TestJobColumn(t *testing.T) {
	for _, c := range []struct {
		r    session.Status
		want string
	}{
		{session.Status{}, "-"},
		{session.Status{Session: state.Session{Job: &state.Job{ID: "12"}}, JobState: "RUNNING", TimeLeft: "59m10s"}, "12 RUNNING 59m10s left"},
		{session.Status{Session: state.Session{Job: &state.Job{ID: "12"}}, JobState: "RUNNING", TimeLeft: "unlimited"}, "12 RUNNING no time limit"},
		{session.Status{Session: state.Session{Job: &state.Job{ID: "12"}}, JobState: "PENDING", JobReason: "Priority"}, "12 PENDING (Priority)"},
		{session.Status{Session: state.Session{Job: &state.Job{ID: "12"}}, JobState: "CANCELLED", JobReason: "None"}, "12 CANCELLED"},
	} {
		if got := jobColumn(c.r); got != c.want {
			t.Errorf("jobColumn(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
}

// slurmAnswer is slurm_open.sh's output for a job that waited, then ran.
const slurmAnswer = `motd: welcome to the cluster
@@JT-QUEUE@@ 42|PENDING|None|0||started
@@JT-QUEUE@@ 42|PENDING|Priority|1||started
@@JT-QUEUE@@ 42|PENDING|Priority|11||started
@@JT-QUEUE@@ 42|RUNNING|None|12|node7|started
@@JT-SESSION@@
status=started
name=default
job=42
nonce=0a1b2c3d4e5f60718293a4b5
node=node7
addr=10.1.2.7
port=8888
pid=5151
runtime=nbserver-5151.json
started=1700000500
left=59:50
limit=1:00:00
dir=/home/a
log=/home/a/.local/state/jt/slurm/default/0a1b2c3d4e5f60718293a4b5/log
@@JT-JSON@@
{"pid":5151,"port":8888,"token":"abc","base_url":"/"}
@@JT-END@@
`

// slurmRunning is slurm_status.sh's answer while slurmAnswer's job runs.
const slurmRunning = `@@JT-SESSION@@
job=42
name=default
nonce=0a1b2c3d4e5f60718293a4b5
state=RUNNING
reason=None
nodes=node7
left=59:50
limit=1:00:00
info_addr=10.1.2.7
info_port=8888
info_pid=5151
info_runtime=nbserver-5151.json
@@JT-JSON@@
{"pid":5151,"port":8888,"token":"abc","base_url":"/"}
@@JT-END@@
@@JT-DONE@@
`

// jt open --slurm: one streamed script on the login node, whose queue
// lines become progress; a forward to the node's address; a record with
// the job; jt ls without a round trip while the tunnel answers; jt close
// --kill cancels the job and drops the record.
func TestSlurmOpenLsClose(t *testing.T) {
	e := newTestEnv(t)
	var scripts []string
	e.ssh.script = func(script string) (sshexec.Result, error) {
		scripts = append(scripts, script)
		switch {
		case strings.Contains(script, "# jt open --slurm, on the login node"):
			return sshexec.Result{Stdout: []byte(slurmAnswer)}, nil
		case strings.Contains(script, "# jt close --kill of a Slurm session"):
			return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nname=default\njobs=42\nstate=cancelled\n@@JT-END@@\n")}, nil
		case strings.Contains(script, "# jt ls: the remote user's jt jobs"):
			return sshexec.Result{Stdout: []byte(slurmRunning)}, nil
		}
		t.Errorf("unexpected script:\n%s", script)
		return sshexec.Result{}, nil
	}
	o := openOptions{Host: "login1", Name: "default", Flavour: "notebook", Mux: "auto", Timeout: time.Minute, NoBrowser: true,
		Slurm: slurmOptions{Enabled: true, Args: []string{"--partition=gpu", "-c", "4"}}}
	if err := runOpen(context.Background(), e.d, o); err != nil {
		t.Fatalf("open: %v\n%s", err, e.stderr)
	}
	if got := e.stdout.String(); !strings.HasPrefix(got, "http://127.0.0.1:") || !strings.HasSuffix(got, "/?token=abc\n") {
		t.Errorf("stdout %q", got)
	}
	// Each change of state or reason once; the mere passing of time not
	// (stderr is no terminal here).
	wantErr := []string{
		"jt: job 42 on login1: PENDING, 0s waiting",
		"jt: job 42 on login1: PENDING (Priority), 1s waiting",
		"jt: job 42 on login1: RUNNING on node7, waiting for Jupyter",
		"jt: job 42's Jupyter listens on TCP 10.1.2.7:8888: anyone on the cluster's network can reach it, only the token keeps them out (exposure token-only)",
	}
	if got := strings.Split(strings.TrimSpace(e.stderr.String()), "\n"); !slices.Equal(got, wantErr) {
		t.Errorf("stderr:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErr, "\n"))
	}
	var stream, forward *call
	for _, c := range e.ssh.Calls() {
		switch c.Kind {
		case "script":
			if stream == nil {
				stream = &c
			}
		case "forward":
			forward = &c
		}
	}
	if stream == nil || stream.Mode != sshexec.Stream {
		t.Fatalf("the waiting script was not streamed: %+v", stream)
	}
	if !strings.Contains(stream.Stdin, "set -- '--partition=gpu' '-c' '4' ") {
		t.Errorf("the sbatch options are not quoted words in the script")
	}
	if forward == nil || !slices.Contains(forward.Args, "-L") || forward.Args[slices.Index(forward.Args, "-L")+1] != "127.0.0.1:"+strings.Split(strings.TrimPrefix(e.stdout.String(), "http://127.0.0.1:"), "/")[0]+":10.1.2.7:8888" {
		t.Errorf("forward %+v, want -L 127.0.0.1:LP:10.1.2.7:8888", forward)
	}
	checkArgv(t, e.ssh.Calls(), "login1")
	f, _ := e.d.Engine.Store.Load()
	s, ok := f.Find("login1", "default")
	if !ok || s.Job == nil || s.Job.Scheduler != "slurm" || s.Job.ID != "42" || s.Job.Node != "node7" || s.Job.Nonce != "0a1b2c3d4e5f60718293a4b5" || s.RemoteHost != "10.1.2.7" || s.PID != 5151 || s.Job.Limit != "1:00:00" {
		t.Fatalf("record %+v", s)
	}
	if want := time.Unix(1700000600, 0).Add(59*time.Minute + 50*time.Second).UTC(); !s.Job.End.Equal(want) {
		t.Errorf("slurm_end %v, want %v", s.Job.End, want)
	}
	if len(f.Pending) != 0 {
		t.Errorf("pending records left: %+v", f.Pending)
	}

	// ls: the tunnel answers and Slurm vouches for the job's server (one
	// status script, while the tunnel is probed without the token); the
	// JOB column shows the time left.
	e.ssh.Reset()
	e.stdout.Reset()
	if err := runLs(context.Background(), e.d, lsOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if k := e.ssh.Kinds(); !slices.Equal(without(k, "check"), []string{"script"}) {
		t.Errorf("ls ran ssh %v, want checks and the status script", k)
	}
	if out := e.stdout.String(); !strings.Contains(out, "node7:8888") || !strings.Contains(out, "42 RUNNING 59m50s left") {
		t.Errorf("ls:\n%s", out)
	}

	// A plain jt open of the same name does not start a second server.
	err := runOpen(context.Background(), e.d, openOptions{Host: "login1", Name: "default", Flavour: "notebook", Mux: "auto", Timeout: time.Minute, NoBrowser: true})
	if err == nil || !strings.Contains(err.Error(), "is Slurm job 42") {
		t.Errorf("plain open of a Slurm session: %v", err)
	}

	e.ssh.Reset()
	if err := runClose(context.Background(), e.d, closeOptions{Host: "login1", Name: "default", Kill: true, Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.stderr.String(), "cancelled job 42") {
		t.Errorf("close stderr:\n%s", e.stderr)
	}
	var cancelled bool
	for _, c := range e.ssh.Calls() {
		if c.Kind == "cancel" && slices.Contains(c.Args, "127.0.0.1:"+strings.Split(strings.TrimPrefix(forward.Args[slices.Index(forward.Args, "-L")+1], "127.0.0.1:"), ":")[0]+":10.1.2.7:8888") {
			cancelled = true
		}
	}
	if !cancelled {
		t.Errorf("close did not cancel the forward to the node: %v", e.ssh.Calls())
	}
	if f, _ := e.d.Engine.Store.Load(); len(f.Sessions) != 0 {
		t.Errorf("records left: %+v", f.Sessions)
	}
}

// A refused submission: sbatch's message, no record, no undo noise.
func TestSlurmOpenRefused(t *testing.T) {
	e := newTestEnv(t)
	e.ssh.script = func(script string) (sshexec.Result, error) {
		return sshexec.Result{Stdout: []byte("@@JT-ERROR@@\nerror=sbatch refused the job: Invalid partition name specified\nhint=check --slurm-args\n@@JT-LOG@@\n|sbatch: error: invalid partition specified: nope\n@@JT-END@@\n")}, nil
	}
	o := openOptions{Host: "login1", Name: "default", Flavour: "notebook", Mux: "auto", Timeout: time.Minute, NoBrowser: true,
		Slurm: slurmOptions{Enabled: true, Args: []string{"-p", "nope"}}}
	err := runOpen(context.Background(), e.d, o)
	var h *session.HintError
	if !errors.As(err, &h) || !strings.Contains(err.Error(), "Invalid partition name") || len(h.Detail) != 1 {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(e.stderr.String(), "undoing") {
		t.Errorf("stderr %q: nothing was submitted, nothing to undo", e.stderr)
	}
	if f, _ := e.d.Engine.Store.Load(); len(f.Sessions) != 0 || len(f.Pending) != 0 {
		t.Errorf("state %+v", f)
	}
}

// Flags win over the profile, the profile over [defaults]; --slurm-args
// alone implies --slurm.
func TestSlurmSettings(t *testing.T) {
	cfg, err := config.Parse("/c.toml", `[defaults]
slurm_args = ["--time=1:00:00"]
[hosts.hpc]
slurm = true
slurm_args = ["--partition=gpu", "--gres=gpu:1"]
[hosts.plain]
[hosts.generic]
scheduler = "slurm"
scheduler_args = ["-c", "8"]
[hosts.off]
slurm = true
scheduler = "none"
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host string
		args []string
		want slurmOptions
		bad  bool
	}{
		{"hpc", nil, slurmOptions{Enabled: true, Args: []string{"--partition=gpu", "--gres=gpu:1"}}, false},
		{"hpc", []string{"--slurm=false"}, slurmOptions{Args: []string{"--partition=gpu", "--gres=gpu:1"}}, false},
		{"hpc", []string{"--slurm-args", "-c 2"}, slurmOptions{Enabled: true, Args: []string{"-c", "2"}}, false},
		{"plain", nil, slurmOptions{Args: []string{"--time=1:00:00"}}, false},
		{"plain", []string{"--slurm-args", "--mem=1G", "--keep-queued"}, slurmOptions{Enabled: true, Args: []string{"--mem=1G"}, KeepQueued: true}, false},
		{"plain", []string{"--keep-queued"}, slurmOptions{}, true},
		{"plain", []string{"--slurm-args", "--job-name=x"}, slurmOptions{}, true},
		// The scheduler by name: --scheduler and the profile's scheduler key.
		{"plain", []string{"--scheduler", "slurm"}, slurmOptions{Enabled: true, Args: []string{"--time=1:00:00"}}, false},
		{"plain", []string{"--scheduler", "slurm", "--scheduler-args", "-p gpu"}, slurmOptions{Enabled: true, Args: []string{"-p", "gpu"}}, false},
		{"generic", nil, slurmOptions{Enabled: true, Args: []string{"-c", "8"}}, false},
		{"generic", []string{"--scheduler", "none"}, slurmOptions{Args: []string{"-c", "8"}}, false},
		{"off", nil, slurmOptions{Args: []string{"--time=1:00:00"}}, false},
		{"hpc", []string{"--scheduler=none", "--keep-queued"}, slurmOptions{}, true},
		{"plain", []string{"--scheduler", "pbs"}, slurmOptions{}, true},
		{"plain", []string{"--scheduler", "slurm", "--slurm"}, slurmOptions{}, true},
		{"plain", []string{"--scheduler-args", "-c 2"}, slurmOptions{}, true},
		{"generic", []string{"--scheduler-args", "--wrap=x"}, slurmOptions{}, true},
	} {
		var got slurmOptions
		app := &cli.App{Flags: batchFlags(), Action: func(cc *cli.Context) error {
			b, err := batchSettings(cc, cfg, c.host)
			got = slurmOptions{Enabled: b.Scheduler == "slurm", Args: b.Args, KeepQueued: b.KeepQueued}
			return err
		}}
		err := app.Run(append([]string{"jt"}, c.args...))
		if c.bad {
			if err == nil {
				t.Errorf("%s %q: accepted", c.host, c.args)
			}
			continue
		}
		if err != nil || got.Enabled != c.want.Enabled || got.KeepQueued != c.want.KeepQueued || !slices.Equal(got.Args, c.want.Args) {
			t.Errorf("%s %q: %+v, %v; want %+v", c.host, c.args, got, err, c.want)
		}
	}
}
