package session

// jt kernel run: a remote ipykernel for a local Jupyter client. The
// client's five ports are forwarded over the host's master (or, on a
// batch host, the node hop) to the kernel's unix sockets in a 0700
// directory of the remote user's; the key reaches the host on the
// script's stdin only. The remote script stays attached to its ssh: when
// jt ends, however it ends, the script sees its stdin close and stops the
// kernel and removes its files.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/kernelspec"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
)

// KernelRequest is what jt kernel run asks for.
type KernelRequest struct {
	Host    string
	Conn    kernelspec.Connection
	Env     templates.Env
	Batch   BatchOptions
	Timeout time.Duration
}

// Validate checks r before anything runs.
func (r KernelRequest) Validate() error {
	if err := validHost(r.Host); err != nil {
		return err
	}
	if s := r.Batch.Scheduler; s != "" && s != "slurm" {
		return validate.Usagef("jt kernel runs kernels on plain hosts and on Slurm, not with --scheduler %s", s)
	}
	if r.Timeout <= 0 {
		return validate.Usagef("--timeout must be positive, like 60s or 2m")
	}
	return nil
}

// kernelRun is one running kernel: its script's ssh and what it answered.
type kernelRun struct {
	stdin  *os.File      // the script's stdin: closing it stops the kernel
	done   chan error    // the script's ssh has ended
	ended  chan struct{} // the script said the kernel ended
	answer templates.KernelAnswer
}

// RunKernel starts the kernel, forwards the client's ports to it and
// stays until the kernel ends (a shutdown request) or ctx is cancelled
// (jt is interrupted); then the forwards go, and the kernel with its files.
func (e *Engine) RunKernel(ctx context.Context, r KernelRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	unlock, err := e.lockHost(ctx, r.Host, 60*time.Second)
	if err != nil {
		return err
	}
	ee, _, err := e.ensureMaster(ctx, r.Host)
	if err == nil {
		defer e.markKernel(r.Host)()
	}
	unlock()
	if err != nil {
		return err
	}
	if ee.SSH.NoMux {
		return errors.New("jt kernel carries a kernel's channels over a master connection, and ssh cannot keep one here")
	}
	nonce := newNonce()
	script, err := templates.Render(templates.Kernel{Nonce: nonce, Key: r.Conn.Key, Scheme: r.Conn.Scheme,
		Timeout: int(r.Timeout / time.Second), Env: r.Env, Scheduler: r.Batch.Scheduler, Args: r.Batch.Args})
	if err != nil {
		return err
	}
	e.progress("starting a kernel on %s", r.Host)
	run, err := ee.startKernel(ctx, r.Host, script)
	if err != nil {
		return err
	}
	defer run.stdin.Close()
	tunnel, undo, err := ee.kernelTunnel(ctx, r.Host, nonce, run.answer)
	if err != nil {
		return ee.stopKernel(run, err)
	}
	defer undo()
	var added []sshexec.Forward
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, f := range added {
			tunnel.CancelForward(cctx, f)
		}
	}()
	for i, port := range r.Conn.Ports() {
		f := sshexec.Forward{LocalPort: port, RemoteSock: templates.KernelSocket(run.answer.Dir, i+1)}
		if _, err := tunnel.AddForward(ctx, f); err != nil {
			return ee.stopKernel(run, fmt.Errorf("forward 127.0.0.1:%d to the kernel: %w", port, err))
		}
		added = append(added, f)
	}
	e.progress("kernel on %s (%s) ready", run.answer.Node, run.answer.Dir)
	select {
	case <-run.ended:
		<-run.done
		return nil
	case err := <-run.done:
		return fmt.Errorf("the connection to %s ended: %w", r.Host, errOr(err, "the kernel is gone"))
	case <-ctx.Done():
		return ee.stopKernel(run, nil)
	}
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// startKernel runs the kernel script and waits for its first answer.
func (e *Engine) startKernel(ctx context.Context, host, script string) (*kernelRun, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	if _, err := io.WriteString(wr, script); err != nil {
		wr.Close()
		return nil, err
	}
	out, outW := io.Pipe()
	run := &kernelRun{stdin: wr, done: make(chan error, 1), ended: make(chan struct{})}
	go func() {
		// The ssh outlives a cancelled ctx: stopping is the script's to do.
		err := e.SSH.StreamScript(context.WithoutCancel(ctx), host, rd, outW)
		outW.Close()
		run.done <- err
	}()
	answered := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(io.LimitReader(out, templates.MaxReply))
		var buf bytes.Buffer
		reading := true
		for sc.Scan() {
			line := sc.Text()
			if reading {
				buf.WriteString(line + "\n")
				if line == "@@JT-END@@" {
					reading = false
					answered <- run.read(host, buf.Bytes())
				}
				continue
			}
			if line == templates.KernelExit {
				close(run.ended)
			}
		}
		io.Copy(io.Discard, out)
		if reading {
			answered <- fmt.Errorf("%s gave no answer for the kernel", host)
		}
	}()
	select {
	case err := <-answered:
		if err != nil {
			wr.Close()
			if sshErr := <-run.done; sshErr != nil && !templates.Refused(err) && !isHinted(err) {
				return nil, sshHinted(fmt.Errorf("start a kernel on %s: %w", host, sshErr), host)
			}
			return nil, err
		}
		return run, nil
	case <-ctx.Done():
		wr.Close()
		<-run.done
		return nil, ctx.Err()
	}
}

// read checks the script's answer.
func (k *kernelRun) read(host string, out []byte) error {
	reply, err := templates.Read(host, templates.KindKernel, out)
	if err != nil {
		return err
	}
	if len(reply.Blocks) != 1 {
		return fmt.Errorf("%s gave no answer for the kernel", host)
	}
	b := reply.Blocks[0]
	if b.Error {
		f := b.Failure()
		return &HintError{Err: errors.New(f.Error), Hint: f.Hint, Detail: b.Log}
	}
	k.answer = b.Kernel()
	if k.answer.Dir == "" || k.answer.Node == "" || (k.answer.PID == 0 && k.answer.Job == "") {
		return fmt.Errorf("%s answered for the kernel without its directory, node or process", host)
	}
	return nil
}

// stopKernel tells the script to stop the kernel and waits for it to
// have done so (its files gone), then returns cause.
func (e *Engine) stopKernel(run *kernelRun, cause error) error {
	io.WriteString(run.stdin, "end\n")
	run.stdin.Close()
	select {
	case <-run.done:
	case <-time.After(20 * time.Second):
		e.warn("the kernel's host did not say it stopped the kernel within 20s")
	}
	return cause
}

// kernelTunnel is what carries the kernel's channels: the host's master,
// or for a kernel in a batch job, a node hop of its own (undo ends it).
func (e *Engine) kernelTunnel(ctx context.Context, host, nonce string, a templates.KernelAnswer) (sshexec.Tunnel, func(), error) {
	if a.Job == "" {
		return e.SSH.Tunnel(host), func() {}, nil
	}
	h := sshexec.Hop{Login: host, Node: a.Node, Name: "kernel-" + nonce[:12]}
	if err := sshexec.CheckHopNode(a.Node); err != nil {
		return nil, nil, err
	}
	started, err := e.ensureHop(ctx, h)
	undo := func() {
		if started {
			e.SSH.NodeHop(h).Exit(context.Background())
		}
	}
	if err != nil {
		undo()
		return nil, nil, err
	}
	return e.SSH.NodeHop(h), undo, nil
}

func isHinted(err error) bool {
	var h *HintError
	return errors.As(err, &h)
}

// markKernel notes, for as long as this jt kernel run rides host's
// master, that it does: ExitIdleMaster (jt close of the host's last
// session) then keeps the master, and with it the kernel.
func (e *Engine) markKernel(host string) (done func()) {
	path := filepath.Join(e.LocalDir, fmt.Sprintf("%s%d", kernelMarkPrefix(e.SSH.Dest(host)), os.Getpid()))
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return func() {}
	}
	return func() { os.Remove(path) }
}

func kernelMarkPrefix(dest string) string {
	sum := sha256.Sum256([]byte(dest))
	return "kernel-" + hex.EncodeToString(sum[:8]) + "-"
}

// kernelsRide reports whether a live jt kernel run (another than this
// process) rides host's master; marks of dead ones are removed.
func (e *Engine) kernelsRide(host string) bool {
	prefix := kernelMarkPrefix(e.SSH.Dest(host))
	marks, _ := filepath.Glob(filepath.Join(e.LocalDir, prefix+"*"))
	for _, m := range marks {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), prefix))
		switch {
		case err != nil:
		case pid == os.Getpid():
		case processAlive(pid):
			return true
		default:
			os.Remove(m)
		}
	}
	return false
}
