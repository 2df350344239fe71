package htcondor_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/htcondor"
	"github.com/jt-sh/jt/templates/scripttest"
)

func TestHTCondorCheckArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"request_disk=4G", `+ProjectName="x"`, "requirements = (OpSys == \"LINUX\")"}, ""},
		{[]string{"request_disk"}, "not a submit command"},
		{[]string{"-a"}, "not a submit command"},
		{[]string{"executable=/bin/sh"}, "jt writes executable itself"},
		{[]string{"+JtSession = \"other\""}, "jt writes +JtSession itself"},
		{[]string{"Queue = 3"}, "jt writes Queue itself"},
		{[]string{"request_disk=1\nqueue"}, "contains a newline"},
	} {
		err := htcondor.HTCondor{}.CheckArgs(c.args)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("CheckArgs(%q) = %v, want %q", c.args, err, c.err)
		}
	}
}

func TestHTCondorResources(t *testing.T) {
	for _, c := range []struct {
		r    scheduler.Resources
		args []string
		want []string
		err  string
	}{
		{r: scheduler.Resources{}},
		{r: scheduler.Resources{CPUs: 2, Mem: 1 << 30, Time: 10 * time.Minute, Queue: "group_physics"},
			want: []string{"request_cpus = 2", "request_memory = 1024", "allowed_job_duration = 600", "accounting_group = group_physics"}},
		{r: scheduler.Resources{GPUs: 2, GPUType: "a100"}, want: []string{"request_gpus = 2", `require_gpus = regexp("a100", DeviceName, "i")`}},
		{r: scheduler.Resources{CPUs: 2}, args: []string{"Request_Cpus = 4"}, err: `--cpus and "Request_Cpus = 4"`},
		{r: scheduler.Resources{Time: time.Hour}, args: []string{"+MaxRuntime=60"}, err: "--time and"},
		{r: scheduler.Resources{Mem: 1 << 30}, args: []string{"request_cpus=4"}, want: []string{"request_memory = 1024"}},
	} {
		got, err := htcondor.HTCondor{}.Resources(c.r, c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v %q: error %v, want %q", c.r, c.args, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%+v %q: %q, %v; want %q", c.r, c.args, got, err, c.want)
		}
	}
}

// fakeCondor puts condor_submit, condor_q, condor_rm and condor_history
// stand-ins first on PATH: condor_submit copies the submit description it
// reads and answers job 42; condor_q lists q (tab separated lines).
func fakeCondor(t *testing.T, q string) (bin string) {
	t.Helper()
	bin = t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("condor_submit", `for a in "$@"; do last=$a; done
cp "$last" "`+bin+`/submitted"
echo '42.0 - 42.0'
`)
	write("condor_q", "printf '%s' '"+q+"'\n")
	write("condor_rm", "exit 0\n")
	write("condor_history", "exit 0\n")
	return bin
}

// The submit description holds the user's commands as written (nothing
// of them runs), then jt's, which win.
func TestHTCondorOpenSubmitDescription(t *testing.T) {
	home := t.TempDir()
	bin := fakeCondor(t, "")
	args := []string{"request_cpus = 2", "+Project = \"$(touch " + home + "/pwned)\""}
	job, err := htcondor.Render(scheduler.JobScript{Name: "c1", Nonce: "00ff", Flavour: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	script, err := htcondor.Render(scheduler.OpenScript{Name: "c1", Nonce: "00ff", Args: args, Job: job, Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := scripttest.Run(t, home, script, "PATH="+bin+":"+os.Getenv("PATH"))
	sub, err := os.ReadFile(filepath.Join(bin, "submitted"))
	if err != nil {
		t.Fatalf("condor_submit did not run: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	run := filepath.Join(home, ".local/state/jt/htcondor/c1/00ff")
	lines := strings.Split(strings.TrimSuffix(string(sub), "\n"), "\n")
	if lines[0] != args[0] || lines[1] != args[1] || lines[len(lines)-1] != "queue" ||
		!slices.Contains(lines, "executable = "+run+"/job.sh") || !slices.Contains(lines, `+JtSession = "c1"`) ||
		!slices.Contains(lines, `+JtNonce = "00ff"`) || !slices.Contains(lines, `environment = "HOME='`+home+`'"`) {
		t.Errorf("submit description:\n%s", sub)
	}
	if _, err := os.Stat(filepath.Join(home, "pwned")); err == nil {
		t.Error("a value ran as code")
	}
	if id, _ := os.ReadFile(run + "/job"); string(id) != "42\n" {
		t.Errorf("job file %q, want 42", id)
	}
	if len(r.Reply.Blocks) != 1 || !strings.Contains(r.Reply.Blocks[0].Values["error"], "job 42 ended") {
		t.Errorf("answer %+v, want the error that job 42 ended (condor_q knows no job)", r.Reply.Blocks)
	}
}

// jt ls reads condor_q's jobs with a JtSession: state words, the node,
// the time limit and what the job asked for; hostile values are refused
// by the gate or dropped.
func TestHTCondorStatus(t *testing.T) {
	home := t.TempDir()
	q := "7\t2\ts1\tab12\tslot1_1@condorex\t600\t" + "9999999999" + "\t2\t1024\tundefined\tundefined\tundefined\n" +
		"8\t5\ts2\tab13\tundefined\tundefined\tundefined\t1\t128\t1\tgroup_x\tvia condor_hold (by user a)\n" +
		"9;x\t2\ts3\tab14\tundefined\tundefined\tundefined\t1\t1\tundefined\tundefined\tundefined\n" +
		"10\t2\t../x\tab15\tundefined\tundefined\tundefined\t1\t1\tundefined\tundefined\tundefined\n"
	bin := fakeCondor(t, q)
	script := htcondor.HTCondor{}.Status(nil)
	r := scripttest.Run(t, home, script.Text, "PATH="+bin+":"+os.Getenv("PATH"))
	jobs := htcondor.HTCondor{}.Jobs(r.Reply.Blocks)
	if len(jobs) != 2 {
		t.Fatalf("jobs %+v, want 7 and 8", jobs)
	}
	if j := jobs[0]; j.ID != "7" || j.Name != "s1" || j.Nonce != "ab12" || j.Phase != scheduler.Running || j.Node != "condorex" ||
		j.Limit != "0:10:00" || j.Resources != "cpus=2 memory=1024M duration=0:10:00" {
		t.Errorf("running job %+v", j)
	}
	if j := jobs[1]; j.ID != "8" || j.State != "held" || j.Phase != scheduler.Queued || j.Reason != "via condor_hold (by user a)" ||
		j.Resources != "cpus=1 memory=128M group=group_x gpus=1" {
		t.Errorf("held job %+v", j)
	}
}
