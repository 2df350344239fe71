// Command jt opens Jupyter on machines you reach over SSH, in one command.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jt-sh/jt/commands"
	"github.com/jt-sh/jt/sshexec"
)

// Set at build time: -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	os.Exit(run(os.Args, os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	app := commands.NewApp(version, commit)
	err := app.Run(commands.ReorderArgs(app, args))
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "jt: error: %s\n", strings.TrimSpace(err.Error()))
	hint, detail := commands.Explain(err)
	for _, line := range detail {
		fmt.Fprintf(stderr, "jt:   | %s\n", line)
	}
	if hint != "" {
		fmt.Fprintf(stderr, "jt: hint: %s\n", hint)
	}
	return exitCode(err)
}

// exitCode is the one place errors become exit statuses: 2 for usage, 255
// when ssh itself failed, 1 for everything else.
func exitCode(err error) int {
	var usage *commands.UsageError
	if errors.As(err, &usage) {
		return 2
	}
	var ssh *sshexec.Error
	if errors.As(err, &ssh) && ssh.SSHFailed() {
		return 255
	}
	return 1
}
