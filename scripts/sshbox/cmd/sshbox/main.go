//go:build linux

// Command sshbox starts and stops a throwaway sshd on 127.0.0.1 that
// outlives the command, so that a shell script (scripts/sandbox) can let
// someone try jt with no remote machine:
//
//	cfg=$(go run ./scripts/sshbox/cmd/sshbox start --dir /tmp/jtsb --alias sandbox)
//	ssh -F "$cfg" sandbox hostname
//	go run ./scripts/sshbox/cmd/sshbox stop --dir /tmp/jtsb
//
// As root each alias logs in as a dedicated unix user (created if
// missing, its home reset); otherwise every alias logs in as the current
// user. See package sshbox.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jt-sh/jt/scripts/sshbox"
)

const usage = `usage:
  sshbox start --dir DIR [--alias NAME[=USER]]... [--shell PATH]
      start a daemonized sshd; print the path of its ssh client config
      (use with ssh -F). Default alias: sandbox. As root, USER defaults to
      jtsandbox and is created if missing; its processes are killed and
      its home reset. Not as root, every alias logs in as you.
  sshbox stop --dir DIR
      stop the sshd started in DIR (and, as root, the users' processes)
  sshbox status --dir DIR
      print "running PORT CONFIG" and exit 0, or "stopped" and exit 1
`

// aliasFlags collects repeated --alias values.
type aliasFlags []string

func (a *aliasFlags) String() string     { return strings.Join(*a, ",") }
func (a *aliasFlags) Set(v string) error { *a = append(*a, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("sshbox "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	dir := fs.String("dir", "", "directory for keys, configs and logs (keep it short)")
	var aliases aliasFlags
	shell := "/bin/bash"
	if args[0] == "start" {
		fs.Var(&aliases, "alias", "ssh Host alias, optionally =USER (repeatable)")
		fs.StringVar(&shell, "shell", shell, "login shell of the created users")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}

	switch args[0] {
	case "start":
		opts, err := startOptions(*dir, aliases, shell)
		if err != nil {
			fmt.Fprintf(stderr, "sshbox: %v\n", err)
			return 2
		}
		b, err := sshbox.Start(opts)
		if err != nil {
			fmt.Fprintf(stderr, "sshbox: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, b.ConfigPath)
		return 0
	case "stop":
		b, err := sshbox.Open(*dir)
		if err != nil {
			fmt.Fprintf(stderr, "sshbox: %v\n", err)
			return 1
		}
		if err := b.Stop(); err != nil {
			fmt.Fprintf(stderr, "sshbox: %v\n", err)
			return 1
		}
		return 0
	case "status":
		b, err := sshbox.Open(*dir)
		if err != nil || !b.Running() {
			fmt.Fprintln(stdout, "stopped")
			return 1
		}
		fmt.Fprintf(stdout, "running %d %s\n", b.Port, b.ConfigPath)
		return 0
	default:
		fs.Usage()
		return 2
	}
}

// startOptions turns the command line into sshbox.Options. In root mode
// every distinct USER becomes a box user with the given shell.
func startOptions(dir string, aliases []string, shell string) (sshbox.Options, error) {
	if len(aliases) == 0 {
		aliases = []string{"sandbox"}
	}
	opts := sshbox.Options{Dir: dir, Aliases: map[string]string{}}
	seen := map[string]bool{}
	for _, a := range aliases {
		name, user, ok := strings.Cut(a, "=")
		if !ok {
			user = "jtsandbox"
		}
		if name == "" || user == "" {
			return opts, fmt.Errorf("bad --alias %q: want NAME or NAME=USER", a)
		}
		if _, dup := opts.Aliases[name]; dup {
			return opts, fmt.Errorf("alias %q given twice", name)
		}
		opts.Aliases[name] = user
		if !seen[user] {
			seen[user] = true
			opts.Users = append(opts.Users, sshbox.User{Name: user, Shell: shell})
		}
	}
	return opts, nil
}
