package slurm

import (
	"strconv"

	"github.com/jt-sh/jt/scheduler"
)

// own are sbatch's options for what jt's resource options ask.
var own = scheduler.Own{
	"-c": "--cpus", "--cpus-per-task": "--cpus",
	"--mem": "--mem", "--mem-per-cpu": "--mem", "--mem-per-gpu": "--mem",
	"-t": "--time", "--time": "--time",
	"-p": "--queue", "--partition": "--queue",
	"-G": "--gpus", "--gpus": "--gpus", "--gres": "--gpus", "--gpus-per-node": "--gpus", "--gpus-per-task": "--gpus",
}

// Resources says r as sbatch options: --gres=gpu[:TYPE]:N (which needs no
// select/cons_tres), --cpus-per-task, --mem (MiB), --time, --partition.
func (Slurm) Resources(r scheduler.Resources, args []string) ([]string, error) {
	if err := own.Clash(r, args); err != nil {
		return nil, err
	}
	var out []string
	if r.GPUs > 0 {
		gres := "gpu:"
		if r.GPUType != "" {
			gres += r.GPUType + ":"
		}
		out = append(out, "--gres="+gres+strconv.Itoa(r.GPUs))
	}
	if r.CPUs > 0 {
		out = append(out, "--cpus-per-task="+strconv.Itoa(r.CPUs))
	}
	if r.Mem > 0 {
		out = append(out, "--mem="+strconv.FormatInt(r.MemMiB(), 10)+"M")
	}
	if r.Time > 0 {
		out = append(out, "--time="+slurmTime(r.Seconds()))
	}
	if r.Queue != "" {
		out = append(out, "--partition="+r.Queue)
	}
	return out, nil
}

// slurmTime writes seconds as sbatch --time reads them, rounded up to the
// minute (Slurm's unit): MINUTES, or DAYS-HH:MM:00 from a day.
func slurmTime(s int64) string {
	m := (s + 59) / 60
	if m < 24*60 {
		return strconv.FormatInt(m, 10)
	}
	d, h, mm := m/(24*60), m%(24*60)/60, m%60
	return strconv.FormatInt(d, 10) + "-" + two(h) + ":" + two(mm) + ":00"
}

func two(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
