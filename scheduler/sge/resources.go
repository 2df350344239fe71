package sge

import (
	"strconv"
	"strings"

	"github.com/jt-sh/jt/scheduler"
)

// own are the qsub options for what jt's resource options ask; requests
// of -l are matched by their complex's name.
var own = scheduler.Own{"-pe": "--cpus", "-q": "--queue"}

var ownComplex = map[string]string{
	"h_vmem": "--mem", "s_vmem": "--mem", "mem_free": "--mem", "h_rt": "--time", "s_rt": "--time", "gpu": "--gpus",
}

// Resources says r as qsub options: -l gpu=N (a site's consumable named
// gpu), -pe PE N for CPUs (slots of the profile's parallel environment),
// -l h_vmem (per slot: the memory asked, shared out), -l h_rt, -q.
func (SGE) Resources(r scheduler.Resources, args []string) ([]string, error) {
	if err := clash(r, args); err != nil {
		return nil, err
	}
	if r.GPUType != "" {
		return nil, scheduler.Cannot("Grid Engine", "a GPU type (--gpus N:"+r.GPUType+")", "it has none of its own; ask for the site's complex in --scheduler-args, like -l gpu_type="+r.GPUType)
	}
	if r.CPUs > 0 && r.ParallelEnv == "" {
		return nil, scheduler.Cannot("Grid Engine", "--cpus", `it gives a job CPUs as slots of a parallel environment: name the site's in the profile (parallel_env = "smp"; qconf -spl lists them)`)
	}
	var out, l []string
	if r.GPUs > 0 {
		l = append(l, "gpu="+strconv.Itoa(r.GPUs))
	}
	if r.Mem > 0 {
		mib := r.MemMiB()
		if r.CPUs > 1 {
			mib = (mib + int64(r.CPUs) - 1) / int64(r.CPUs)
		}
		l = append(l, "h_vmem="+strconv.FormatInt(mib, 10)+"M")
	}
	if r.Time > 0 {
		l = append(l, "h_rt="+r.Clock())
	}
	if len(l) > 0 {
		out = append(out, "-l", strings.Join(l, ","))
	}
	if r.CPUs > 0 {
		out = append(out, "-pe", r.ParallelEnv, strconv.Itoa(r.CPUs))
	}
	if r.Queue != "" {
		out = append(out, "-q", r.Queue)
	}
	return out, nil
}

// clash finds a resource of r that args ask for too: -pe, -q, or a
// request of -l ("-l h_rt=1:00:00,h_vmem=2G").
func clash(r scheduler.Resources, args []string) error {
	if err := own.Clash(r, args); err != nil {
		return err
	}
	asked := map[string]bool{"--gpus": r.GPUs > 0, "--mem": r.Mem > 0, "--time": r.Time > 0}
	for i := 0; i+1 < len(args); i++ {
		if args[i] != "-l" {
			continue
		}
		for _, req := range strings.Split(args[i+1], ",") {
			name, _, _ := strings.Cut(req, "=")
			if jt := ownComplex[strings.TrimSpace(name)]; asked[jt] {
				return scheduler.GivenTwice(jt, "-l "+args[i+1])
			}
		}
	}
	return nil
}
