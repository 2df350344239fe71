package commands

import (
	"fmt"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/scheduler"
)

// jt's resource options, one vocabulary for every scheduler; each
// scheduler says them in its own submit options (scheduler.Resources).

func resourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "gpus", Usage: "with a scheduler: ask for `N[:TYPE]` GPUs (e.g. 1, 2:a100)"},
		&cli.IntFlag{Name: "cpus", Usage: "with a scheduler: ask for `N` CPUs"},
		&cli.StringFlag{Name: "mem", Usage: "with a scheduler: ask for `SIZE` of memory (512M, 4G)"},
		&cli.DurationFlag{Name: "time", Usage: "with a scheduler: the job's time limit, `DURATION` (30m, 4h)"},
		&cli.StringFlag{Name: "queue", Usage: "with a scheduler: the partition, queue or accounting group `NAME`"},
	}
}

// resourceKeys are the resource keys of a profile, by flag.
var resourceKeys = map[string]string{"gpus": "gpus", "cpus": "cpus", "mem": "mem", "time": "time", "queue": "queue", "parallel-env": "parallel_env"}

// resourceSettings reads the resources asked: [defaults], then the
// profile, then the flags; set names the flags given.
func resourceSettings(c *cli.Context, tables ...config.Table) (r scheduler.Resources, set []string, err error) {
	values := map[string]any{}
	for _, t := range tables {
		for flag, key := range resourceKeys {
			if v, ok := t[key]; ok {
				values[flag] = v.V
			}
		}
	}
	for flag := range resourceKeys {
		if c.IsSet(flag) {
			values[flag] = c.Value(flag)
		}
	}
	flags := make([]string, 0, len(values))
	for flag := range values {
		flags = append(flags, flag)
	}
	sort.Strings(flags)
	for _, flag := range flags {
		v := values[flag]
		if c.IsSet(flag) {
			set = append(set, "--"+flag)
		}
		switch flag {
		case "gpus":
			r.GPUs, r.GPUType, err = scheduler.ParseGPUs(fmt.Sprint(v))
		case "cpus":
			r.CPUs, _ = v.(int)
			err = scheduler.CheckCPUs(r.CPUs)
		case "mem":
			r.Mem, err = scheduler.ParseMem(fmt.Sprint(v))
		case "time":
			r.Time, _ = v.(time.Duration)
			err = scheduler.CheckTime(r.Time)
		case "queue":
			r.Queue = fmt.Sprint(v)
			err = scheduler.CheckQueue("--queue", r.Queue)
		case "parallel-env":
			r.ParallelEnv = fmt.Sprint(v)
			err = scheduler.CheckQueue("parallel_env", r.ParallelEnv)
		}
		if err != nil {
			return r, set, err
		}
	}
	return r, set, nil
}
