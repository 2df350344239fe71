//go:build linux

// Command sshwrap is the JT_SSH of jt's bench: it runs the real ssh
// ($JTB_SSH_REAL) with the same arguments and file descriptors, and then
// appends one line to $JTB_SSH_LOG: start and end (Unix nanoseconds), exit
// code and argv. The bench reads it to count and time jt's ssh calls.
// Kept tiny (no dependencies) so that it costs about a millisecond per call.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	real := os.Getenv("JTB_SSH_REAL")
	if real == "" {
		fmt.Fprintln(os.Stderr, "sshwrap: JTB_SSH_REAL is not set")
		os.Exit(255)
	}
	logPath := os.Getenv("JTB_SSH_LOG")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JTB_") {
			env = append(env, kv)
		}
	}
	start := time.Now()
	cmd := exec.Command(real, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env
	// If jt kills the wrapper (a deadline), ssh must not outlive it. A
	// daemonising master is not affected: fork clears this for its child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "sshwrap: %v\n", err)
		os.Exit(255)
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	cmd.Wait()
	end := time.Now()
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if logPath != "" {
		line := fmt.Sprintf("%d %d %d %s\n", start.UnixNano(), end.UnixNano(), code, strings.Join(os.Args[1:], " "))
		if f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			f.WriteString(line) // one write: parallel calls do not interleave
			f.Close()
		}
	}
	os.Exit(code)
}
