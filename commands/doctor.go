package commands

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/session"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check what jt open HOST needs, locally and on HOST, with a fix for each problem",
		ArgsUsage: "HOST",
		Description: `Locally: the ssh client, its ControlMaster support and the control socket's
path length, what ssh makes of HOST (ssh -G), and the login (through jt's
master; ssh may ask for a password). On HOST, in one round trip: the login
shell and /bin/sh, jt's directory, the profile's environment setup (run as
jt open runs it, before the other checks), screen and tmux, the Jupyter
flavours and their versions, and unix-socket support. With --scheduler,
the login node's batch scheduler too (Slurm: its commands, the controller,
and sbatch --test-only with --slurm-args; Grid Engine: its commands, the
cell, the qmaster, and qsub -w v with --scheduler-args).

Each check prints one line, "ok", "warn" (jt copes) or "FAIL", and a fix.
The exit status is 1 when something would stop jt open. Flags are those of
jt open, to check what open would do with them.

Examples:
   jt doctor gpu
   jt doctor --console tmux --lab gpu1
   jt doctor --slurm --slurm-args '-p gpu --time=2:00:00' login1
   jt doctor --scheduler sge --scheduler-args '-q gpu.q -l h_rt=2:00:00' login1`,
		Flags: append(settingFlags(), batchFlags()...),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "doctor")
			if err != nil {
				return err
			}
			r, err := openSettings(c, d.Config, host)
			if err != nil {
				return err
			}
			mapLocalHome(d, &r)
			if r.Batch, err = batchSettings(c, d.Config, host); err != nil {
				return err
			}
			return d.Engine.Doctor(ctx, r, d.printCheck)
		}),
	}
}

// printCheck prints one check of jt doctor: "ok", "warn" or "FAIL", the
// message, the fix and any output.
func (d *Deps) printCheck(c session.Check) {
	mark := map[string]string{"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[c.Status]
	if mark == "" {
		mark = "FAIL"
	}
	fmt.Fprintf(d.Stdout, "%s %s\n", mark, c.Msg)
	if c.Status != "ok" && c.Fix != "" {
		fmt.Fprintf(d.Stdout, "     fix: %s\n", c.Fix)
	}
	for _, l := range c.Log {
		fmt.Fprintf(d.Stdout, "     | %s\n", l)
	}
}
