// Package commands is jt's command line: one file per command, each of one
// shape: flags → a request → one call into the engine (package session) →
// what the user sees. It is the only package that knows urfave/cli; it
// never spells an ssh argv, reads a remote reply or takes a lock.
package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/mitchellh/go-homedir"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/desktop"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// Deps is what a command works with: the engine, where output goes, the
// browser and jt's config file.
type Deps struct {
	Engine *session.Engine
	Stdout io.Writer
	Stderr io.Writer
	// LocalDir is jt's private local directory (browser redirect files).
	LocalDir string
	// Browser opens a URL file; nil means never.
	Browser func(path string) error
	// Config is jt's config file (profiles and defaults); never nil.
	Config *config.File
}

func (d *Deps) warn(format string, a ...any) {
	fmt.Fprintf(d.Stderr, "jt: "+format+"\n", a...)
}

// reporter shows the engine's progress on a terminal, and its notices
// always, on stderr.
type reporter struct {
	w        io.Writer
	terminal bool
}

func (r reporter) Progress(msg string) {
	if r.terminal {
		fmt.Fprintln(r.w, "jt: "+msg)
	}
}

func (r reporter) Notice(msg string) { fmt.Fprintln(r.w, "jt: "+msg) }
func (r reporter) SSH(text string)   { fmt.Fprintln(r.w, text) }

// StateDir is where jt keeps its state file: $XDG_STATE_HOME/jt, else
// ~/.local/state/jt (macOS too: its ~/Library paths hold spaces and are
// long), and %AppData%\jt on Windows.
func StateDir() (string, error) {
	return stateDirFor(runtime.GOOS, os.Getenv, homedir.Dir, os.UserConfigDir)
}

func stateDirFor(goos string, getenv func(string) string, home, appData func() (string, error)) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "jt"), nil
	}
	if goos == "windows" {
		d, err := appData()
		if err != nil {
			return "", fmt.Errorf("find %%AppData%%: %w", err)
		}
		return filepath.Join(d, "jt"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return filepath.Join(h, ".local", "state", "jt"), nil
}

// newDeps builds the real dependencies from the environment and global flags.
func newDeps(c *cli.Context) (*Deps, error) {
	// A mistake in jt's config stops every command before anything runs.
	conf, err := loadConfig(c.App.ErrWriter)
	if err != nil {
		return nil, err
	}
	flagNotices(c)
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
	if err := sshexec.CheckControlDir(controlDir); err != nil {
		return nil, err
	}
	runner, err := sshexec.UserRunner()
	if err != nil {
		// Reported when ssh is needed, so that usage errors come first.
		runner = failingRunner{session.Hinted(fmt.Errorf("no ssh client found: %w", err), "install OpenSSH (Debian: apt install openssh-client; macOS and Windows ship it), or point JT_SSH at it")}
	}
	cfg := c.String("ssh-config")
	if cfg != "" {
		if cfg, err = homedir.Expand(cfg); err != nil {
			return nil, err
		}
		if _, err := os.Stat(cfg); err != nil {
			return nil, validate.Usagef("ssh config %s: %v", cfg, err)
		}
	}
	client := &sshexec.Client{
		Runner:     runner,
		ConfigFile: cfg,
		ControlDir: controlDir,
		// A script's first line comes at once; silence this long means
		// the link behind the master is dead.
		AnswerWithin: 15 * time.Second,
		Routes:       routes(conf),
		// Windows' OpenSSH has no ControlMaster.
		NoMux: c.Bool("no-master") || c.Bool("no-mux") || runtime.GOOS == "windows",
	}
	firstPort, err := firstLocalPort()
	if err != nil {
		return nil, err
	}
	d := &Deps{
		Engine: &session.Engine{
			SSH: client,
			Store: state.Store{
				Path: filepath.Join(stateDir, "state.toml"),
				Warn: func(msg string) { fmt.Fprintln(c.App.ErrWriter, "jt: warning: "+msg) },
			},
			Report:    reporter{w: c.App.ErrWriter, terminal: isTerminal(os.Stderr)},
			LocalDir:  controlDir,
			Now:       time.Now,
			FirstPort: firstPort,
		},
		Stdout:   c.App.Writer,
		Stderr:   c.App.ErrWriter,
		LocalDir: controlDir,
		Browser:  desktop.OpenBrowser,
		Config:   conf,
	}
	return d, nil
}

// renamedFlags are flags' old names, still read with a notice.
var renamedFlags = map[string]string{
	"no-mux": "--no-mux (JT_NO_MUX) is now called --no-master (JT_NO_MASTER)",
	"mux":    "--mux is now called --console (what keeps the server and its console: screen, tmux or none)",
}

// flagNotices says which flags the user gave under an old name.
func flagNotices(c *cli.Context) {
	for old, notice := range renamedFlags {
		if c.IsSet(old) {
			fmt.Fprintf(c.App.ErrWriter, "jt: %s; the old name still works\n", notice)
		}
	}
}

type failingRunner struct{ err error }

func (r failingRunner) Run(context.Context, sshexec.Cmd) (sshexec.Result, error) {
	return sshexec.Result{}, r.err
}

// isTerminal reports whether f is a terminal (/dev/null, a character
// device too, is not).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

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
			&cli.BoolFlag{
				Name:    "no-master",
				Usage:   "do not use an ssh ControlMaster: each step logs in by itself, each tunnel is an ssh of its own (the default on Windows)",
				EnvVars: []string{"JT_NO_MASTER"},
			},
			&cli.BoolFlag{Name: "no-mux", Hidden: true, Usage: "the old name of --no-master", EnvVars: []string{"JT_NO_MUX"}},
		},
		Commands: []*cli.Command{
			openCommand(),
			lsCommand(),
			closeCommand(),
			urlCommand(),
			forwardCommand(),
			execCommand(),
			envCommand(),
			logsCommand(),
			attachCommand(),
			hostsCommand(),
			configCommand(),
			doctorCommand(),
			completionCommand(),
			keeperCommand(),
			aliasCommand(),
			kernelCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return unknownCommand(c.App.Commands, c.Args().First())
		},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onUsageError
		// Otherwise a host named "h" or "help" would show help.
		cmd.HideHelpCommand = true
	}
	return app
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	msg := err.Error()
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		return &validate.UsageError{Msg: msg + " (see jt " + c.Command.Name + " --help)"}
	}
	return &validate.UsageError{Msg: msg + " (see jt --help)"}
}

// unknownCommand reports a mistyped command with the nearest real one.
func unknownCommand(cmds []*cli.Command, name string) error {
	best, bestDist := "", 3
	for _, c := range cmds {
		for _, n := range c.Names() {
			if d := validate.EditDistance(name, n); d < bestDist {
				best, bestDist = c.Name, d
			}
		}
	}
	msg := fmt.Sprintf("%s is not a jt command", visible.Quote(name))
	if best != "" {
		return &validate.UsageError{Msg: msg + "; did you mean " + best + "? (see jt --help)"}
	}
	return &validate.UsageError{Msg: msg + " (see jt --help)"}
}

// firstLocalPort is JT_FIRST_LOCAL_PORT: where jt starts looking for a
// free local port for a new tunnel (0, unset: 8888).
func firstLocalPort() (int, error) {
	v := os.Getenv("JT_FIRST_LOCAL_PORT")
	if v == "" {
		return 0, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1024 || p > 65535 {
		return 0, validate.Usagef("JT_FIRST_LOCAL_PORT=%q: want a port from 1024 to 65535", v)
	}
	return p, nil
}
