package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/desktop"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/state"
)

func openCommand() *cli.Command {
	return &cli.Command{
		Name:      "open",
		Usage:     "start (or reattach to) a Jupyter server on HOST and open it in the local browser",
		ArgsUsage: "HOST [NOTEBOOK]",
		Description: `HOST is a profile from jt's config file (jt hosts lists them; jt config show
HOST shows its settings), or anything ssh accepts: an alias from ~/.ssh/config,
user@host or an address; your ssh config (User, Port, ProxyJump, IdentityFile…)
applies. Flags you give override the profile, which overrides [defaults].
jt logs in once (ssh asks for passwords and 2FA itself), sets the profile's
environment up (setup lines, modules, conda, venv), starts Jupyter in a
detached screen (or tmux) session named jt-NAME, forwards it to 127.0.0.1 and
prints the URL. If the session already runs, jt reattaches to it instead.
With NOTEBOOK (a path relative to the server's directory, ending in .ipynb;
--notebook takes any file) the URL leads to it; a file that is not there is
an error.

Examples:
   jt open gpu1
   jt open --lab --dir ~/proj gpu1
   jt open --name exp2 --port 9000 --no-browser alice@login.example.org
   jt open --lab gpu1 thesis/chapter2.ipynb`,
		Flags: append(append(settingFlags(), batchFlags()...),
			&cli.BoolFlag{Name: "no-browser", Usage: "print the URL, do not open a browser"},
			&cli.StringFlag{Name: "notebook", Usage: "open the notebook at `PATH` (relative to the server's directory)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of the URL"},
			&cli.BoolFlag{Name: "keep", Usage: "stay in the foreground and restore the tunnel whenever it drops (like autossh), until Ctrl-C"},
			&cli.BoolFlag{Name: "background", Usage: "with --keep: keep the tunnel from the background instead (jt close stops it)"},
		),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			args, notebook := c.Args().Slice(), c.String("notebook")
			if len(args) == 2 && notebook == "" && strings.HasSuffix(args[1], ".ipynb") {
				args, notebook = args[:1], args[1]
			}
			host, err := oneHost(args, "open")
			if err != nil {
				return err
			}
			// Flags the user set, then the profile HOST (if it is one), then
			// [defaults], then jt's own values.
			r, err := openRequest(c, d, host)
			if err != nil {
				return err
			}
			r.Notebook = notebook
			keep, background := c.Bool("keep"), c.Bool("background")
			if background && !keep {
				return usageErrorf("--background goes with --keep")
			}
			op, err := d.Engine.Open(ctx, r)
			if err != nil {
				return err
			}
			if err := d.showOpened(op, c.Bool("json"), c.Bool("no-browser")); err != nil || !keep {
				return err
			}
			if background {
				return keepInBackground(d, r)
			}
			return d.Engine.Keep(ctx, session.KeepRequest{Open: r, Interval: 3 * time.Second, Notify: desktop.Notify})
		}),
	}
}

// openRequest is jt open's request for host from its flags and the config.
func openRequest(c *cli.Context, d *Deps, host string) (session.OpenRequest, error) {
	r, err := openSettings(c, d.Config, host)
	if err != nil {
		return r, err
	}
	mapLocalHome(d, &r)
	if r.Batch, err = batchSettings(c, d.Config, host); err != nil {
		return r, err
	}
	return r, nil
}

// openResult is what jt open prints with --json.
type openResult struct {
	URL        string     `json:"url"`
	Host       string     `json:"host"`
	Name       string     `json:"name"`
	Status     string     `json:"status"` // started, running (reattached) or warm
	LocalPort  int        `json:"local_port"`
	RemotePort int        `json:"remote_port,omitempty"`
	PID        int        `json:"pid"`
	Flavour    string     `json:"flavour"`
	Dir        string     `json:"dir"`
	Node       string     `json:"node"`
	Started    time.Time  `json:"started"`
	Job        *state.Job `json:"job,omitempty"`
	SlurmJob   string     `json:"slurm_job,omitempty"`
	SlurmNode  string     `json:"slurm_node,omitempty"`
	// Fallback says why the server listens on TCP though a private unix
	// socket was asked for; empty when nothing fell back.
	Fallback string `json:"fallback,omitempty"`
	// Exposure, of a batch session: "private" or "token-only".
	Exposure string `json:"exposure,omitempty"`
}

// showOpened prints the URL (or the JSON object) and opens the browser.
func (d *Deps) showOpened(op session.Opened, asJSON, noBrowser bool) error {
	s := op.Session
	url := op.URL()
	if asJSON {
		res := openResult{
			URL: url, Host: s.Host, Name: s.Name, Status: op.Status, LocalPort: s.LocalPort,
			RemotePort: s.RemotePort, PID: s.PID, Flavour: s.Flavour, Dir: s.Dir, Node: s.Node, Started: s.Started,
			Job: s.Job, Fallback: op.Fallback, Exposure: s.Exposure,
		}
		if s.Batch() && s.Job.Scheduler == "slurm" {
			res.SlurmJob, res.SlurmNode = s.Job.ID, s.Job.Node
		}
		if err := json.NewEncoder(d.Stdout).Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(d.Stdout, url)
	}
	switch op.Status {
	case "started":
		d.Engine.Report.Progress(fmt.Sprintf("started %s (pid %d) on %s, session %s", s.Flavour, s.PID, s.Host, s.Name))
	case "running":
		d.Engine.Report.Progress(fmt.Sprintf("reattached to %s (pid %d) on %s, session %s", s.Flavour, s.PID, s.Host, s.Name))
	}
	if noBrowser || d.Browser == nil {
		return nil
	}
	page, err := desktop.RedirectFile(d.LocalDir, s.Name, url)
	if err == nil {
		err = d.Browser(page)
	}
	if err != nil && !errors.Is(err, desktop.ErrNoDisplay) {
		d.warn("could not open a browser (%v); open the URL above yourself", err)
	}
	return nil
}
