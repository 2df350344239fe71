package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/state"
)

type lsOptions struct {
	Hosts    []string
	JSON     bool
	LogLines int
	Timeout  time.Duration
}

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Aliases:   []string{"list"},
		Usage:     "list Jupyter sessions, each checked live",
		ArgsUsage: "[HOST...]",
		Description: `Every session jt recorded is checked now, hosts in parallel:
   up           the server answers through the local tunnel
   tunnel down  the server runs, but nothing forwards it (jt open reattaches)
   port taken   the server runs, but another program listens on its local port: it is sent
                no token (jt open moves the tunnel to a free port)
   server dead  jt has a record, but the server is gone (jt open starts a new one)
   unreachable  the host did not answer within --timeout
   queued       a Slurm job waits in the queue (jt open --slurm waits for it)
   job ended    the Slurm job is over: time limit, scancel, preemption (jt open --slurm submits anew)
With HOST, jt also asks that host for sessions started from other machines.

Examples:
   jt ls
   jt ls gpu1 --logs 5
   jt ls --json | jq -r '.[] | select(.state == "up") | .url'`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array (see README for the fields)"},
			&cli.IntFlag{Name: "logs", Usage: "show the last `N` log lines of dead servers"},
			&cli.DurationFlag{Name: "timeout", Value: 8 * time.Second, Usage: "how long to wait for each host"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			o := lsOptions{Hosts: c.Args().Slice(), JSON: c.Bool("json"), LogLines: c.Int("logs"), Timeout: c.Duration("timeout")}
			return runLs(ctx, d, o)
		}),
	}
}

func runLs(ctx context.Context, d *Deps, o lsOptions) error {
	for _, h := range o.Hosts {
		if err := validHost(h); err != nil {
			return err
		}
	}
	if o.LogLines < 0 || o.LogLines > 10000 {
		return usageErrorf("--logs %d is out of range: use 0-10000", o.LogLines)
	}
	if o.Timeout <= 0 {
		return usageErrorf("--timeout must be positive, like 8s")
	}
	f, err := d.Store.Load()
	if err != nil {
		return err
	}
	// Checking hosts must never stop to ask for a password.
	d = d.batch()
	byHost := map[string][]state.Session{}
	discover := map[string]bool{}
	for _, h := range o.Hosts {
		byHost[h] = nil
		discover[h] = true
	}
	for _, s := range f.Sessions {
		if len(o.Hosts) == 0 || discover[s.Host] {
			byHost[s.Host] = append(byHost[s.Host], s)
		}
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)

	results := make([][]row, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = checkHosts(ctx, d, h, byHost[h], discover[h], o.LogLines, o.Timeout)
		}()
	}
	wg.Wait()
	var rows []row
	for _, r := range results {
		rows = append(rows, r...)
	}
	now := d.Now()
	for i := range rows {
		r := &rows[i]
		if r.State == StateUp && r.LocalPort > 0 {
			r.URL = jupyterURL(r.LocalPort, r.BaseURL, r.Token)
		}
		if !r.Started.IsZero() && (r.State == StateUp || r.State == StateTunnelDown || r.State == StatePortTaken) {
			r.Uptime = now.Sub(r.Started).Round(time.Second).String()
		}
	}
	if o.JSON {
		if rows == nil {
			rows = []row{}
		}
		enc := json.NewEncoder(d.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(d.Stderr, "jt: no sessions; start one with: jt open HOST")
		return nil
	}
	tw := tabwriter.NewWriter(d.Stdout, 0, 4, 2, ' ', 0)
	header, slurm := "HOST\tNAME\tSTATE\tLOCAL\tREMOTE\tPID\tUPTIME\tFLAVOUR\tDIR", anySlurm(rows)
	if slurm {
		header += "\tJOB"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		local := "-"
		if r.State == StateUp {
			local = "http://127.0.0.1:" + strconv.Itoa(r.LocalPort) + "/"
		}
		remote := "-"
		if r.RemoteSock != "" {
			remote = "socket"
		} else if r.RemotePort > 0 {
			remote = strconv.Itoa(r.RemotePort)
		}
		if r.SlurmJob != "" {
			remote = remoteColumn(r)
		}
		st := r.State
		if st == StateElsewhere {
			st = "on " + r.Node // another machine of the same home
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Host, dash(r.Name), st, local, remote,
			dashInt(r.PID), dash(r.Uptime), dash(r.Flavour), dash(r.Dir))
		if slurm {
			fmt.Fprint(tw, "\t"+jobColumn(r))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(d.Stderr, "jt: %s: %s\n", r.Host, r.Error)
		}
		if len(r.LogTail) > 0 {
			fmt.Fprintf(d.Stdout, "\n%s %s: last log lines\n", r.Host, r.Name)
			for _, l := range r.LogTail {
				fmt.Fprintln(d.Stdout, "  "+l)
			}
		}
	}
	return nil
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func dashInt(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
