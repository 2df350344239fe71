//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// openCycle measures open cold → warm → reattach → close --kill on the
// first host, n times.
func (b *bench) openCycle(ctx context.Context, fresh, jup, jstop *row) error {
	host := b.hosts[0]
	cold, warm, reattach, closeKill := b.add(opCold, true), b.add(opWarm, true), b.add(opReattach, true), b.add(opClose, true)
	for i := range b.n {
		progress("jt open/close cycle %d/%d on %s, with the fresh-login and jupyter floors", i+1, b.n, host)
		settle()
		if err := b.freshOnce(ctx, b.cfg, fresh); err != nil {
			return err
		}
		settle()
		start, stop, err := jupyterFloor(ctx, b.box.Users[host], filepath.Join(b.dir, "logs", "jupyter-floor.log"))
		if err != nil {
			return fmt.Errorf("jupyter floor: %w", err)
		}
		jup.add(outcome{Dur: start})
		jstop.add(outcome{Dur: stop})

		settle()
		o, err := b.open(ctx, "started", host)
		if err != nil {
			return fmt.Errorf("cold open: %w", err)
		}
		cold.add(o)
		rep, _ := parseOpen(o)
		for range b.cheap / b.n {
			o, err := b.open(ctx, "warm", host)
			if err != nil {
				return fmt.Errorf("warm open: %w", err)
			}
			warm.add(o)
		}

		// Reattach: the server runs, the master is gone.
		if err := b.exitMaster(ctx, host, rep.LocalPort); err != nil {
			return err
		}
		settle()
		if o, err = b.open(ctx, "running", host); err != nil {
			return fmt.Errorf("reattach: %w", err)
		}
		reattach.add(o)
		rep, _ = parseOpen(o)

		settle()
		if o, err = b.jt.run(ctx, "close", "--kill", host); err != nil {
			return err
		}
		closeKill.add(o)
		// close ends the idle master itself; wait until it is gone so the
		// next open is cold.
		if err := b.waitNoMaster(ctx, host, rep.LocalPort); err != nil {
			return fmt.Errorf("after jt close --kill: %w", err)
		}
	}
	return nil
}

// open runs jt open --json and checks it did what the step expects.
func (b *bench) open(ctx context.Context, want string, host string, extra ...string) (outcome, error) {
	args := append(append([]string{"open", "--no-browser", "--json"}, b.openArgs...), extra...)
	o, err := b.jt.run(ctx, append(args, host)...)
	if err != nil {
		return o, err
	}
	rep, err := parseOpen(o)
	if err != nil {
		return o, err
	}
	if rep.Status != want {
		return o, fmt.Errorf("jt open %s: status %q, want %q (the step's precondition did not hold)", host, rep.Status, want)
	}
	return o, nil
}

// lsPhases opens one session per host (1, then 8, then all) and times
// jt ls at each size, then with every tunnel down, then closes them all.
func (b *bench) lsPhases(ctx context.Context) error {
	opened := 0
	for _, size := range b.lsSizes() {
		progress("opening sessions on %s..%s", b.hosts[opened], b.hosts[size-1])
		if err := b.openSessions(ctx, b.hosts[opened:size]); err != nil {
			return err
		}
		opened = size
		rows, err := b.expectLs(ctx, size, "up")
		if err != nil {
			return err
		}
		progress("timing jt ls over %d host(s)", size)
		p := b.add(opProbes(size), false)
		for range b.cheap {
			time.Sleep(50 * time.Millisecond)
			d, err := probeAll(ctx, rows)
			if err != nil {
				return err
			}
			p.add(outcome{Dur: d})
		}
		r := b.add(opLs(size), true)
		for range b.cheap {
			time.Sleep(50 * time.Millisecond)
			o, err := b.jt.run(ctx, "ls")
			if err != nil {
				return err
			}
			r.add(o)
		}
	}

	// Every master gone (a laptop that slept): jt ls must ask each host.
	progress("ending all %d masters; timing jt ls with every tunnel down", len(b.hosts))
	for _, h := range b.hosts {
		if err := b.exitMaster(ctx, h, b.sessionPorts[h]); err != nil {
			return err
		}
	}
	logins := b.add(opLogins(len(b.hosts)), false)
	for range b.n {
		settle()
		d, err := b.parallelLogins(ctx)
		if err != nil {
			return err
		}
		logins.add(outcome{Dur: d})
	}
	down := b.add(fmt.Sprintf(opLsDown, len(b.hosts)), true)
	for range b.n {
		settle()
		o, err := b.jt.run(ctx, "ls")
		if err != nil {
			return err
		}
		down.add(o)
	}
	if _, err := b.expectLs(ctx, len(b.hosts), "tunnel down"); err != nil {
		return err
	}
	if err := b.timeMaxRSS(ctx, "ls"); err != nil {
		return err
	}

	progress("timing jt close --all --kill over %d hosts", len(b.hosts))
	all := b.add(fmt.Sprintf(opCloseAll, len(b.hosts)), true)
	all.Note = "one run; it is also the cleanup"
	o, err := b.jt.run(ctx, "close", "--all", "--kill")
	if err != nil {
		return err
	}
	all.add(o)
	_, err = b.expectLs(ctx, 0, "")
	return err
}

// lsSizes are the session counts jt ls is timed at.
func (b *bench) lsSizes() []int {
	if len(b.hosts) == 8 {
		return []int{1, 8}
	}
	return []int{1, 8, len(b.hosts)}
}

// openSessions opens session "s" on each host, a few at a time (as
// several terminals would), each on a local port of its own.
func (b *bench) openSessions(ctx context.Context, hosts []string) error {
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, h := range hosts {
		port, err := b.ports.next()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			o, err := b.open(ctx, "started", h, "--name", "s", "--local-port", strconv.Itoa(port))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			rep, _ := parseOpen(o)
			b.sessionPorts[h] = rep.LocalPort
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// expectLs checks, untimed, that jt ls sees n sessions all in state.
func (b *bench) expectLs(ctx context.Context, n int, state string) ([]lsRow, error) {
	o, err := b.jt.run(ctx, "ls", "--json")
	if err != nil {
		return nil, err
	}
	rows, err := parseLs(o)
	if err != nil {
		return nil, err
	}
	if len(rows) != n {
		return nil, fmt.Errorf("jt ls shows %d sessions, want %d", len(rows), n)
	}
	for _, r := range rows {
		if r.State != state {
			return nil, fmt.Errorf("jt ls: %s %s is %q (%s), want %q", r.Host, r.Name, r.State, r.Error, state)
		}
	}
	return rows, nil
}
