// Package commands is jt's command line: one file per command, each turning
// flags into an options struct and running it against Deps. It is the only
// package that knows urfave/cli; it never spells an ssh argv itself.
package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/mitchellh/go-homedir"
	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
)

// Deps is everything a command touches outside its own logic.
type Deps struct {
	SSH    *sshexec.Client
	Store  state.Store
	Stdout io.Writer
	Stderr io.Writer
	// Progress is set when stderr is a terminal: jt then says what it waits for.
	Progress bool
	// LocalDir is jt's private local directory (locks, browser redirect files).
	LocalDir string
	// Browser opens a URL file; nil means never.
	Browser func(path string) error
	Now     func() time.Time
}

func (d *Deps) progress(format string, a ...any) {
	if d.Progress {
		fmt.Fprintf(d.Stderr, "jt: "+format+"\n", a...)
	}
}

func (d *Deps) warn(format string, a ...any) {
	fmt.Fprintf(d.Stderr, "jt: "+format+"\n", a...)
}

// StateDir is where jt keeps its state file: $XDG_STATE_HOME/jt, or
// ~/.local/state/jt (%LocalAppData%\jt on Windows).
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "jt"), nil
	}
	if runtime.GOOS == "windows" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "jt"), nil
	}
	home, err := homedir.Dir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "jt"), nil
}

// newDeps builds the real dependencies from the environment and global flags.
func newDeps(c *cli.Context) (*Deps, error) {
	stateDir, err := StateDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", stateDir, err)
	}
	controlDir, err := sshexec.ControlDir(sshexec.DefaultControlDirs(stateDir))
	if err != nil {
		return nil, err
	}
	if err := sshexec.SecureDir(controlDir); err != nil {
		return nil, err
	}
	sshPath, err := sshexec.LookPath()
	if err != nil {
		return nil, hinted(fmt.Errorf("no ssh client found: %w", err), "install OpenSSH (Debian: apt install openssh-client), or point JT_SSH at it")
	}
	cfg := c.String("ssh-config")
	if cfg != "" {
		if cfg, err = homedir.Expand(cfg); err != nil {
			return nil, err
		}
		if _, err := os.Stat(cfg); err != nil {
			return nil, usageErrorf("ssh config %s: %v", cfg, err)
		}
	}
	d := &Deps{
		SSH: &sshexec.Client{
			Runner:     &sshexec.ExecRunner{Path: sshPath, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr},
			ConfigFile: cfg,
			ControlDir: controlDir,
		},
		Store:    state.Store{Path: filepath.Join(stateDir, "state.toml")},
		Stdout:   c.App.Writer,
		Stderr:   c.App.ErrWriter,
		Progress: isTerminal(os.Stderr),
		LocalDir: controlDir,
		Browser:  openBrowser,
		Now:      time.Now,
	}
	return d, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// action adapts a command body to urfave/cli with real Deps.
func action(run func(ctx context.Context, c *cli.Context, d *Deps) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		d, err := newDeps(c)
		if err != nil {
			return err
		}
		return run(c.Context, c, d)
	}
}

// NewApp builds jt's command line.
func NewApp(version, commit string) *cli.App {
	app := &cli.App{
		Name:                 "jt",
		Usage:                "Jupyter on machines you reach over SSH, in one command",
		UsageText:            "jt [global options] command [options] [arguments...]",
		Version:              version + " (commit " + commit + ")",
		EnableBashCompletion: true,
		Suggest:              true,
		HideHelpCommand:      false,
		Description: `jt starts a Jupyter server on a remote host inside a detached screen session,
forwards it over your own OpenSSH (one ControlMaster per host, so you log in
once), and opens it in your local browser. The server survives disconnects;
running jt open again reattaches.

Examples:
   jt open gpu1                     open a notebook on gpu1 (an alias from ~/.ssh/config)
   jt open --lab --dir ~/proj gpu1  JupyterLab in ~/proj
   jt ls                            every session, checked live
   jt close --kill gpu1             stop the server and disconnect`,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "ssh-config",
				Usage:   "ssh client config `FILE` passed to ssh as -F (default: ssh's own ~/.ssh/config)",
				EnvVars: []string{"JT_SSH_CONFIG"},
			},
		},
		Commands: []*cli.Command{
			openCommand(),
			lsCommand(),
			closeCommand(),
			urlCommand(),
			logsCommand(),
			attachCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageErrorf("%v", err)
		},
		CommandNotFound: func(c *cli.Context, name string) {
			// Reported by Run through the returned error below.
		},
	}
	return app
}
