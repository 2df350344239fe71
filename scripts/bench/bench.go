//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/scripts/sshbox"
	"github.com/jt-sh/jt/sshexec"
)

// bench holds the running box and everything measured so far.
type bench struct {
	n, cheap int
	delay    time.Duration
	dir      string
	sshPath  string

	box       *sshbox.Box
	relay     *relay
	relayPort int
	cfg       string // ssh config jt and the floors use (the relay's in -delay mode)
	directCfg string // the box's own config
	hosts     []string

	jt             *jtRunner
	wrapper        string // sshwrap, jt's JT_SSH
	jtControlPath  string // jt's ControlPath pattern
	benchCtlPath   string // the bench's own masters (floors)
	benchMasterCfg []string
	ports          portAllocator
	sessionPorts   map[string]int // host → local port of the ls session

	rows       []*row
	timeRSS    *row // /usr/bin/time's max RSS of the heaviest jt ls
	relayCheck *relayCheck
	cleaned    bool
}

// setup starts the box (and relay), builds jt and writes the ssh wrapper.
// On error the returned bench, if not nil, still needs cleanup.
func setup(ctx context.Context, o options) (*bench, error) {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return nil, err
	}
	// jt's ControlPath is DIR/run/jt/cm-%C: at most 90 bytes once expanded.
	if len(dir) > 40 {
		return nil, fmt.Errorf("-dir %s is too long for control sockets below it: keep it under 40 bytes", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		return nil, fmt.Errorf("no ssh client: %w", err)
	}
	b := &bench{
		n: o.n, cheap: 3 * o.n, delay: o.delay, dir: dir, sshPath: sshPath,
		jtControlPath: sshexec.ControlPathPattern(filepath.Join(dir, "run", "jt")),
		benchCtlPath:  filepath.Join(dir, "run", "fm-%C"),
		sessionPorts:  map[string]int{},
	}

	bin := o.jt
	if bin == "" {
		bin = filepath.Join(dir, "jt")
		progress("building jt into %s", bin)
		if err := goBuild(ctx, bin, "."); err != nil {
			return nil, err
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}

	aliases, users, hosts := sshboxUsers(o.hosts)
	b.hosts = hosts
	progress("starting sshd with %d test users (jtb01..jtb%02d)", o.hosts, o.hosts)
	box, err := sshbox.Start(sshbox.Options{Dir: filepath.Join(dir, "box"), Aliases: aliases, Users: users, Foreground: true})
	if err != nil {
		return nil, err
	}
	b.box = box
	b.directCfg, b.cfg = box.ConfigPath, box.ConfigPath

	// The masters of an earlier run died with its sshd: start from nothing.
	for _, sub := range []string{"state", "run", "logs"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return b, err
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return b, err
		}
	}

	if o.delay > 0 {
		r, err := startRelay("127.0.0.1:"+strconv.Itoa(box.Port), o.delay)
		if err != nil {
			return b, fmt.Errorf("relay: %w", err)
		}
		b.relay, b.relayPort = r, r.Port()
		if b.cfg, err = b.writeRelayConfig(); err != nil {
			return b, err
		}
	}

	// jt's ssh goes through a wrapper that logs and times each call.
	wrapper := filepath.Join(dir, "sshwrap")
	if err := goBuild(ctx, wrapper, "./scripts/bench/sshwrap"); err != nil {
		return b, err
	}
	b.wrapper = wrapper
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "JT_") || strings.HasPrefix(k, "XDG_") || k == "SSH_AUTH_SOCK" || k == "BROWSER" || k == "DISPLAY" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"JT_SSH="+wrapper,
		"JTB_SSH_REAL="+sshPath,
		"JT_SSH_CONFIG="+b.cfg,
		"XDG_STATE_HOME="+filepath.Join(dir, "state"),
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "run"),
	)
	b.jt = &jtRunner{bin: bin, env: env, logDir: filepath.Join(dir, "logs")}
	return b, nil
}

// writeRelayConfig writes a copy of the box's ssh config whose aliases go
// through the relay, and a known_hosts that knows the host key there.
func (b *bench) writeRelayConfig() (string, error) {
	cfg, err := os.ReadFile(b.box.ConfigPath)
	if err != nil {
		return "", err
	}
	known := filepath.Join(b.box.Dir, "known_hosts")
	kh, err := os.ReadFile(known)
	if err != nil {
		return "", err
	}
	relayKnown := filepath.Join(b.dir, "known_hosts_relay")
	line := strings.ReplaceAll(string(kh), fmt.Sprintf("[127.0.0.1]:%d ", b.box.Port), fmt.Sprintf("[127.0.0.1]:%d ", b.relayPort))
	if err := os.WriteFile(relayKnown, []byte(line), 0o600); err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(cfg), fmt.Sprintf("  Port %d\n", b.box.Port), fmt.Sprintf("  Port %d\n", b.relayPort))
	s = strings.ReplaceAll(s, "UserKnownHostsFile "+known+"\n", "UserKnownHostsFile "+relayKnown+"\n")
	if !strings.Contains(s, strconv.Itoa(b.relayPort)) || !strings.Contains(s, relayKnown) {
		return "", errors.New("relay config: the box's ssh config has an unexpected shape")
	}
	path := filepath.Join(b.dir, "ssh_config_relay")
	return path, os.WriteFile(path, []byte(s), 0o600)
}

// goBuild builds a package of the jt module into out.
func goBuild(ctx context.Context, out, pkg string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, msg)
	}
	return nil
}

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
		r := b.add(opFreshDirect, false)
		r.counted = true
		for range b.n {
			if err := b.freshOnce(ctx, b.directCfg, r); err != nil {
				return err
			}
		}
		dfresh = r.Median
		if dmrt, err = b.floorMaster(ctx, b.directCfg, opMastDirect, false); err != nil {
			return err
		}
		if added, want := mrt-dmrt, 4*ms(b.delay); added < 0.8*want || added > 1.6*want {
			return fmt.Errorf("the relay does not delay as asked: master round trip %.1f ms via relay, %.1f ms direct, expected +%.0f ms", mrt, dmrt, want)
		}
	}
	jup, jstop := b.add(opJupyter, false), b.add(opJupyterStop, false)

	// jt's own start and exit, with no ssh: the floor under any jt command.
	help := b.add(opHelp, true)
	for range b.cheap {
		o, err := b.jt.run(ctx, "--help")
		if err != nil {
			return err
		}
		help.add(o)
	}

	if err := b.openCycle(ctx, fresh, jup, jstop); err != nil {
		return err
	}
	if b.delay > 0 {
		c := &relayCheck{DirectMasterMS: dmrt, RelayMasterMS: mrt, ExpectedAddMS: 4 * ms(b.delay),
			DirectFreshMS: dfresh, RelayFreshMS: fresh.Median, FreshRTTs: (fresh.Median - dfresh) / (2 * ms(b.delay))}
		added := mrt - dmrt
		c.OK = added >= 0.8*c.ExpectedAddMS && added <= 1.6*c.ExpectedAddMS
		b.relayCheck = c
	}
	if err := b.lsPhases(ctx); err != nil {
		return err
	}

	// Targets, from the floors.
	fm, mm, jm := b.find(opFresh).Median, b.find(opMaster).Median, jup.Median
	r := b.find(opCold)
	r.floorOf("fresh login + jupyter start", fm+jm)
	r.atMost(fm+jm+2*mm+100, fmt.Sprintf("≤ %.0f ms", fm+jm+2*mm+100))
	r.Note = "target = fresh login + jupyter start + 2 master round trips + 100 ms"
	r = b.find(opReattach)
	r.floorOf("fresh login", fm)
	r.atMost(fm+2*mm+100, fmt.Sprintf("≤ %.0f ms", fm+2*mm+100))
	r.Note = "target = fresh login + 2 master round trips + 100 ms"
	r = b.find(opWarm)
	r.floorOf("master round trip", mm)
	r.atMost(2*mm+30, fmt.Sprintf("≤ %.1f ms", 2*mm+30))
	r.Note = "target = 2 master round trips + 30 ms"
	b.find(opClose).floorOf("master round trip + jupyter stop", mm+jstop.Median)
	for _, n := range b.lsSizes() {
		b.find(opLs(n)).floorOf(fmt.Sprintf("jt --help + %s", opProbes(n)[len("floor: "):]), help.Median+b.find(opProbes(n)).Median)
	}
	ls1 := b.find(opLs(1)).Median
	r = b.find(opLs(len(b.hosts)))
	r.atMost(2*ls1, fmt.Sprintf("≤ %.1f ms", 2*ls1))
	r.Note = "target = 2 × jt ls over 1 host"
	logins := b.find(opLogins(len(b.hosts)))
	b.find(fmt.Sprintf(opLsDown, len(b.hosts))).floorOf(logins.Operation[len("floor: "):], logins.Median)
	b.find(fmt.Sprintf(opCloseAll, len(b.hosts))).floorOf(logins.Operation[len("floor: "):], logins.Median)
	help.below(20, "< 20 ms")
	wrap := b.find(opMasterWrap)
	wrap.floorOf("master round trip", mm)
	wrap.Note = fmt.Sprintf("the logging wrapper adds %.1f ms to each ssh call jt makes in this bench", wrap.Median-mm)

	// Peak RSS: jt's VmHWM over every run, and /usr/bin/time's figure
	// for the heaviest command as a check (see outcome.HWMKB).
	peak := &row{Operation: opRSS, Unit: "MB"}
	var at string
	for _, r := range b.rows {
		if v := float64(r.HWMKB) / 1024; r.jt && v > peak.Median {
			peak.Median, at = v, r.Operation
		}
	}
	peak.Samples = []float64{peak.Median}
	peak.below(30, "< 30 MB")
	peak.Note = "VmHWM of the jt process, sampled every 2 ms; largest in " + at
	b.rows = append(b.rows, peak)
	if b.timeRSS != nil {
		b.timeRSS.below(30, "< 30 MB")
		b.rows = append(b.rows, b.timeRSS)
	}
	return nil
}

// freshOnce times one new login (no master) into r.
func (b *bench) freshOnce(ctx context.Context, cfg string, r *row) error {
	o, err := timed(ctx, nil, b.sshPath, "-F", cfg, "-o", "ControlMaster=no", "-o", "ControlPath=none", "--", b.hosts[0], "true")
	if err != nil {
		return err
	}
	o.Calls = []string{"ssh true"}
	r.add(o)
	return nil
}

// floorMaster times a command over an existing master of the bench's
// own; wrapped, through the wrapper jt's ssh calls go through here.
func (b *bench) floorMaster(ctx context.Context, cfg, op string, wrapped bool) (float64, error) {
	host := b.hosts[0]
	if !slices.Contains(b.benchMasterCfg, cfg) {
		if err := startMaster(ctx, b.sshPath, cfg, b.benchCtlPath, host); err != nil {
			return 0, err
		}
		b.benchMasterCfg = append(b.benchMasterCfg, cfg)
	}
	r := b.add(op, false)
	r.counted = true
	bin, env := b.sshPath, []string(nil)
	if wrapped {
		bin, env = b.wrapper, append(os.Environ(), "JTB_SSH_REAL="+b.sshPath)
	}
	for range b.cheap {
		o, err := timed(ctx, env, bin, "-F", cfg, "-o", "ControlPath="+b.benchCtlPath, "-o", "ControlMaster=no", "--", host, "true")
		if err != nil {
			return 0, err
		}
		o.Calls = []string{"ssh true"}
		r.add(o)
	}
	return r.Median, nil
}

// startMaster starts a persistent master; its stdio is /dev/null so that
// waiting for the forking ssh never waits for the daemon.
func startMaster(ctx context.Context, sshPath, cfg, controlPath, host string) error {
	cmd := exec.CommandContext(ctx, sshPath, "-F", cfg, "-o", "ControlPath="+controlPath, "-o", "ControlMaster=yes",
		"-o", "ControlPersist=yes", "-o", "BatchMode=yes", "-fN", "--", host)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start the bench's master for %s: %w", host, err)
	}
	return nil
}

// exitMaster ends jt's master for host, as a dropped connection would, and
// waits until it is gone and its forward's port (if any) is free again.
func (b *bench) exitMaster(ctx context.Context, host string, port int) error {
	exec.CommandContext(ctx, b.sshPath, "-F", b.cfg, "-o", "ControlPath="+b.jtControlPath, "-O", "exit", "--", host).Run()
	return b.waitNoMaster(ctx, host, port)
}

// waitNoMaster waits until jt's master for host no longer answers and
// the local port is free.
func (b *bench) waitNoMaster(ctx context.Context, host string, port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := exec.CommandContext(ctx, b.sshPath, "-F", b.cfg, "-o", "ControlPath="+b.jtControlPath, "-O", "check", "--", host).Run()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && (port == 0 || portFree(port)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jt's master for %s still runs (or port %d is held) 10s after -O exit", host, port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
	args := append([]string{"open", "--no-browser", "--json"}, extra...)
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

// parallelLogins times a fresh `ssh true` to every host at once: what
// asking each host anything costs when no master is up.
func (b *bench) parallelLogins(ctx context.Context) (time.Duration, error) {
	errs := make([]error, len(b.hosts))
	var wg sync.WaitGroup
	start := time.Now()
	for i, h := range b.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = timed(ctx, nil, b.sshPath, "-F", b.cfg, "-o", "ControlMaster=no", "-o", "ControlPath=none", "--", h, "true")
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// timeMaxRSS runs jt under /usr/bin/time, whose own RSS is small, so
// that its %M (wait4's ru_maxrss) is jt's peak or its largest child's.
func (b *bench) timeMaxRSS(ctx context.Context, args ...string) error {
	tbin, err := exec.LookPath("time")
	if err != nil {
		tbin = "/usr/bin/time"
	}
	if _, err := os.Stat(tbin); err != nil {
		return nil // no GNU time: the VmHWM row stands alone
	}
	env := append(append([]string{}, b.jt.env...), "JTB_SSH_LOG=/dev/null")
	t, err := timed(ctx, env, tbin, append([]string{"-f", "JTB-MAXRSS %M", b.jt.bin}, args...)...)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(t.Stderr)), "\n")
	kb, err := strconv.ParseFloat(strings.TrimPrefix(lines[len(lines)-1], "JTB-MAXRSS "), 64)
	if err != nil {
		return fmt.Errorf("/usr/bin/time printed %q", t.Stderr)
	}
	b.timeRSS = &row{Operation: opTimeRSS, Unit: "MB", Samples: []float64{kb / 1024}, Median: kb / 1024,
		Note: "GNU time %M (wait4 ru_maxrss: jt or an ssh it waited for) of jt " + strings.Join(args, " ") + " with every tunnel down"}
	return nil
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
			return nil, fmt.Errorf("jt ls: %s %s is %q, want %q", r.Host, r.Name, r.State, state)
		}
	}
	return rows, nil
}

// cleanup closes every session jt still has, ends the bench's masters,
// and stops the relay and the box (killing the test users' processes).
func (b *bench) cleanup() error {
	if b.cleaned {
		return nil
	}
	b.cleaned = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	if b.jt != nil && b.box != nil {
		if o, err := b.jt.run(ctx, "ls", "--json"); err == nil {
			if rows, _ := parseLs(o); len(rows) > 0 {
				progress("cleanup: jt close --all --kill (%d sessions)", len(rows))
				if _, err := b.jt.run(ctx, "close", "--all", "--kill"); err != nil {
					errs = append(errs, err)
				}
			}
		}
		for _, h := range b.hosts {
			exec.CommandContext(ctx, b.sshPath, "-F", b.cfg, "-o", "ControlPath="+b.jtControlPath, "-O", "exit", "--", h).Run()
		}
	}
	for _, cfg := range b.benchMasterCfg {
		exec.CommandContext(ctx, b.sshPath, "-F", cfg, "-o", "ControlPath="+b.benchCtlPath, "-O", "exit", "--", b.hosts[0]).Run()
	}
	if b.box != nil {
		if err := b.box.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if b.relay != nil {
		b.relay.Close()
	}
	return errors.Join(errs...)
}
