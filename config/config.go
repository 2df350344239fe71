// Package config reads jt's own configuration file: a [defaults] table and
// [hosts.NAME] profiles. Parsing is strict: an unknown key, a value of the
// wrong type or a TOML syntax error is an error naming the file, the line
// and the key, so that a typo never silently changes what jt does. jt never
// writes this file, except Init, which creates a commented example.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/mitchellh/go-homedir"
)

// Kind is the TOML type a key takes.
type Kind int

// The kinds of values a key can have.
const (
	String   Kind = iota
	Int           // an integer
	Bool          // true or false
	Duration      // a string such as "90s" or "2m"
	Strings       // an array of strings
)

func (k Kind) String() string {
	switch k {
	case Int:
		return "an integer"
	case Bool:
		return "true or false"
	case Duration:
		return `a duration string such as "90s" or "2m"`
	case Strings:
		return "an array of strings"
	}
	return "a string"
}

// Key describes one setting of a profile.
type Key struct {
	Name        string
	Kind        Kind
	ProfileOnly bool // not allowed in [defaults]
	Help        string
}

// Keys are the settings a profile (or [defaults]) may have, in the order
// jt config show prints them.
var Keys = []Key{
	{Name: "host", Kind: String, ProfileOnly: true, Help: "ssh destination: an alias from ~/.ssh/config or user@host (default: the profile's name)"},
	{Name: "ssh_options", Kind: Strings, ProfileOnly: true, Help: `extra ssh options, each "Key=Value" (passed as -o)`},
	{Name: "jump", Kind: String, ProfileOnly: true, Help: "jump host(s) for ssh -o ProxyJump, comma-separated"},
	{Name: "dir", Kind: String, Help: "remote working directory (~/… is the remote home)"},
	{Name: "port", Kind: Int, Help: "remote TCP port (implies tcp); 0 = a private unix socket"},
	{Name: "local_port", Kind: Int, Help: "local port of the tunnel; 0 = choose"},
	{Name: "flavour", Kind: String, Help: "notebook, lab or server"},
	{Name: "cmd", Kind: String, Help: "jupyter command to run instead of the flavour's"},
	{Name: "name", Kind: String, Help: "session name"},
	{Name: "console", Kind: String, Help: "what keeps the server and its console alive (jt attach): auto, screen, tmux or none"},
	{Name: "tcp", Kind: Bool, Help: "listen on TCP 127.0.0.1 instead of a unix socket"},
	{Name: "timeout", Kind: Duration, Help: "how long to wait for Jupyter to start"},
	{Name: "idle", Kind: Duration, Help: `jt releases kernels, then the server (a batch job ends), after this long without activity ("0s": never)`},
	{Name: "warn", Kind: String, Help: `jt open --keep warns this long before a batch job's end ("15m,2m"; "none")`},
	{Name: "conda", Kind: String, Help: "conda/mamba/micromamba environment to activate"},
	{Name: "venv", Kind: String, Help: "Python virtual environment directory to activate"},
	{Name: "modules", Kind: Strings, Help: "environment modules to load (module load …)"},
	{Name: "setup", Kind: Strings, Help: "shell lines run before Jupyter starts, in order"},
	{Name: "container", Kind: String, Help: "run Jupyter in this image: a path on the host (a .sif file, a directory image) or an image name the host has"},
	{Name: "container_runtime", Kind: String, Help: "auto, apptainer, singularity, podman, charliecloud or docker"},
	{Name: "container_args", Kind: Strings, Help: `the container runtime's own options, one word each (like "--bind=/data")`},
	{Name: "container_gpu", Kind: Bool, Help: "pass the runtime's GPU option (--nv; --device nvidia.com/gpu=all; --gpus all)"},
	{Name: "scheduler", Kind: String, Help: `the host is a login node of this batch scheduler ("slurm"): run Jupyter as a job on a compute node; "none" for the host itself`},
	{Name: "scheduler_args", Kind: Strings, Help: `the scheduler's submit options, one word each (like "--partition=gpu", "--time=2:00:00")`},
	{Name: "slurm", Kind: Bool, Help: `slurm = true is scheduler = "slurm"`},
	{Name: "slurm_args", Kind: Strings, Help: `sbatch options, one word each: scheduler_args for scheduler = "slurm"`},
	{Name: "gpus", Kind: String, Help: `with a scheduler: GPUs to ask for, "N" or "N:TYPE"`},
	{Name: "cpus", Kind: Int, Help: "with a scheduler: CPUs to ask for"},
	{Name: "mem", Kind: String, Help: `with a scheduler: memory to ask for ("4G")`},
	{Name: "time", Kind: Duration, Help: `with a scheduler: the job's time limit ("4h")`},
	{Name: "queue", Kind: String, Help: "with a scheduler: the partition, queue or accounting group"},
	{Name: "parallel_env", Kind: String, Help: `Grid Engine: the parallel environment whose slots cpus asks for ("smp")`},
	{Name: "private", Kind: Bool, Help: "with a scheduler: only a server on a unix socket on the node, reached by ssh to it; never fall back to TCP + token"},
}

// Renamed are keys' old names: still read, with a notice.
var Renamed = map[string]string{"mux": "console"}

// KeyNamed returns the key called name.
func KeyNamed(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Value is one setting as written in the file.
type Value struct {
	V    any // string, int, bool, time.Duration or []string, as Key.Kind says
	Line int // where it was set; 0 when unknown
}

// Table is [defaults] or one [hosts.NAME].
type Table map[string]Value

// File is the parsed configuration.
type File struct {
	Path     string
	Exists   bool
	Defaults Table
	Profiles map[string]Table
	Names    []string // profile names, sorted
	// Notices are lines to show: keys written under an old name.
	Notices []string
}

// Profile returns the profile called name.
func (f *File) Profile(name string) (Table, bool) {
	if f == nil {
		return nil, false
	}
	t, ok := f.Profiles[name]
	return t, ok
}

// Error is a mistake in the file: where, and what.
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	where := Display(e.Path)
	if e.Line > 0 {
		where += fmt.Sprintf(":%d", e.Line)
	}
	return where + ": " + e.Msg
}

// Path is where jt looks for its configuration: $XDG_CONFIG_HOME/jt, else
// ~/.config/jt (on Windows the user's config directory).
func Path() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "jt", "config.toml"), nil
	}
	if runtime.GOOS == "windows" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "jt", "config.toml"), nil
	}
	home, err := homedir.Dir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w", err)
	}
	return filepath.Join(home, ".config", "jt", "config.toml"), nil
}

// Display shortens a path in the home directory to ~/….
func Display(path string) string {
	home, err := homedir.Dir()
	if err != nil || home == "" || home == "/" {
		return path
	}
	if rel, ok := strings.CutPrefix(path, home+string(filepath.Separator)); ok {
		return "~/" + filepath.ToSlash(rel)
	}
	return path
}

// Load reads the file at path. A missing file is an empty configuration.
func Load(path string) (*File, error) {
	f := &File{Path: path, Defaults: Table{}, Profiles: map[string]Table{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Display(path), err)
	}
	f.Exists = true
	if err := parse(f, string(data)); err != nil {
		return nil, err
	}
	return f, nil
}

// Parse reads configuration text; path is only used in messages.
func Parse(path, text string) (*File, error) {
	f := &File{Path: path, Exists: true, Defaults: Table{}, Profiles: map[string]Table{}}
	if err := parse(f, text); err != nil {
		return nil, err
	}
	return f, nil
}
