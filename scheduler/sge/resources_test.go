package sge_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/sge"
	"github.com/jt-sh/jt/templates"
)

func TestSGEResources(t *testing.T) {
	for _, c := range []struct {
		r    scheduler.Resources
		args []string
		want []string
		err  string
	}{
		{r: scheduler.Resources{}, want: nil},
		{r: scheduler.Resources{CPUs: 2, Mem: 1 << 30, Time: 10 * time.Minute, ParallelEnv: "smp", Queue: "all.q"},
			want: []string{"-l", "h_vmem=512M,h_rt=0:10:00", "-pe", "smp", "2", "-q", "all.q"}},
		{r: scheduler.Resources{GPUs: 1, Mem: 1<<20 + 1}, want: []string{"-l", "gpu=1,h_vmem=2M"}},
		{r: scheduler.Resources{GPUs: 1, GPUType: "a100"}, err: "Grid Engine cannot express a GPU type"},
		{r: scheduler.Resources{CPUs: 2}, err: "Grid Engine cannot express --cpus"},
		{r: scheduler.Resources{Time: time.Hour}, args: []string{"-l", "h_vmem=1G,h_rt=2:00:00"}, err: `--time and "-l h_vmem=1G,h_rt=2:00:00"`},
		{r: scheduler.Resources{Mem: 1 << 30}, args: []string{"-l", "h_rt=2:00:00"}, want: []string{"-l", "h_vmem=1024M"}},
		{r: scheduler.Resources{Queue: "a.q"}, args: []string{"-q", "b.q"}, err: `--queue and "-q"`},
		{r: scheduler.Resources{CPUs: 4, ParallelEnv: "smp"}, args: []string{"-pe", "mpi", "4"}, err: `--cpus and "-pe"`},
	} {
		got, err := sge.SGE{}.Resources(c.r, c.args)
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

// qstat -j -xml of a job submitted (held) on the test cluster with
// -l h_vmem=512M,h_rt=0:10:00 -pe smp 2 -q all.q.
func TestSGEJobResources(t *testing.T) {
	data, err := os.ReadFile("testdata/qstat-j-resources.xml")
	if err != nil {
		t.Fatal(err)
	}
	log := []string{"<jt_now>1796695510</jt_now>", "<?xml version='1.0'?>", "<job_info><queue_info></queue_info><job_info>",
		"<job_list><JB_job_number>391</JB_job_number><JB_name>jt-probe</JB_name><state>hqw</state></job_list>",
		"</job_info></job_info>"}
	log = append(log, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
	jobs := sge.SGE{}.Jobs([]templates.Block{{Values: map[string]string{"source": "qstat"}, Log: log}})
	if len(jobs) != 1 || jobs[0].Resources != "pe=smp slots=2 h_vmem=512M h_rt=0:10:00 queue=all.q" {
		t.Errorf("jobs %+v", jobs)
	}
}
