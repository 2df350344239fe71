package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
)

type closeOptions struct {
	Host    string
	Name    string
	Kill    bool
	All     bool
	Timeout time.Duration
}

func closeCommand() *cli.Command {
	return &cli.Command{
		Name:      "close",
		Usage:     "remove a session's tunnel; with --kill also stop its server",
		ArgsUsage: "[HOST]",
		Description: `Without --kill the server keeps running on the host and jt open reattaches
to it later. With --kill jt stops Jupyter cleanly and removes its files on the
host. The host's ssh master exits once none of its sessions is forwarded.

Examples:
   jt close gpu1
   jt close --kill --name exp2 gpu1
   jt close --all --kill`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "default", Usage: "session `NAME`"},
			&cli.BoolFlag{Name: "kill", Aliases: []string{"k"}, Usage: "also stop the server and remove its remote files"},
			&cli.BoolFlag{Name: "all", Usage: "every session (of HOST, or everywhere without HOST)"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long to wait for each host"},
		},
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			o := closeOptions{Name: c.String("name"), Kill: c.Bool("kill"), All: c.Bool("all"), Timeout: c.Duration("timeout")}
			switch c.NArg() {
			case 0:
			case 1:
				o.Host = c.Args().First()
				o.Name = sessionName(c, d, o.Host)
			default:
				return usageErrorf("close takes at most one HOST, got %d arguments", c.NArg())
			}
			return runClose(ctx, d, o)
		}),
	}
}

func runClose(ctx context.Context, d *Deps, o closeOptions) error {
	if o.Host != "" {
		if err := validHost(o.Host); err != nil {
			return err
		}
	}
	if err := validName(o.Name); err != nil {
		return err
	}
	f, err := d.Store.Load()
	if err != nil {
		return err
	}
	var targets []state.Session
	switch {
	case o.All:
		for _, s := range f.Sessions {
			if o.Host == "" || s.Host == o.Host {
				targets = append(targets, s)
			}
		}
	case o.Host != "":
		s, ok := f.Find(o.Host, o.Name)
		if !ok {
			s = state.Session{Host: o.Host, Name: o.Name}
		}
		targets = []state.Session{s}
	default:
		if len(f.Sessions) != 1 {
			return usageErrorf("close needs a HOST (jt has %d sessions; see jt ls), or --all", len(f.Sessions))
		}
		targets = f.Sessions
	}
	if o.All && o.Kill && o.Host != "" {
		// What jt ls HOST shows, recorded here or not: a new laptop, or a
		// wiped home, can still stop the servers it finds.
		found, err := discoverSessions(ctx, d, o.Host, targets, o.Timeout)
		if err != nil {
			return err
		}
		targets = append(targets, found...)
	}
	// Opens that were interrupted hard left pending records: undo them too.
	pendingHosts := map[string]bool{}
	for _, p := range f.Pending {
		if (o.Host == "" || p.Host == o.Host) && !(processAlive(p.PID) && d.Now().Sub(p.Since) < time.Hour) {
			pendingHosts[p.Host] = true
		}
	}
	if len(targets) == 0 && len(pendingHosts) == 0 {
		fmt.Fprintln(d.Stderr, "jt: nothing to close")
		return nil
	}
	for h := range pendingHosts {
		if unlock, err := lockHost(ctx, d, h, o.Timeout); err == nil {
			cleanPending(ctx, d, h, "")
			unlock()
		}
	}
	hosts := map[string]bool{}
	for h := range pendingHosts {
		hosts[h] = true
	}
	// Hosts are closed in parallel, each host's sessions in order (they
	// share its master); logins that must ask take turns (ensureMaster).
	byHost := map[string][]state.Session{}
	var order []string
	for _, s := range targets {
		if _, seen := byHost[s.Host]; !seen {
			order = append(order, s.Host)
		}
		byHost[s.Host] = append(byHost[s.Host], s)
		hosts[s.Host] = true
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		slot = make(chan struct{}, 8)
	)
	for _, h := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot <- struct{}{}
			defer func() { <-slot }()
			for _, s := range byHost[h] {
				if err := closeOne(ctx, d, o, s); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
			exitIdleMaster(ctx, d, h)
		}()
	}
	wg.Wait()
	for h := range pendingHosts {
		if _, done := byHost[h]; !done {
			exitIdleMaster(ctx, d, h)
		}
	}
	return errors.Join(errs...)
}

func closeOne(ctx context.Context, d *Deps, o closeOptions, s state.Session) error {
	// A session opened without a master is closed without one.
	dd := *d
	dd.SSH = d.clientFor(s)
	d = &dd
	unlock, err := lockHost(ctx, d, s.Host, o.Timeout)
	if err != nil {
		return err
	}
	defer unlock()
	// A background keeper would only open it again.
	stopKeeper(d, s.Host, s.Name)
	// Read again under the lock: an open may have just recorded it.
	if f, err := d.Store.Load(); err == nil {
		if cur, ok := f.Find(s.Host, s.Name); ok {
			s = cur
		}
	}
	if s.LocalPort > 0 {
		fw := sshexec.Forward{LocalPort: s.LocalPort, RemoteHost: s.RemoteHost, RemotePort: s.RemotePort, RemoteSock: s.RemoteSock, PID: s.ForwardPID}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := d.SSH.CancelForward(cctx, s.Host, fw)
		cancel()
		if err != nil && !errors.Is(err, sshexec.ErrNoMaster) {
			d.warn("%s %s: could not remove the forward: %v", s.Host, s.Name, err)
		}
	}
	if !o.Kill {
		if s.PID == 0 {
			fmt.Fprintf(d.Stderr, "jt: %s %s: no such session recorded; nothing to close\n", s.Host, s.Name)
			return nil
		}
		if s.SlurmJob != "" {
			fmt.Fprintf(d.Stderr, "jt: %s %s: tunnel closed; job %s keeps running (jt open --slurm %s reattaches, jt close --kill cancels it)\n", s.Host, s.Name, s.SlurmJob, s.Host)
		} else {
			fmt.Fprintf(d.Stderr, "jt: %s %s: tunnel closed; the server keeps running (jt open %s reattaches, jt close --kill stops it)\n", s.Host, s.Name, s.Host)
		}
		return d.Store.Update(ctx, func(f *state.File) error {
			if cur, ok := f.Find(s.Host, s.Name); ok {
				cur.LocalPort, cur.ForwardPID = 0, 0
				f.Put(cur)
			}
			return nil
		})
	}
	if s.SlurmJob != "" {
		return closeSlurm(ctx, d, s)
	}
	if d, _, err = ensureMaster(ctx, d, s.Host); err != nil {
		return err
	}
	cleanPending(ctx, d, s.Host, "")
	b, err := killRemote(ctx, d, s.Host, s.Name, "", o.Timeout)
	if err != nil {
		return err
	}
	// Not recorded here: it may be a job queued by jt open --slurm.
	if s.PID == 0 && closeUnrecordedSlurm(ctx, d, s) && b.Values["state"] != "stopped" {
		return nil
	}
	switch b.Values["state"] {
	case StateElsewhere:
		return hinted(fmt.Errorf("session %s runs on %s, but this login to %s reached %s (a home shared by several machines)", s.Name, b.Values["node"], s.Host, b.Values["here"]),
			"close it through a name that reaches "+b.Values["node"]+" itself (e.g. user@"+b.Values["node"]+")")
	case "stopped":
		fmt.Fprintf(d.Stderr, "jt: %s %s: stopped jupyter (pid %s) and removed its files\n", s.Host, s.Name, b.Values["pid"])
	default:
		fmt.Fprintf(d.Stderr, "jt: %s %s: no server was running; removed what was left\n", s.Host, s.Name)
	}
	return d.Store.Update(ctx, func(f *state.File) error {
		f.Remove(s.Host, s.Name)
		return nil
	})
}

// discoverSessions lists host's jt sessions that are not among recorded,
// as jt ls HOST finds them (plain servers and batch jobs).
func discoverSessions(ctx context.Context, d *Deps, host string, recorded []state.Session, timeout time.Duration) ([]state.Session, error) {
	d, _, err := ensureMaster(ctx, d, host)
	if err != nil {
		return nil, err
	}
	var found []state.Session
	for _, r := range checkHosts(ctx, d, host, recorded, true, 0, timeout) {
		switch {
		case r.Recorded:
		case r.Name == "":
			return nil, fmt.Errorf("list the sessions on %s: %s", host, r.Error)
		case r.State == StateElsewhere:
			d.warn("%s %s: runs on %s, which this login to %s does not reach; left alone", host, r.Name, r.Node, host)
		default:
			found = append(found, r.Session)
		}
	}
	return found, nil
}

// exitIdleMaster ends host's master when none of its recorded sessions
// still has a working tunnel. It decides under the host's lock, which
// every jt open holds from its login to its record: "the last session is
// closed" and "a new session is opening" cannot interleave.
func exitIdleMaster(ctx context.Context, d *Deps, host string) {
	unlock, err := lockHost(ctx, d, host, 60*time.Second)
	if err != nil {
		d.warn("%s: ssh master left running: %v", host, err)
		return
	}
	defer unlock()
	exitIdleMasterLocked(ctx, d, host)
}

// exitIdleMasterLocked is exitIdleMaster for a caller that holds host's
// lock. A profile and its destination share a master, so the sessions of
// both count.
func exitIdleMasterLocked(ctx context.Context, d *Deps, host string) {
	f, err := d.Store.Load()
	if err != nil {
		return
	}
	// Another jt open still works through it (jt open --slurm waits in
	// the queue for as long as it takes).
	for _, p := range f.Pending {
		if d.SSH.SameMaster(p.Host, host) && p.PID != os.Getpid() && processAlive(p.PID) {
			return
		}
	}
	for _, s := range f.Sessions {
		if !d.SSH.SameMaster(s.Host, host) || s.LocalPort == 0 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := probe(pctx, d, s)
		cancel()
		if err == nil {
			return
		}
	}
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.SSH.Exit(ectx, host); err != nil {
		d.warn("%s: could not stop the ssh master: %v", host, err)
	}
}
