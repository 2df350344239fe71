package commands

// The batch schedulers jt knows, and their flags and profile keys. A new
// scheduler is imported here; --scheduler NAME and the profile's
// scheduler = "NAME" reach it without more.

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/scheduler"
	_ "github.com/jt-sh/jt/scheduler/htcondor" // registers "htcondor"
	_ "github.com/jt-sh/jt/scheduler/sge"      // registers "sge"
	_ "github.com/jt-sh/jt/scheduler/slurm"    // registers "slurm"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

func batchFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "scheduler", Usage: "HOST is a login node of batch scheduler `NAME` (" + strings.Join(scheduler.Names(), ", ") + "): run Jupyter as a job on a compute node, and forward to it; none: on HOST itself"},
		&cli.StringFlag{Name: "scheduler-args", Usage: "the scheduler's submit `OPTIONS` as shell words, e.g. '--partition=gpu --time=2:00:00 --gres=gpu:1 -c 4'"},
		&cli.BoolFlag{Name: "slurm", Usage: "HOST is a Slurm login node (--scheduler slurm): run Jupyter as a batch job on a compute node (sbatch), and forward to it"},
		&cli.StringFlag{Name: "slurm-args", Usage: "sbatch `OPTIONS` as shell words, e.g. '--partition=gpu --time=2:00:00 --gres=gpu:1 -c 4' (implies --slurm)"},
		&cli.BoolFlag{Name: "keep-queued", Usage: "with a scheduler: Ctrl-C while the job waits in the queue leaves it queued (jt open reattaches later)"},
		&cli.BoolFlag{Name: "private", Usage: "with a scheduler: only a server on a unix socket on the node, reached by ssh to it (no fallback to TCP + token); the profile's private = true"},
	}, resourceFlags()...)
}

// batchChoice is a scheduler and its options as one source sets them.
type batchChoice struct {
	name    string // "" for not set; "none" for no scheduler
	args    []string
	hasArgs bool
	private *bool
}

// fromTable reads a profile's (or [defaults]') scheduler keys: scheduler
// and scheduler_args, or the shorthands slurm and slurm_args.
func fromTable(t config.Table) batchChoice {
	var b batchChoice
	if v, ok := t["slurm"]; ok {
		if on, _ := v.V.(bool); on {
			b.name = "slurm"
		} else {
			b.name = "none"
		}
	}
	if v, ok := t["scheduler"]; ok {
		b.name, _ = v.V.(string)
	}
	if v, ok := t["private"]; ok {
		if on, ok := v.V.(bool); ok {
			b.private = &on
		}
	}
	for _, k := range []string{"slurm_args", "scheduler_args"} {
		if v, ok := t[k]; ok {
			b.args, _ = v.V.([]string)
			b.hasArgs = true
		}
	}
	return b
}

// fromFlags reads --scheduler and --scheduler-args, or the shorthands
// --slurm and --slurm-args (which imply --slurm).
func fromFlags(c *cli.Context) (batchChoice, error) {
	var b batchChoice
	for _, f := range []struct{ flag, implies string }{{"slurm-args", "slurm"}, {"scheduler-args", ""}} {
		if !c.IsSet(f.flag) {
			continue
		}
		args, err := validate.ShellWords("--"+f.flag, c.String(f.flag))
		if err != nil {
			return b, err
		}
		b.args, b.hasArgs, b.name = args, true, f.implies
	}
	if c.IsSet("private") {
		on := c.Bool("private")
		b.private = &on
	}
	if c.IsSet("slurm") {
		b.name = "none"
		if c.Bool("slurm") {
			b.name = "slurm"
		}
	}
	if c.IsSet("scheduler") {
		if c.IsSet("slurm") || c.IsSet("slurm-args") {
			return b, usageErrorf("--slurm and --slurm-args are the shorthand of --scheduler slurm: give one of them")
		}
		b.name = c.String("scheduler")
	}
	return b, nil
}

// batchSettings is where jt open runs Jupyter: [defaults], then the
// profile, then the flags, each overriding what the one before set.
func batchSettings(c *cli.Context, cfg *config.File, host string) (session.BatchOptions, error) {
	var o session.BatchOptions
	profile, _ := cfg.Profile(host)
	var defaults config.Table
	if cfg != nil {
		defaults = cfg.Defaults
	}
	flags, err := fromFlags(c)
	if err != nil {
		return o, err
	}
	res, set, err := resourceSettings(c, defaults, profile)
	if err != nil {
		return o, err
	}
	name := ""
	for _, b := range []batchChoice{fromTable(defaults), fromTable(profile), flags} {
		if b.name != "" {
			name = b.name
		}
		if b.hasArgs {
			o.Args = b.args
		}
		if b.private != nil {
			o.Private = *b.private
		}
	}
	if name == "none" {
		name = ""
	}
	o.KeepQueued = c.Bool("keep-queued")
	switch {
	case name == "" && o.KeepQueued:
		return o, usageErrorf("--keep-queued goes with a scheduler (--slurm, or --scheduler NAME)")
	case name == "" && c.Bool("private"):
		return o, usageErrorf("--private goes with a scheduler (--slurm, or --scheduler NAME): a session on HOST itself listens on a private unix socket already")
	case name == "" && c.IsSet("scheduler-args"):
		return o, usageErrorf("--scheduler-args goes with a scheduler (--scheduler NAME)")
	case name == "" && len(set) > 0:
		return o, usageErrorf("%s goes with a scheduler (--scheduler NAME): it asks the job for what it needs", set[0])
	case name == "":
		o.Private = false
		return o, nil
	}
	sch, err := scheduler.Named(name)
	if err != nil {
		return o, usageErrorf("scheduler %s is not known: use %s or none", visible.Quote(name), strings.Join(scheduler.Names(), ", "))
	}
	o.Scheduler = sch.Name()
	if err := sch.CheckArgs(o.Args); err != nil {
		return o, err
	}
	own, err := sch.Resources(res, o.Args)
	o.Args = append(own, o.Args...)
	return o, err
}
