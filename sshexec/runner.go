package sshexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jt-sh/jt/visible"
)

// Mode says how a command meets the user's terminal.
type Mode int

const (
	// Capture collects stdout and stderr; stdin is the given reader.
	Capture Mode = iota
	// Master is for `ssh -f`: ssh may ask on the terminal (password, 2FA,
	// host key), then daemonises. stderr goes to a file, never a pipe, so
	// that Wait does not block on the daemon holding it open.
	Master
	// Terminal hands stdin, stdout and stderr to ssh (jt attach).
	Terminal
	// Stream sends stdin from Cmd.Stdin and ssh's output to the user as it
	// comes (batch open, the keeper, jt logs -f): stderr, the remote's
	// text, with its control characters made visible.
	Stream
	// Detach starts ssh and returns at once with its pid; it outlives jt.
	Detach
)

// Cmd is one ssh invocation: the arguments after the binary.
type Cmd struct {
	Args  []string
	Stdin io.Reader
	Mode  Mode
	// Stdout, in Stream mode, receives ssh's output instead of the terminal.
	Stdout io.Writer
	// AnswerWithin, in Capture mode, ends ssh when no output at all came
	// within it: the connection behind a live-looking master is dead.
	AnswerWithin time.Duration
	// MaxStdout, in Capture mode, bounds the stdout kept (0: no bound);
	// the rest is read and dropped, so that a host cannot fill jt's memory.
	MaxStdout int
}

// Result is what ssh printed and how it exited.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
	PID            int // Detach only
}

// Runner executes ssh. The real one is ExecRunner; tests record argv.
type Runner interface {
	Run(ctx context.Context, cmd Cmd) (Result, error)
}

// ExecRunner runs the ssh binary found at Path.
type ExecRunner struct {
	Path string
	// Terminal is where Master and Terminal commands talk to the user.
	Stdin          *os.File
	Stdout, Stderr *os.File
	// Env, when non-nil, replaces the environment of ssh.
	Env []string
}

// LookPath finds ssh: $JT_SSH if set, else ssh on $PATH.
func LookPath() (string, error) {
	if p := os.Getenv("JT_SSH"); p != "" {
		return exec.LookPath(p)
	}
	return exec.LookPath("ssh")
}

// UserRunner is the Runner of the ssh that LookPath finds, on this
// process's terminal (the master's login may ask on it).
func UserRunner() (Runner, error) {
	path, err := LookPath()
	if err != nil {
		return nil, err
	}
	return &ExecRunner{Path: path, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, nil
}

// Run executes one ssh command. A non-zero exit is returned as *Error.
func (r *ExecRunner) Run(ctx context.Context, c Cmd) (Result, error) {
	if c.Mode == Detach {
		return r.detach(c)
	}
	cmd := exec.CommandContext(ctx, r.Path, c.Args...)
	cmd.Env = r.Env
	// Give ssh a moment after the deadline to exit on its own before its
	// pipes are closed under it. (A hung master holds a client's stdio,
	// passed to it: this bounds how long that can delay jt.)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	errFile, err := r.connect(cmd, c, &stdout, &stderr)
	if err != nil {
		return Result{}, err
	}
	if v, ok := cmd.Stderr.(*streamErr); ok {
		defer v.shown.Flush()
	}
	if errFile != nil {
		defer errFile.Close()
	}
	answered := captureStdout(cmd, c, &stdout)
	own := c.Mode == Capture || c.Mode == Stream
	if own {
		cmd.SysProcAttr = ownGroupAttr()
	}
	err = cmd.Start()
	if err == nil && own {
		defer running.track(cmd.Process)()
	}
	var silent atomic.Bool
	if err == nil && answered != nil {
		done := make(chan struct{})
		defer close(done)
		go killIfSilent(cmd, c.AnswerWithin, answered.seen, done, &silent)
	}
	if err == nil {
		err = cmd.Wait()
	}
	if errFile != nil {
		if _, serr := errFile.Seek(0, io.SeekStart); serr == nil {
			io.Copy(&stderr, io.LimitReader(errFile, maxStderr))
		}
	}
	return result(ctx, c, cmd, &stdout, &stderr, &silent, err)
}

// running is every ssh of this process in a process group of its own
// (see ownGroupAttr), for EndCommands.
var running = &processSet{m: map[*os.Process]struct{}{}}

type processSet struct {
	mu sync.Mutex
	m  map[*os.Process]struct{}
}

func (s *processSet) track(p *os.Process) (untrack func()) {
	s.mu.Lock()
	s.m[p] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.m, p)
		s.mu.Unlock()
	}
}

// EndCommands kills every ssh this process runs that the terminal's
// Ctrl-C does not reach (scripts, -O commands): for a jt that quits at
// once, on a second Ctrl-C, leaving none of them behind.
func EndCommands() {
	running.mu.Lock()
	defer running.mu.Unlock()
	for p := range running.m {
		p.Kill()
	}
}

// detach starts ssh on its own and returns its pid: it outlives jt.
func (r *ExecRunner) detach(c Cmd) (Result, error) {
	detach := exec.Command(r.Path, c.Args...)
	detach.Env = r.Env
	detach.Stdin, detach.Stderr = r.Stdin, r.Stderr
	detach.SysProcAttr = detachedAttr()
	if err := detach.Start(); err != nil {
		return Result{ExitCode: -1}, newError(c.Args, Result{ExitCode: -1}, err)
	}
	pid := detach.Process.Pid
	detach.Process.Release()
	return Result{PID: pid}, nil
}

// connect gives ssh its stdin, stdout and stderr as c.Mode says. In Master
// mode stderr is an unlinked temporary file, returned for Run to read back
// and close.
func (r *ExecRunner) connect(cmd *exec.Cmd, c Cmd, stdout, stderr *bytes.Buffer) (*os.File, error) {
	switch c.Mode {
	case Terminal:
		cmd.Stdin, cmd.Stdout, cmd.Stderr = r.Stdin, r.Stdout, r.Stderr
	case Stream:
		cmd.Stdin, cmd.Stdout = c.Stdin, r.Stdout
		cmd.Stderr = &streamErr{shown: &visible.Writer{W: r.Stderr}, kept: &capped{b: stderr, max: maxStderr}}
		if c.Stdout != nil {
			cmd.Stdout = c.Stdout
		}
	case Master:
		f, err := os.CreateTemp("", "jt-ssh-*.err")
		if err != nil {
			return nil, err
		}
		os.Remove(f.Name())
		cmd.Stdin, cmd.Stderr = r.Stdin, f
		return f, nil
	default:
		cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, stdout, stderr
	}
	return nil, nil
}

// captureStdout bounds what Capture mode keeps of stdout (MaxStdout) and,
// with AnswerWithin, returns the writer that tells when output first came.
func captureStdout(cmd *exec.Cmd, c Cmd, stdout *bytes.Buffer) *firstWrite {
	var out io.Writer = stdout
	if c.Mode == Capture && c.MaxStdout > 0 {
		out = &capped{b: stdout, max: c.MaxStdout}
		cmd.Stdout = out
	}
	var answered *firstWrite
	if c.Mode == Capture && c.AnswerWithin > 0 {
		answered = &firstWrite{w: out, seen: make(chan struct{})}
		cmd.Stdout = answered
	}
	return answered
}

// killIfSilent kills ssh, and says so in silent, when no output was seen
// within the time given; done ends the watch.
func killIfSilent(cmd *exec.Cmd, within time.Duration, seen, done <-chan struct{}, silent *atomic.Bool) {
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-seen:
	case <-done:
	case <-t.C:
		silent.Store(true)
		cmd.Process.Kill()
	}
}

// result is what ssh printed and how it exited, and the error Run returns:
// the context's, ErrNoAnswer, or the exit, each as *Error.
func result(ctx context.Context, c Cmd, cmd *exec.Cmd, stdout, stderr *bytes.Buffer, silent *atomic.Bool, err error) (Result, error) {
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err == nil {
		return res, nil
	}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case silent.Load():
		res.ExitCode = -1
		err = fmt.Errorf("%w within %v", ErrNoAnswer, c.AnswerWithin)
	case !errors.As(err, &exitErr):
		res.ExitCode = -1
	}
	return res, newError(c.Args, res, err)
}

// maxStderr bounds the stderr a Stream command keeps (for its error), as
// the gate bounds an answer.
const maxStderr = 1 << 20

// streamErr is a Stream command's stderr: shown to the user as Visible
// shows it, and kept, bounded.
type streamErr struct {
	shown *visible.Writer
	kept  *capped
}

func (s *streamErr) Write(p []byte) (int, error) {
	s.kept.Write(p)
	return s.shown.Write(p)
}

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	b   *bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// firstWrite passes output on and tells when the first of it came.
type firstWrite struct {
	w    io.Writer
	once sync.Once
	seen chan struct{}
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if len(p) > 0 {
		f.once.Do(func() { close(f.seen) })
	}
	return f.w.Write(p)
}
