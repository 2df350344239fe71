package commands

// The batch schedulers jt knows, and their flags and profile keys. A new
// scheduler is imported here, and given its flags below.

import (
	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/scheduler/slurm"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/validate"
)

func batchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "slurm", Usage: "HOST is a Slurm login node: run Jupyter as a batch job on a compute node (sbatch), and forward to it"},
		&cli.StringFlag{Name: "slurm-args", Usage: "sbatch `OPTIONS` as shell words, e.g. '--partition=gpu --time=2:00:00 --gres=gpu:1 -c 4' (implies --slurm)"},
		&cli.BoolFlag{Name: "keep-queued", Usage: "with --slurm: Ctrl-C while the job waits in the queue leaves it queued (jt open --slurm reattaches later)"},
	}
}

// batchSettings reads --slurm, --slurm-args and --keep-queued, else the
// profile's (or [defaults]') slurm and slurm_args.
func batchSettings(c *cli.Context, cfg *config.File, host string) (session.BatchOptions, error) {
	var o session.BatchOptions
	profile, _ := cfg.Profile(host)
	var defaults config.Table
	if cfg != nil {
		defaults = cfg.Defaults
	}
	enabled := false
	for _, t := range []config.Table{defaults, profile} {
		if v, ok := t["slurm"]; ok {
			enabled, _ = v.V.(bool)
		}
		if v, ok := t["slurm_args"]; ok {
			o.Args, _ = v.V.([]string)
		}
	}
	if c.IsSet("slurm") {
		enabled = c.Bool("slurm")
	}
	if c.IsSet("slurm-args") {
		args, err := validate.ShellWords("--slurm-args", c.String("slurm-args"))
		if err != nil {
			return o, err
		}
		o.Args = args
		if !c.IsSet("slurm") {
			enabled = true
		}
	}
	o.KeepQueued = c.Bool("keep-queued")
	if o.KeepQueued && !enabled {
		return o, usageErrorf("--keep-queued goes with --slurm")
	}
	if enabled {
		o.Scheduler = "slurm"
	}
	return o, slurm.Slurm{}.CheckArgs(o.Args)
}
