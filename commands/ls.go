package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/session"
)

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
   stopped (idle)  jt's watcher shut Jupyter down after jt open --idle without activity (its job ended)
   queued       a Slurm job waits in the queue (jt open --slurm waits for it), with Slurm's
                start estimate when it has one
   job ended    the Slurm job is over: time limit, scancel, preemption (jt open --slurm submits anew)
With HOST, jt also asks that host for sessions started from other machines.

Examples:
   jt ls
   jt ls gpu1 --logs 5
   jt ls --json | jq -r '.[] | select(.state == "up") | .url'
   jt ls --ports gpu1`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array (see README for the fields)"},
			&cli.IntFlag{Name: "logs", Usage: "show the last `N` log lines of dead servers"},
			&cli.DurationFlag{Name: "timeout", Value: 8 * time.Second, Usage: "how long to wait for each host"},
			&cli.BoolFlag{Name: "ports", Usage: "list what the processes of HOST's session listen on (what jt forward can reach)"},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "default", Usage: "with --ports: session `NAME`"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			if c.Bool("ports") {
				return listPorts(ctx, c, d)
			}
			rows, err := d.Engine.List(ctx, session.ListRequest{Hosts: c.Args().Slice(), LogLines: c.Int("logs"), Timeout: c.Duration("timeout")})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printRowsJSON(d, rows)
			}
			printRows(d, rows)
			return nil
		}),
	}
}

// lsRow is a row of jt ls --json: the live status, and the job's fields
// under the names jt used before it knew more than one scheduler.
type lsRow struct {
	session.Status
	SlurmJob   string    `json:"slurm_job,omitempty"`
	SlurmNode  string    `json:"slurm_node,omitempty"`
	SlurmLimit string    `json:"slurm_limit,omitempty"`
	SlurmEnd   time.Time `json:"slurm_end,omitzero"`
}

func printRowsJSON(d *Deps, rows []session.Status) error {
	out := make([]lsRow, 0, len(rows))
	for _, r := range rows {
		row := lsRow{Status: r}
		if j := r.Job; j != nil && j.Scheduler == "slurm" {
			row.SlurmJob, row.SlurmNode, row.SlurmLimit, row.SlurmEnd = j.ID, j.Node, j.Limit, j.End
		}
		out = append(out, row)
	}
	enc := json.NewEncoder(d.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printRows(d *Deps, rows []session.Status) {
	if len(rows) == 0 {
		fmt.Fprintln(d.Stderr, "jt: no sessions; start one with: jt open HOST")
		return
	}
	tw := tabwriter.NewWriter(d.Stdout, 0, 4, 2, ' ', 0)
	header, batch := "HOST\tNAME\tSTATE\tNODE\tLOCAL\tREMOTE\tPID\tUPTIME\tFLAVOUR\tVERSION\tDIR", anyBatch(rows)
	if batch {
		header += "\tJOB\tRESOURCES"
	}
	fwds := anyForwards(rows)
	if fwds {
		header += "\tFORWARDS"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Host, dash(r.Name), r.State, dash(nodeColumn(r)), localColumn(r), remoteColumn(r),
			dashInt(r.PID), dash(uptimeColumn(r)), dash(r.Flavour), dash(r.Version), dash(r.Dir))
		if batch {
			fmt.Fprint(tw, "\t"+jobColumn(r)+"\t"+dash(r.Resources))
		}
		if fwds {
			fmt.Fprint(tw, "\t"+forwardsColumn(r))
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
}

// uptimeColumn is the uptime and, of a session opened with --idle, its
// watcher's verdict ("12m3s, busy: kernel computing", "12m3s, idle for
// 40s"); of another, once its server has been idle for a minute, for how
// long: "12m3s, idle 4m40s". --json always has the idle time.
func uptimeColumn(r session.Status) string {
	if r.Activity != "" && r.Uptime != "" {
		return r.Uptime + ", " + r.Activity
	}
	if d, err := time.ParseDuration(r.Idle); err == nil && d >= time.Minute && r.Uptime != "" {
		return r.Uptime + ", idle " + r.Idle
	}
	return r.Uptime
}

func localColumn(r session.Status) string {
	if r.State == session.StateUp {
		return "http://127.0.0.1:" + strconv.Itoa(r.LocalPort) + "/"
	}
	return "-"
}

// remoteColumn is where the server listens: "socket", a port, or a batch
// nodeColumn is the machine the server runs on: a batch job's node, or
// the host's (another login node of the same home behind one name).
func nodeColumn(r session.Status) string {
	if r.Job != nil && r.Job.Node != "" {
		return r.Job.Node
	}
	return r.Node
}

// job's NODE:socket (private: reached by ssh to the node) or
// NODE:PORT,token-only (anyone on the cluster's network, with the token).
func remoteColumn(r session.Status) string {
	switch {
	case r.Batch() && r.RemoteSock != "":
		return r.Job.Node + ":socket"
	case r.Batch():
		node := r.Job.Node
		if node == "" {
			node = r.RemoteHost
		}
		if node == "" || r.RemotePort == 0 {
			return "-"
		}
		if r.Exposure == session.ExposureTokenOnly {
			return node + ":" + strconv.Itoa(r.RemotePort) + ",token-only"
		}
		return node + ":" + strconv.Itoa(r.RemotePort)
	case r.RemoteSock != "":
		return "socket"
	case r.RemotePort > 0:
		return strconv.Itoa(r.RemotePort)
	}
	return "-"
}

// jobColumn is jt ls's JOB column: "12 RUNNING 59m10s left",
// "12 PENDING (Priority)", "12 TIMEOUT (TimeLimit)".
func jobColumn(r session.Status) string {
	if !r.Batch() {
		return "-"
	}
	s := r.Job.ID
	if r.JobState != "" {
		s += " " + r.JobState
	}
	if r.JobReason != "" && r.JobReason != "None" {
		s += " (" + r.JobReason + ")"
	}
	switch r.JobStart {
	case "":
	case "no estimate":
		s += ", no start estimate"
	default:
		s += ", starts " + r.JobStart + " (estimate)"
	}
	switch r.TimeLeft {
	case "":
	case "unlimited":
		s += " no time limit"
	default:
		s += " " + r.TimeLeft + " left"
	}
	if r.EndsSoon {
		s += ", ending soon"
	}
	return s
}

func anyBatch(rows []session.Status) bool {
	for _, r := range rows {
		if r.Batch() {
			return true
		}
	}
	return false
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

// forwardsColumn is jt ls's FORWARDS column: "6006->6006, 8787->8787 (nothing listens)".
func forwardsColumn(r session.Status) string {
	var parts []string
	for _, f := range r.ForwardStates {
		p := strconv.Itoa(f.LocalPort) + "->" + f.Remote
		if f.State != session.ForwardUp {
			p += " (" + f.State + ")"
		}
		parts = append(parts, p)
	}
	return dash(strings.Join(parts, ", "))
}

func anyForwards(rows []session.Status) bool {
	for _, r := range rows {
		if len(r.ForwardStates) > 0 {
			return true
		}
	}
	return false
}

// listPorts is jt ls --ports HOST.
func listPorts(ctx context.Context, c *cli.Context, d *Deps) error {
	host, err := oneHost(c.Args().Slice(), "ls --ports")
	if err != nil {
		return err
	}
	ls, err := d.Engine.Ports(ctx, host, sessionName(c, d, host))
	if err != nil || c.Bool("json") {
		if err == nil {
			err = json.NewEncoder(d.Stdout).Encode(ls)
		}
		return err
	}
	tw := tabwriter.NewWriter(d.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LISTEN\tADDRESS\tPID\tCOMMAND")
	for _, l := range ls {
		where, addr := l.Sock, "-"
		if where == "" {
			where, addr = strconv.Itoa(l.Port), l.Addr
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", where, addr, l.PID, dash(l.Command))
	}
	return tw.Flush()
}
