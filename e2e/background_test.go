package e2e

// jt in the background, as a terminal's foreground job: for the tests
// that interrupt it (Ctrl-C) or let it run while they break things.

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// bgJT is a jt running in the background in its own process group, as a
// terminal's foreground job: Ctrl-C reaches jt and its ssh children.
type bgJT struct {
	t          *testing.T
	args       []string
	cmd        *exec.Cmd
	outF, errF *os.File
	done       chan struct{}
	code       int
	start      time.Time
	took       time.Duration // from start to exit
}

func startJT(t *testing.T, e *env, args ...string) *bgJT {
	t.Helper()
	return startJTEnv(t, e, nil, args...)
}

// startJTEnv is startJT with variables added to jt's environment.
func startJTEnv(t *testing.T, e *env, vars []string, args ...string) *bgJT {
	t.Helper()
	b := &bgJT{t: t, args: args, done: make(chan struct{}), start: time.Now()}
	var err error
	if b.outF, err = os.CreateTemp(e.dir, "bgout"); err != nil {
		t.Fatal(err)
	}
	if b.errF, err = os.CreateTemp(e.dir, "bgerr"); err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command(e2e.jt, args...)
	b.cmd.Env = append(append([]string(nil), e.vars...), vars...)
	b.cmd.Dir = e.dir
	// Files, not pipes: a daemonised ssh master must not hold Wait up.
	b.cmd.Stdout, b.cmd.Stderr = b.outF, b.errF
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start jt %s: %v", shellJoin(args), err)
	}
	go func() {
		err := b.cmd.Wait()
		b.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			b.code = ee.ExitCode()
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				b.code = 128 + int(st.Signal())
			}
		} else if err != nil {
			b.code = -1
		}
		b.took = time.Since(b.start)
		close(b.done)
	}()
	t.Cleanup(func() {
		if !b.exited() {
			syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
		t.Logf("$ jt %s  # background, exit %d, %v\n%s%s", shellJoin(b.args), b.code, b.took.Round(time.Millisecond),
			indent("stdout| ", b.stdout()), indent("stderr| ", b.stderr()))
		b.outF.Close()
		b.errF.Close()
	})
	return b
}

// interrupt sends SIGINT to jt's process group, as Ctrl-C does.
func (b *bgJT) interrupt() {
	if err := syscall.Kill(-b.cmd.Process.Pid, syscall.SIGINT); err != nil && !b.exited() {
		b.t.Errorf("SIGINT jt: %v", err)
	}
}

func (b *bgJT) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for jt to exit and returns its exit code (128+signal
// if a signal ended it).
func (b *bgJT) wait(d time.Duration) (int, bool) {
	if b.exited() {
		return b.code, true
	}
	select {
	case <-b.done:
		return b.code, true
	case <-time.After(d):
		return 0, false
	}
}

func (b *bgJT) stdout() string { o, _ := os.ReadFile(b.outF.Name()); return string(o) }

func (b *bgJT) stderr() string { x, _ := os.ReadFile(b.errF.Name()); return string(x) }
