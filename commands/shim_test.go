package commands

// The shapes the command-level tests drive: jt open, ls and close as the
// commands run them (request → engine → output), on a fake ssh.

import (
	"context"
	"time"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/templates"
)

type openOptions struct {
	Host      string
	Name      string
	Dir       string
	Flavour   string
	Command   string
	Port      int
	LocalPort int
	Timeout   time.Duration
	Mux       string
	TCP       bool
	NoBrowser bool
	JSON      bool
	Env       templates.Env
	Keep      bool
	Slurm     slurmOptions
}

type slurmOptions struct {
	Enabled    bool
	Args       []string
	KeepQueued bool
}

func (o openOptions) request() session.OpenRequest {
	r := session.OpenRequest{Host: o.Host, Name: o.Name, Dir: o.Dir, Flavour: o.Flavour, Command: o.Command,
		Port: o.Port, LocalPort: o.LocalPort, Timeout: o.Timeout, Console: o.Mux, TCP: o.TCP, Env: o.Env,
		Batch: session.BatchOptions{Args: o.Slurm.Args, KeepQueued: o.Slurm.KeepQueued}}
	if o.Slurm.Enabled {
		r.Batch.Scheduler = "slurm"
	}
	return r
}

// runOpen is jt open: the engine's open, then what the command prints.
func runOpen(ctx context.Context, d *Deps, o openOptions) error {
	op, err := d.Engine.Open(ctx, o.request())
	if err != nil {
		return err
	}
	return d.showOpened(op, o.JSON, o.NoBrowser)
}

type lsOptions struct {
	Hosts    []string
	JSON     bool
	LogLines int
	Timeout  time.Duration
}

func runLs(ctx context.Context, d *Deps, o lsOptions) error {
	rows, err := d.Engine.List(ctx, session.ListRequest{Hosts: o.Hosts, LogLines: o.LogLines, Timeout: o.Timeout})
	if err != nil {
		return err
	}
	if o.JSON {
		return printRowsJSON(d, rows)
	}
	printRows(d, rows)
	return nil
}

type closeOptions = session.CloseRequest

func runClose(ctx context.Context, d *Deps, o closeOptions) error { return d.Engine.Close(ctx, o) }

type row = lsRow
