//go:build linux

// Command bench measures jt against a throwaway sshd (scripts/sshbox) and
// prints, per operation, the median time, its floor (what OpenSSH and
// Jupyter cost by themselves), the ratio, how many ssh processes jt
// spawned and how many of them reached the remote, and pass/fail targets.
// Results also go to a JSON file.
//
// Run as root from the repository root (it creates test users jtb01…):
//
//	go run ./scripts/bench               # over loopback
//	go run ./scripts/bench -delay 25ms   # through a relay adding 25 ms each way
//
// A benchmark measures; no test asserts these times.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jt-sh/jt/scripts/sshbox"
)

type options struct {
	n     int
	delay time.Duration
	out   string
	dir   string
	hosts int
	jt    string
	slurm bool
	tcp   bool
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 5, "runs per expensive operation (cheap ones, under ~50 ms, get 3×n)")
	flag.DurationVar(&o.delay, "delay", 0, "one-way delay added by a userspace relay in front of sshd (e.g. 25ms)")
	flag.StringVar(&o.out, "out", "bench-results.json", "JSON results `file`")
	flag.StringVar(&o.dir, "dir", "/tmp/jtbench", "work `directory` (short: control sockets live below it)")
	flag.IntVar(&o.hosts, "hosts", 32, "host aliases for jt ls (one test user each; at least 8)")
	flag.StringVar(&o.jt, "jt", "", "jt `binary` to measure (default: go build the module)")
	flag.BoolVar(&o.slurm, "slurm", false, "also measure jt open --slurm on the Slurm test cluster (scripts/slurm-cluster start), from RUNNING to the URL")
	flag.BoolVar(&o.tcp, "tcp", false, "open every session with --tcp (a warm one then needs the host's word on its server)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./scripts/bench [-n 5] [-delay 25ms] [-out bench-results.json]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || o.n < 1 || o.hosts < 8 || o.hosts > 99 || o.delay < 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: error: %v\n", err)
		os.Exit(1)
	}
}

// report is the JSON file.
type report struct {
	Started     time.Time   `json:"started"`
	WallSeconds float64     `json:"wall_seconds"`
	N           int         `json:"n"`
	CheapRuns   int         `json:"cheap_runs"`
	DelayMS     float64     `json:"delay_ms_each_way"`
	Hosts       int         `json:"hosts"`
	Machine     machine     `json:"machine"`
	RelayCheck  *relayCheck `json:"relay_check,omitempty"`
	Rows        []*row      `json:"rows"`
	Failed      []string    `json:"failed"`
}

type machine struct {
	CPUs       int    `json:"cpus"`
	Kernel     string `json:"kernel"`
	OpenSSH    string `json:"openssh"`
	Go         string `json:"go"`
	JTCommit   string `json:"jt_commit"`
	LoadBefore string `json:"loadavg_before"`
	LoadAfter  string `json:"loadavg_after"`
}

// relayCheck proves the delay is there: a command over a master costs two
// round trips, so it must grow by about 2 × 2 × delay.
type relayCheck struct {
	DirectMasterMS float64 `json:"direct_master_ms"`
	RelayMasterMS  float64 `json:"relay_master_ms"`
	ExpectedAddMS  float64 `json:"expected_added_ms"`
	DirectFreshMS  float64 `json:"direct_fresh_ms"`
	RelayFreshMS   float64 `json:"relay_fresh_ms"`
	FreshRTTs      float64 `json:"fresh_login_round_trips"`
	OK             bool    `json:"ok"`
}

func run(ctx context.Context, o options) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("run as root: the bench needs one test user per host alias (sshbox root mode), and -delay a relay in front of a root sshd")
	}
	start := time.Now()
	rep := &report{Started: start, N: o.n, CheapRuns: 3 * o.n, DelayMS: ms(o.delay), Hosts: o.hosts}
	rep.Machine = machine{CPUs: runtime.NumCPU(), Kernel: readTrim("/proc/sys/kernel/osrelease"), Go: runtime.Version(), LoadBefore: loadavg()}
	if out, err := exec.Command("ssh", "-V").CombinedOutput(); err == nil {
		rep.Machine.OpenSSH = strings.TrimSpace(string(out))
	}

	rep.Machine.JTCommit = jtCommit()
	b, err := setup(ctx, o)
	if b != nil {
		defer func() {
			if cerr := b.cleanup(); err == nil {
				err = cerr
			}
		}()
	}
	if err != nil {
		return err
	}
	if err := b.measure(ctx); err != nil {
		return err
	}
	if err := b.cleanup(); err != nil {
		return err
	}
	rep.WallSeconds = time.Since(start).Seconds()
	rep.Machine.LoadAfter = loadavg()
	rep.RelayCheck = b.relayCheck
	rep.Rows = b.rows
	rep.Failed = []string{}
	for _, r := range b.rows {
		if r.Pass != nil && !*r.Pass {
			rep.Failed = append(rep.Failed, r.Operation)
		}
	}

	mode := "loopback (no added delay)"
	if o.delay > 0 {
		mode = fmt.Sprintf("relay adding %v each way (127.0.0.1:%d → sshd 127.0.0.1:%d)", o.delay, b.relayPort, b.box.Port)
	}
	fmt.Printf("jt bench: %s; %d host aliases (test users jtb01..jtb%02d, one sshd); n=%d, cheap ops %d runs\n",
		mode, o.hosts, o.hosts, o.n, 3*o.n)
	fmt.Printf("machine: %d CPUs, Linux %s, %s, %s; jt %s; load %s → %s\n", rep.Machine.CPUs, rep.Machine.Kernel,
		rep.Machine.OpenSSH, rep.Machine.Go, rep.Machine.JTCommit, rep.Machine.LoadBefore, rep.Machine.LoadAfter)
	if c := b.relayCheck; c != nil {
		verdict := "ok, the delay is there"
		if !c.OK {
			verdict = "NOT AS EXPECTED"
		}
		fmt.Printf("delay check: master `true` %.1f ms via relay vs %.1f ms direct: +%.1f ms, expected ≈ +%.0f ms (2 round trips × 2 × %v): %s\n",
			c.RelayMasterMS, c.DirectMasterMS, c.RelayMasterMS-c.DirectMasterMS, c.ExpectedAddMS, o.delay, verdict)
		fmt.Printf("             fresh `ssh true` %.1f ms via relay vs %.1f ms direct: +%.1f ms ≈ %.1f round trips of %v\n",
			c.RelayFreshMS, c.DirectFreshMS, c.RelayFreshMS-c.DirectFreshMS, c.FreshRTTs, 2*o.delay)
	}
	fmt.Println()
	printTable(os.Stdout, b.rows)
	printNotes(os.Stdout, b.rows)
	fmt.Printf("\nwall time %.1f s; JSON in %s\n", rep.WallSeconds, o.out)
	if len(rep.Failed) > 0 {
		fmt.Printf("targets missed: %s\n", strings.Join(rep.Failed, "; "))
	}

	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.out, append(data, '\n'), 0o644)
}

// jtCommit names what was measured: the commit, and whether the tree
// had changes on top of it (when -jt is not given the tree is built).
func jtCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func loadavg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// progress tells the person waiting what the bench is doing.
func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}

// moduleRoot is the directory of the jt module (for go build).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the jt module: run from the repository root")
	}
	return filepath.Dir(mod), nil
}

// sshboxUsers are the test users and host aliases: one (user, host, port)
// each, so that each alias gets its own ControlPath (%C) and master, as 32
// real hosts would.
func sshboxUsers(n int) (map[string]string, []sshbox.User, []string) {
	aliases := map[string]string{}
	var users []sshbox.User
	var hosts []string
	for i := 1; i <= n; i++ {
		u, h := fmt.Sprintf("jtb%02d", i), fmt.Sprintf("h%02d", i)
		aliases[h] = u
		users = append(users, sshbox.User{Name: u, Shell: "/bin/bash"})
		hosts = append(hosts, h)
	}
	return aliases, users, hosts
}
