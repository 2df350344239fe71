//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// add appends a new row to the table; jt rows count jt's ssh calls.
func (b *bench) add(op string, jt bool) *row {
	r := &row{Operation: op, Unit: "ms", counted: jt, jt: jt}
	b.rows = append(b.rows, r)
	return r
}

func (b *bench) find(op string) *row {
	for _, r := range b.rows {
		if r.Operation == op {
			return r
		}
	}
	return nil
}

// Row names.
const (
	opFresh       = "floor: fresh login (ssh true)"
	opMaster      = "floor: master round trip (ssh true)"
	opJupyter     = "floor: jupyter start→ready"
	opJupyterStop = "floor: jupyter stop (SIGTERM→exit)"
	opFreshDirect = "check: fresh login, no relay"
	opMastDirect  = "check: master round trip, no relay"
	opMasterWrap  = "check: master round trip via sshwrap"
	opCold        = "jt open, cold"
	opWarm        = "jt open, warm"
	opReattach    = "jt open, reattach"
	opClose       = "jt close --kill"
	opLsDown      = "jt ls, %d hosts, tunnels down"
	opCloseAll    = "jt close --all --kill, %d hosts"
	opHelp        = "jt --help"
	opHello       = "floor: hello-world Go binary"
	opRSS         = "jt peak RSS"
	opTimeRSS     = "jt peak RSS, /usr/bin/time"
)

func opProbes(n int) string {
	if n == 1 {
		return "floor: 1 probe through a tunnel"
	}
	return fmt.Sprintf("floor: %d parallel probes through tunnels", n)
}

func opLogins(n int) string { return fmt.Sprintf("floor: %d parallel fresh logins", n) }

func opLs(n int) string {
	if n == 1 {
		return "jt ls, 1 host"
	}
	return fmt.Sprintf("jt ls, %d hosts", n)
}

// settle lets the previous step's background work (a master exiting,
// Jupyter shutting down, sshd children ending) finish before the next
// timed step, on a 2-core machine where it would otherwise be measured.
func settle() { time.Sleep(200 * time.Millisecond) }

// measure runs every measurement, in an order where each step leaves the
// state the next one needs. The floors that depend on CPU load (a fresh
// login, Jupyter's start) are sampled inside the open cycle, next to the
// jt runs they are compared with, so that both see the same machine.
func (b *bench) measure(ctx context.Context) error {
	progress("floors over %s", b.cfg)
	fresh := b.add(opFresh, false)
	fresh.counted = true
	mrt, err := b.floorMaster(ctx, b.cfg, opMaster, false)
	if err != nil {
		return err
	}
	if _, err := b.floorMaster(ctx, b.cfg, opMasterWrap, true); err != nil {
		return err
	}
	var dfresh, dmrt float64
	if b.delay > 0 {
		if dfresh, dmrt, err = b.directFloors(ctx, mrt); err != nil {
			return err
		}
	}
	jup, jstop := b.add(opJupyter, false), b.add(opJupyterStop, false)
	help, err := b.timeHelp(ctx)
	if err != nil {
		return err
	}
	if err := b.openCycle(ctx, fresh, jup, jstop); err != nil {
		return err
	}
	if b.delay > 0 {
		b.checkRelay(mrt, dmrt, dfresh, fresh.Median)
	}
	if err := b.lsPhases(ctx); err != nil {
		return err
	}
	if b.slurm {
		if err := b.batchPhase(ctx, jup); err != nil {
			return err
		}
	}
	b.setTargets(help, jup, jstop)
	b.addPeakRSS()
	return nil
}

// directFloors times a fresh login and a master round trip without the
// relay, and checks that the relay adds the delay asked for (mrt is the
// round trip through it).
func (b *bench) directFloors(ctx context.Context, mrt float64) (dfresh, dmrt float64, err error) {
	r := b.add(opFreshDirect, false)
	r.counted = true
	for range b.n {
		if err := b.freshOnce(ctx, b.directCfg, r); err != nil {
			return 0, 0, err
		}
	}
	dfresh = r.Median
	if dmrt, err = b.floorMaster(ctx, b.directCfg, opMastDirect, false); err != nil {
		return 0, 0, err
	}
	if added, want := mrt-dmrt, 4*ms(b.delay); added < 0.8*want || added > 1.6*want {
		return 0, 0, fmt.Errorf("the relay does not delay as asked: master round trip %.1f ms via relay, %.1f ms direct, expected +%.0f ms", mrt, dmrt, want)
	}
	return dfresh, dmrt, nil
}

// timeHelp times jt's own start and exit, with no ssh: the floor under
// any jt command.
func (b *bench) timeHelp(ctx context.Context) (*row, error) {
	hello := filepath.Join(b.dir, "hello")
	if err := goBuild(ctx, hello, "./scripts/bench/hello"); err != nil {
		return nil, err
	}
	floor := b.add(opHello, false)
	for range b.cheap {
		o, err := timed(ctx, nil, hello)
		if err != nil {
			return nil, err
		}
		floor.add(o)
	}
	help := b.add(opHelp, true)
	for range b.cheap {
		o, err := b.jt.run(ctx, "--help")
		if err != nil {
			return nil, err
		}
		help.add(o)
	}
	return help, nil
}

// checkRelay records what the relay added, against the direct floors.
func (b *bench) checkRelay(mrt, dmrt, dfresh, fresh float64) {
	c := &relayCheck{DirectMasterMS: dmrt, RelayMasterMS: mrt, ExpectedAddMS: 4 * ms(b.delay),
		DirectFreshMS: dfresh, RelayFreshMS: fresh, FreshRTTs: (fresh - dfresh) / (2 * ms(b.delay))}
	added := mrt - dmrt
	c.OK = added >= 0.8*c.ExpectedAddMS && added <= 1.6*c.ExpectedAddMS
	b.relayCheck = c
}

// setTargets gives each jt row its floor and target, from the floors.
func (b *bench) setTargets(help, jup, jstop *row) {
	fm, mm, jm := b.find(opFresh).Median, b.find(opMaster).Median, jup.Median
	r := b.find(opCold)
	r.floorOf("fresh login + jupyter start", fm+jm)
	r.atMost(fm+jm+mm+100, fmt.Sprintf("≤ %.0f ms", fm+jm+mm+100))
	r.Note = "target = fresh login + jupyter start + 1 master round trip + 100 ms"
	r = b.find(opReattach)
	r.floorOf("fresh login", fm)
	r.atMost(fm+mm+100, fmt.Sprintf("≤ %.0f ms", fm+mm+100))
	r.Note = "target = fresh login + 1 master round trip + 100 ms"
	r = b.find(opWarm)
	r.floorOf("master round trip", mm)
	r.atMost(2*mm+30, fmt.Sprintf("≤ %.1f ms", 2*mm+30))
	r.Note = "target = 2 master round trips + 30 ms"
	b.find(opClose).floorOf("master round trip + jupyter stop", mm+jstop.Median)
	for _, n := range b.lsSizes() {
		b.find(opLs(n)).floorOf(fmt.Sprintf("jt --help + %s", opProbes(n)[len("floor: "):]), help.Median+b.find(opProbes(n)).Median)
	}
	r = b.find(opLs(len(b.hosts)))
	r.atMost(1.5*r.Floor, fmt.Sprintf("≤ %.1f ms", 1.5*r.Floor))
	r.Note = "target = 1.5 × its floor"
	logins := b.find(opLogins(len(b.hosts)))
	b.find(fmt.Sprintf(opLsDown, len(b.hosts))).floorOf(logins.Operation[len("floor: "):], logins.Median)
	r = b.find(fmt.Sprintf(opCloseAll, len(b.hosts)))
	r.floorOf(logins.Operation[len("floor: "):], logins.Median)
	r.atMost(2*logins.Median, fmt.Sprintf("≤ %.0f ms", 2*logins.Median))
	r.Note = "target = 2 × the parallel-login floor"
	hello := b.find(opHello)
	help.floorOf("hello-world Go binary", hello.Median)
	help.atMost(1.3*hello.Median, fmt.Sprintf("≤ %.1f ms", 1.3*hello.Median))
	help.Note = "target = 1.3 × a hello-world Go binary built the same way"
	wrap := b.find(opMasterWrap)
	wrap.floorOf("master round trip", mm)
	wrap.Note = fmt.Sprintf("the logging wrapper adds %.1f ms to each ssh call jt makes in this bench", wrap.Median-mm)
}

// addPeakRSS adds the peak RSS rows: jt's VmHWM over every run, and
// /usr/bin/time's figure for the heaviest command as a check (see
// outcome.HWMKB).
func (b *bench) addPeakRSS() {
	peak := &row{Operation: opRSS, Unit: "MB"}
	var at string
	for _, r := range b.rows {
		if v := float64(r.HWMKB) / 1024; r.jt && v > peak.Median {
			peak.Median, at = v, r.Operation
		}
	}
	peak.Samples = []float64{peak.Median}
	peak.below(20, "< 20 MB")
	peak.Note = "VmHWM of the jt process, sampled every 2 ms; largest in " + at
	b.rows = append(b.rows, peak)
	if b.timeRSS != nil {
		b.timeRSS.below(20, "< 20 MB")
		b.rows = append(b.rows, b.timeRSS)
	}
}
