// Command jt opens Jupyter on machines you reach over SSH, in one command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jt-sh/jt/commands"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/validate"
)

func main() {
	os.Exit(run(os.Args, os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	ctx, stop := interrupts(stderr)
	defer stop()
	app := commands.NewApp(buildVersion())
	err := app.RunContext(ctx, commands.ReorderArgs(app, args))
	if err == nil {
		return 0
	}
	var status *session.ExitStatus
	if errors.As(err, &status) {
		return status.Code // jt exec: the command's own status, said by it
	}
	if ctx.Err() != nil || sshexec.Interrupted(err) {
		fmt.Fprintln(stderr, "jt: interrupted")
		return 130
	}
	fmt.Fprintf(stderr, "jt: error: %s\n", strings.TrimSpace(err.Error()))
	hint, detail := session.Explain(err)
	for _, line := range detail {
		fmt.Fprintf(stderr, "jt:   | %s\n", line)
	}
	if hint != "" {
		fmt.Fprintf(stderr, "jt: hint: %s\n", hint)
	}
	return exitCode(err)
}

// interrupts cancels the context on the first Ctrl-C or SIGTERM, so the
// command can undo what it started; a second one exits at once (130), and
// the next jt cleans up after it.
func interrupts(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-ch; !ok {
			return
		}
		cancel()
		fmt.Fprintln(stderr, "jt: stopping; press Ctrl-C again to quit at once")
		if _, ok := <-ch; ok {
			sshexec.EndCommands()
			os.Exit(130)
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(ch)
		cancel()
	}
}

// exitCode is the one place errors become exit statuses: 2 for usage, 255
// when ssh itself failed, 1 for everything else.
func exitCode(err error) int {
	var usage *validate.UsageError
	if errors.As(err, &usage) {
		return 2
	}
	var ssh *sshexec.Error
	if errors.As(err, &ssh) && ssh.SSHFailed() {
		return 255
	}
	return 1
}
