// Command e2erun runs the end-to-end tests (e2e/) as several workers side
// by side: one jt build and one test binary for all, each worker with its
// own slot (users, sshd, lock; see e2e/shard_test.go), the tests dealt out
// as the workers reach them. Most of an end-to-end test's time is spent
// waiting on a login, a Jupyter start or a scheduler, so workers overlap
// well even on 2 cores.
//
//	go run ./scripts/e2erun [-workers 3] [-run REGEXP] [-timeout 40m]
//
// JT_E2E_RACE=1 builds jt with the race detector, as for go test ./e2e.
// It prints each test as it ends, the output of every failed one, the ten
// slowest, and a closing "N passed, N failed" line; it exits non-zero when
// a test failed, a worker failed, or a test was run by no worker.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// event is one line of go tool test2json's output.
type event struct {
	Action  string
	Test    string
	Elapsed float64
	Output  string
}

// result is what one worker said of one test.
type result struct {
	action  string // pass, fail, skip
	elapsed float64
	output  []string
}

type worker struct {
	slot    int
	results map[string]*result // test (and subtest) name → its result
	order   []string           // tests in the order they started
	stderr  string             // the test binary's stderr file
	claims  string             // the run's claims directory
	err     error              // how the worker process ended
}

func main() {
	workers := flag.Int("workers", 3, "worker processes side by side (1-9)")
	run := flag.String("run", "", "run only the tests matching this regexp (as go test -run)")
	timeout := flag.Duration("timeout", 40*time.Minute, "each worker's test timeout")
	flag.Parse()
	if *workers < 1 || *workers > 9 {
		fail("-workers %d: want 1-9", *workers)
	}
	root, err := moduleRoot()
	if err != nil {
		fail("%v", err)
	}
	dir, err := os.MkdirTemp("/tmp", "jter")
	if err != nil {
		fail("%v", err)
	}
	jt, testBin := filepath.Join(dir, "bin", "jt"), filepath.Join(dir, "e2e.test")
	start := time.Now()
	build := []string{"build", "-o", jt}
	if os.Getenv("JT_E2E_RACE") != "" {
		build = append(build, "-race")
	}
	must(goCmd(root, append(build, ".")...))
	must(goCmd(root, "test", "-c", "-o", testBin, "./e2e"))
	fmt.Printf("e2erun: built jt and the e2e test binary in %s\n", time.Since(start).Round(time.Second))

	// One parallel run holds the lock a plain go test ./e2e takes, so the
	// two never share the machine's test users and clusters.
	lock := flock.New("/tmp/jt-e2e.lock")
	if ok, err := lock.TryLock(); err == nil && !ok {
		fmt.Println("e2erun: another end-to-end run holds /tmp/jt-e2e.lock; waiting for it")
		err = lock.Lock()
		must(err)
	} else {
		must(err)
	}

	names, err := listTests(testBin, filepath.Join(root, "e2e"), *run)
	if err != nil {
		fail("list tests: %v", err)
	}
	claims := filepath.Join(dir, "claims")
	must(os.Mkdir(claims, 0o700))
	start = time.Now()
	ws := make([]*worker, *workers)
	var wg sync.WaitGroup
	var printMu sync.Mutex
	for i := range ws {
		w := &worker{slot: i + 1, results: map[string]*result{}, stderr: filepath.Join(dir, fmt.Sprintf("stderr%d", i+1)), claims: claims}
		ws[i] = w
		args := []string{"-test.v=test2json", "-test.count=1", "-test.timeout=" + timeout.String()}
		if *run != "" {
			args = append(args, "-test.run="+*run)
		}
		env := append(os.Environ(), "JT_E2E_SLOT="+strconv.Itoa(w.slot), "JT_E2E_CLAIMS="+claims, "JT_E2E_BIN="+jt)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.err = w.run(testBin, filepath.Join(root, "e2e"), args, env, &printMu)
		}()
	}
	wg.Wait()
	code := report(ws, names, claims, time.Since(start))
	lock.Unlock()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs one worker, its verbose output read through go tool test2json.
func (w *worker) run(testBin, dir string, args, env []string, printMu *sync.Mutex) error {
	errF, err := os.Create(w.stderr)
	if err != nil {
		return err
	}
	defer errF.Close()
	conv := exec.Command("go", "tool", "test2json", "-t")
	conv.Stderr = errF
	in, err := conv.StdinPipe()
	if err != nil {
		return err
	}
	out, err := conv.StdoutPipe()
	if err != nil {
		return err
	}
	test := exec.Command(testBin, args...)
	test.Dir, test.Env = dir, env
	test.Stdout, test.Stderr = in, errF
	if err := conv.Start(); err != nil {
		return err
	}
	if err := test.Start(); err != nil {
		in.Close()
		conv.Wait()
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.read(out, printMu)
	}()
	testErr := test.Wait()
	in.Close()
	<-done
	if err := conv.Wait(); err != nil {
		return fmt.Errorf("test2json: %w", err)
	}
	return testErr
}

// read takes the worker's events, printing each test that ends (not the
// ones it left to other workers).
func (w *worker) read(r io.Reader, printMu *sync.Mutex) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" {
			continue
		}
		res := w.results[ev.Test]
		if res == nil {
			res = &result{}
			w.results[ev.Test] = res
			w.order = append(w.order, ev.Test)
		}
		switch ev.Action {
		case "output":
			res.output = append(res.output, ev.Output)
		case "pass", "fail", "skip":
			res.action, res.elapsed = ev.Action, ev.Elapsed
			if !strings.Contains(ev.Test, "/") && w.ran(ev.Test) {
				printMu.Lock()
				fmt.Printf("e2erun: worker %d: %-4s %s (%.1fs)\n", w.slot, strings.ToUpper(ev.Action), ev.Test, ev.Elapsed)
				if ev.Action == "fail" {
					fmt.Print(indent(w.output(ev.Test)))
				}
				printMu.Unlock()
			}
		}
	}
}

// output is what test and its subtests printed, in order.
func (w *worker) output(test string) string {
	var b strings.Builder
	for _, t := range w.order {
		if t == test || strings.HasPrefix(t, test+"/") {
			b.WriteString(strings.Join(w.results[t].output, ""))
		}
	}
	return b.String()
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}

// ran reports whether this worker ran the top-level test, not another
// worker (its claim file names the worker's slot).
func (w *worker) ran(test string) bool {
	b, err := os.ReadFile(filepath.Join(w.claims, test))
	return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(w.slot)
}

// report prints the failures, the slowest tests and the totals, and
// returns the exit code.
func report(ws []*worker, names []string, claims string, wall time.Duration) int {
	code := 0
	type ran struct {
		name    string
		elapsed float64
		slot    int
	}
	var all []ran
	passed, failed, skipped := 0, 0, 0
	var failures []string
	bySlot := map[int]*worker{}
	for _, w := range ws {
		bySlot[w.slot] = w
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(claims, name))
		slot, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		w := bySlot[slot]
		if err != nil || w == nil || w.results[name] == nil || w.results[name].action == "" {
			fmt.Printf("e2erun: %s was run by no worker\n", name)
			failed++
			code = 1
			continue
		}
		res := w.results[name]
		all = append(all, ran{name, res.elapsed, slot})
		switch res.action {
		case "pass":
			passed++
		case "skip":
			skipped++
		default:
			failed++
			code = 1
			failures = append(failures, name)
		}
	}
	for _, w := range ws {
		if w.err != nil {
			code = 1
			fmt.Printf("\ne2erun: worker %d: %v\n", w.slot, w.err)
			if b, _ := os.ReadFile(w.stderr); len(b) > 0 {
				fmt.Printf("its stderr:\n%s\n", b)
			}
		}
	}
	if len(failures) > 0 {
		fmt.Printf("\ne2erun: failed (their output is above, as each ended): %s\n", strings.Join(failures, " "))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].elapsed > all[j].elapsed })
	fmt.Printf("\ne2erun: the ten slowest tests:\n")
	for i := 0; i < len(all) && i < 10; i++ {
		fmt.Printf("  %7.1fs  %s (worker %d)\n", all[i].elapsed, all[i].name, all[i].slot)
	}
	fmt.Printf("e2erun: %d workers, %s wall\n", len(ws), wall.Round(time.Second))
	fmt.Printf("e2e: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return code
}

// listTests lists the top-level tests the binary has (matching run).
func listTests(testBin, dir, run string) ([]string, error) {
	pattern := "."
	if run != "" {
		pattern = run
	}
	cmd := exec.Command(testBin, "-test.list", pattern)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Test") {
			names = append(names, strings.TrimSpace(l))
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no test matches %q", pattern)
	}
	return names, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside jt's module")
	}
	return filepath.Dir(mod), nil
}

func goCmd(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func must(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2erun: "+format+"\n", args...)
	os.Exit(2)
}
