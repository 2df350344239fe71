package session

import (
	"os"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// OpenRequest is what jt open asks for.
type OpenRequest struct {
	Host      string
	Name      string
	Dir       string
	Flavour   string // "notebook", "server" or "lab"
	Command   string // --cmd, overrides Flavour
	Port      int    // remote; 0 = first free from 8888
	LocalPort int    // 0 = the remote port if free, else the next free one
	Timeout   time.Duration
	Console   string        // "auto", "screen", "tmux" or "none"
	TCP       bool          // listen on a TCP port instead of a private unix socket
	Env       templates.Env // set up on the host before Jupyter starts
	Batch     BatchOptions  // Jupyter as a batch job on a compute node
	// Idle: jt's watcher releases kernels idle this long and then the
	// server, once nothing uses it for as long (0: never).
	Idle time.Duration `json:",omitempty"`
	// Warn: when a keeper warns before a batch job's end ("15m,2m",
	// validate.WarnPoints).
	Warn     string `json:",omitempty"`
	Notebook string // a file under the server's directory to open
}

// BatchOptions are the settings of a batch session.
type BatchOptions struct {
	Scheduler  string   // "" for a plain session; else a registered scheduler.Scheduler
	Args       []string // the submit command's options, one word each
	KeepQueued bool     // an interrupt while queued leaves the job in the queue
	// Private demands a server only the user can reach: a unix socket on
	// the node, reached by ssh to it; no fallback to TCP + token.
	Private bool
}

// Opened is an open session.
type Opened struct {
	Session state.Session
	Status  string // "started", "running" (reattached) or "warm" (no ssh needed)
	// Fallback says why the server listens on TCP though a private unix
	// socket was asked for; empty when nothing fell back.
	Fallback string
	// Page is the notebook's page under the server's base URL; empty for
	// the tree.
	Page string
}

// Validate checks every value of r, before anything runs.
func (r OpenRequest) Validate() error {
	if err := validHost(r.Host); err != nil {
		return err
	}
	if err := validName(r.Name); err != nil {
		return err
	}
	if err := validate.RemotePath(r.Dir); err == validate.ErrTildeUser {
		return validate.Usagef("--dir %s: %v", visible.Quote(r.Dir), err)
	} else if err != nil {
		return validate.Usagef("--dir %v", err)
	}
	if err := validate.OneLine(r.Command); err != nil {
		return validate.Usagef("--cmd %v", err)
	}
	if err := validPort("port", r.Port, false); err != nil {
		return err
	}
	if err := validPort("local-port", r.LocalPort, true); err != nil {
		return err
	}
	if validate.OneOf(r.Console, validate.Consoles) != nil {
		return validate.Usagef("--console %s is not known: use auto, screen, tmux or none", visible.Quote(r.Console))
	}
	if err := validContainer(r.Env.Container); err != nil {
		return err
	}
	if err := checkNotebook(r.Notebook); err != nil {
		return err
	}
	if r.Timeout <= 0 {
		return validate.Usagef("--timeout must be positive, like 60s or 2m")
	}
	if r.Idle != 0 && (r.Idle < 10*time.Second || r.Idle > 30*24*time.Hour) {
		return validate.Usagef("--idle %v is out of range: use 10s to 720h, or 0 for never", r.Idle)
	}
	if _, err := validate.WarnPoints(r.Warn); err != nil {
		return validate.Usagef("--warn %v", err)
	}
	if r.Batch.Scheduler != "" {
		s, err := scheduler.Named(r.Batch.Scheduler)
		if err != nil {
			return &validate.UsageError{Msg: err.Error()}
		}
		if r.Console == "tmux" {
			return validate.Usagef("--console tmux: a batch job keeps Jupyter in screen on the node (or in no console): use --console auto, screen or none")
		}
		return s.CheckArgs(r.Batch.Args)
	}
	return nil
}

func validName(name string) error {
	if err := validate.Name(name); err != nil {
		return &validate.UsageError{Msg: err.Error()}
	}
	return nil
}

func validHost(host string) error {
	if err := validate.Host(host); err != nil {
		return &validate.UsageError{Msg: err.Error()}
	}
	return nil
}

// validPort checks a port flag; 0 means "choose for me".
func validPort(flag string, port int, local bool) error {
	if err := validate.Port(port); err != nil {
		return validate.Usagef("--%s %v", flag, err)
	}
	if local && port > 0 && port < 1024 && os.Geteuid() != 0 {
		return validate.Usagef("--%s %d needs root: use a port from 1024 up", flag, port)
	}
	return nil
}

// CheckHost and CheckName are the checks of a command's HOST and --name,
// as usage errors.
func CheckHost(host string) error { return validHost(host) }
func CheckName(name string) error { return validName(name) }

// validContainer checks --container, --container-runtime and
// --container-args (their profile keys too) together.
func validContainer(c templates.Container) error {
	if c.Runtime != "" && validate.OneOf(c.Runtime, validate.ContainerRuntimes) != nil {
		return validate.Usagef("--container-runtime %v", validate.OneOf(c.Runtime, validate.ContainerRuntimes))
	}
	if err := validate.ContainerImage(c.Image, c.Runtime); err != nil {
		return validate.Usagef("--container %v", err)
	}
	if err := validate.ContainerArgs("--container-args", c.Args); err != nil {
		return &validate.UsageError{Msg: err.Error()}
	}
	if c.Image == "" && (len(c.Args) > 0 || c.GPU) {
		return validate.Usagef("--container-args and --container-gpu need an image: give it with --container IMAGE")
	}
	if c.GPU && c.Runtime == "charliecloud" {
		return validate.Usagef("--container-gpu: charliecloud has no GPU option (ch-fromhost --nvidia puts the host's GPU libraries into the image)")
	}
	return nil
}
