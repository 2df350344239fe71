package sge_test

import (
	"os"
	"strings"
	"testing"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/sge"
	"github.com/jt-sh/jt/templates"
)

// status.out is what sge_status.sh answered on the test cluster: a
// running job (h_rt 600, 5s after its start), a held one, and two jobs
// qstat no longer lists that qacct knows.
func TestSGEJobsFromStatus(t *testing.T) {
	out, err := os.ReadFile("testdata/status.out")
	if err != nil {
		t.Fatal(err)
	}
	r, err := templates.Read("h", templates.KindBatchStatus, out)
	if err != nil {
		t.Fatal(err)
	}
	jobs := sge.SGE{}.Jobs(r.Blocks)
	byID := map[string]scheduler.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	run := byID["86"]
	if run.Name != "man" || run.Nonce != "abc123" || run.State != "r" || run.Phase != scheduler.Running || run.Node != "sgenode1" ||
		run.Limit != "0:10:00" || run.Left != "9m55s" || run.Addr != "10.78.0.2" || run.Port != 8888 || run.PID != 14372 || run.Started.Unix() != 1796133446 {
		t.Errorf("running job %+v", run)
	}
	held := byID["87"]
	if held.Name != "manh" || held.Nonce != "abc124" || held.State != "hqw" || held.Phase != scheduler.Queued || held.Reason != "Job is in hold state" || held.Node != "" {
		t.Errorf("held job %+v", held)
	}
	if j := byID["85"]; j.Phase != scheduler.Ended || j.State != "exit 137" || j.Reason != "failed 100 : assumedly after job" {
		t.Errorf("ended job %+v", j)
	}
	if j := byID["1"]; j.Phase != scheduler.Ended || j.State != "exit 0" {
		t.Errorf("ended job %+v", j)
	}
}

// qstat -xml and qstat -j -xml as Grid Engine 8.1.9 wrote them: a running
// job with h_rt 1:00:00, a held one, one in error state, and one that is
// not jt's.
func TestSGEJobsFromQstat(t *testing.T) {
	var log []string
	log = append(log, "<jt_now>1796133095</jt_now>")
	for _, f := range []string{"testdata/qstat.xml", "testdata/qstat-j.xml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
	}
	jobs := sge.SGE{}.Jobs([]templates.Block{{Values: map[string]string{"source": "qstat"}, Log: log}})
	if len(jobs) != 3 {
		t.Fatalf("jobs %+v, want jt's three", jobs)
	}
	want := []scheduler.Job{
		{ID: "82", Name: "run", State: "r", Phase: scheduler.Running, Node: "sgenode1", Limit: "1:00:00", Left: "59m0s", Resources: "h_rt=1:00:00"},
		{ID: "84", Name: "eqw", State: "Eqw", Phase: scheduler.Queued, Reason: "error: can't chdir to /nonexistent: No such file or directory"},
		{ID: "83", Name: "held", State: "hqw", Phase: scheduler.Queued, Reason: "Job is in hold state"},
	}
	for i, w := range want {
		if jobs[i] != w {
			t.Errorf("job %d:\n%+v\nwant\n%+v", i, jobs[i], w)
		}
	}
}

// Values that are not what Grid Engine writes are dropped, not used.
func TestSGEJobsHostile(t *testing.T) {
	log := []string{"<?xml version='1.0'?>", "<job_info><queue_info>",
		"<job_list><JB_job_number>1;rm</JB_job_number><JB_name>jt-a</JB_name><state>r</state></job_list>",
		"<job_list><JB_job_number>2</JB_job_number><JB_name>jt-../x</JB_name><state>r</state></job_list>",
		"<job_list><JB_job_number>3</JB_job_number><JB_name>jt-b</JB_name><state>r r</state></job_list>",
		"<job_list><JB_job_number>4</JB_job_number><JB_name>jt-c</JB_name><state>r</state><queue_name>q@a b</queue_name></job_list>",
		"</queue_info></job_info>", "<?xml version='1.0'?>", "<detailed_job_info><djob_info><element>broken"}
	jobs := sge.SGE{}.Jobs([]templates.Block{{Values: map[string]string{"source": "qstat"}, Log: log}})
	if len(jobs) != 1 || jobs[0].ID != "4" || jobs[0].Node != "" {
		t.Errorf("jobs %+v, want job 4 only, without its node", jobs)
	}
}

// jt's own qsub options, a stray word and -- are refused; the options a
// user gives pass, -pe with its two values.
func TestSGECheckArgs(t *testing.T) {
	for _, ok := range [][]string{nil, {"-q", "all.q"}, {"-l", "h_rt=1:00:00,h_vmem=2G"}, {"-pe", "smp", "4", "-P", "proj"}, {"-h"}, {"-wd", "/tmp", "-cwd", "-l", "gpu=1"}} {
		if err := (sge.SGE{}).CheckArgs(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"-N", "x"}, {"-o", "/tmp/x"}, {"-e", "x"}, {"-j", "y"}, {"-terse"}, {"-sync", "y"}, {"-b", "y"}, {"-S", "/bin/bash"},
		{"-C", "#"}, {"-@", "f"}, {"-t", "1-3"}, {"gpu"}, {"-q", "a", "b"}, {"-pe", "smp", "4", "x"}, {"--"}, {"-l", "a\nb"}, {"-l"}, {"-q", "-h"}, {"-pe", "smp"}} {
		if err := (sge.SGE{}).CheckArgs(bad); err == nil {
			t.Errorf("%q passed", bad)
		}
	}
}
