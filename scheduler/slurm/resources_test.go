package slurm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/slurm"
)

func TestSlurmResources(t *testing.T) {
	for _, c := range []struct {
		r    scheduler.Resources
		args []string
		want []string
		err  string
	}{
		{r: scheduler.Resources{}, want: nil},
		{r: scheduler.Resources{CPUs: 2, Mem: 1 << 30, Time: 10 * time.Minute, Queue: "debug"},
			want: []string{"--cpus-per-task=2", "--mem=1024M", "--time=10", "--partition=debug"}},
		{r: scheduler.Resources{GPUs: 2, GPUType: "a100", Time: 25*time.Hour + 30*time.Second}, want: []string{"--gres=gpu:a100:2", "--time=1-01:01:00"}},
		{r: scheduler.Resources{GPUs: 1, ParallelEnv: "smp"}, want: []string{"--gres=gpu:1"}},
		{r: scheduler.Resources{CPUs: 2}, args: []string{"-c3"}, err: `--cpus and "-c3"`},
		{r: scheduler.Resources{CPUs: 2}, args: []string{"--cpus-per-task", "3"}, err: `--cpus and "--cpus-per-task"`},
		{r: scheduler.Resources{Time: time.Hour}, args: []string{"--time=2:00:00"}, err: `--time and "--time=2:00:00"`},
		{r: scheduler.Resources{GPUs: 1}, args: []string{"--gres=gpu:1"}, err: "--gpus and"},
		{r: scheduler.Resources{Queue: "gpu"}, args: []string{"-pgpu"}, err: "--queue and"},
		{r: scheduler.Resources{Mem: 1 << 30}, args: []string{"-c", "2", "--time=5"}, want: []string{"--mem=1024M"}},
	} {
		got, err := slurm.Slurm{}.Resources(c.r, c.args)
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
