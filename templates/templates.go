// Package templates holds jt's remote shell scripts and renders them. Every
// value enters a script through Quote ({{q .X}} in the templates; {{dq .X}}
// in the one command line jt attach gives the login shell), and the scripts
// answer between markers, parsed by ParseReply and checked by the gate
// (Read). Another package's scripts (a batch scheduler's) build on the
// shared ones through Extend.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"text/template"
	"unicode"
)

//go:embed *.sh.tmpl
var files embed.FS

// base is what every remote script builds on: the templates "common"
// (common.sh.tmpl), "env" (env.sh.tmpl), "listen", "listen_login", "serve"
// and "job" (batch.sh.tmpl), "batch_open" (batchopen.sh.tmpl: these for
// batch schedulers' scripts), "idle" (idle.sh.tmpl), "container" and
// "container_wrap" (container.sh.tmpl),
// and the funcs q, dq and idlewatch. Parsed on first use, as every set of
// scripts is: a command that runs no script (jt --help, jt url) pays
// nothing for them.
var base = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{"q": quoteAny, "dq": dquote, "idlewatch": idleWatcher}).ParseFS(files, "common.sh.tmpl", "env.sh.tmpl", "batch.sh.tmpl", "batchopen.sh.tmpl", "idle.sh.tmpl", "container.sh.tmpl"))
})

// scripts are jt's own scripts, named by file: open.sh.tmpl, close.sh.tmpl…
// (common.sh.tmpl and env.sh.tmpl parsed again, the same).
var scripts = &Scripts{sync.OnceValues(func() (*template.Template, error) {
	t, err := base().Clone()
	if err != nil {
		return nil, err
	}
	return t.ParseFS(files, "*.sh.tmpl")
})}

// Scripts is a set of remote scripts built on the shared ones: each may
// use {{template "common" .}}, {{template "env" .}}, q and dq.
type Scripts struct {
	parse func() (*template.Template, error)
}

// Extend makes a set of scripts: the shared ones, and the files of fsys
// that match patterns (a package's own *.sh.tmpl, from its embed.FS), each
// named by its file name. Defining "common" or "env" again is an error.
func Extend(fsys fs.FS, patterns ...string) (*Scripts, error) {
	t, err := extend(fsys, patterns...)
	if err != nil {
		return nil, err
	}
	return &Scripts{func() (*template.Template, error) { return t, nil }}, nil
}

// Lazy is Extend, parsed on the first Render (whose error it then is): for
// a package's embedded scripts, which its tests parse.
func Lazy(fsys fs.FS, patterns ...string) *Scripts {
	return &Scripts{sync.OnceValues(func() (*template.Template, error) { return extend(fsys, patterns...) })}
}

func extend(fsys fs.FS, patterns ...string) (*template.Template, error) {
	b := base()
	t, err := b.Clone()
	if err != nil {
		return nil, err
	}
	if _, err := t.ParseFS(fsys, patterns...); err != nil {
		return nil, err
	}
	for _, bt := range b.Templates() {
		if t.Lookup(bt.Name()).Tree != bt.Tree {
			return nil, fmt.Errorf("the scripts redefine the shared template %q", bt.Name())
		}
	}
	return t, nil
}

// Render executes the script called name (its file name) with data.
func (s *Scripts) Render(name string, data any) (string, error) {
	t, err := s.parse()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Quote makes s one literal word for a POSIX shell: single quotes, with
// each embedded quote closed, escaped and reopened.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func quoteAny(v any) string { return Quote(fmt.Sprint(v)) }

// Open is the input of open.sh: find or start a session's server.
type Open struct {
	Name    string
	Dir     string // remote directory; "" or "~" is the home, "~/x" below it
	Flavour string // "notebook", "server" or "lab" when Command is empty
	Command string // user-given jupyter command (shell words), or ""
	Port    int    // remote TCP port; 0 picks the first free one from 8888
	Mode    string // "tcp" or "socket"
	Timeout int    // seconds to wait for the server
	Mux     string // "auto", "screen", "tmux" or "none"
	Nonce   string // marks a server this open starts (see Close.Nonce)
	Env     Env
	Idle    int // seconds without activity before jt's watcher releases the session; 0: never
}

// Env is a session's environment, set up on the host before Jupyter
// starts, in this order: Setup lines, Modules, Conda, Venv.
type Env struct {
	Setup   []string // shell lines, each run with eval
	Modules []string // module load NAME
	Conda   string   // environment name (or path) for conda, mamba or micromamba
	Venv    string   // Python venv directory; "~/…" is the remote home
	// Container, when its Image is set, is where Jupyter runs; the setup
	// above runs on the host (it may load the runtime: module load apptainer).
	Container Container
}

// Container is an image Jupyter runs in, and how. The runtime's command
// line is built in one place, container.sh.tmpl's "container_wrap".
type Container struct {
	Image   string   // a path on the host ("~/…" is the remote home) or an image name
	Runtime string   // "auto", "apptainer", "singularity", "podman", "docker" or "charliecloud"
	Args    []string // the runtime's own options, one word each, after jt's
	GPU     bool     // the runtime's GPU option: --nv, --device nvidia.com/gpu=all, --gpus all
}

// Summary says in a few words what the environment sets up.
func (e Env) Summary() string {
	var parts []string
	if n := len(e.Setup); n == 1 {
		parts = append(parts, "1 setup line")
	} else if n > 1 {
		parts = append(parts, fmt.Sprintf("%d setup lines", n))
	}
	if len(e.Modules) > 0 {
		parts = append(parts, "modules "+strings.Join(e.Modules, " "))
	}
	if e.Conda != "" {
		parts = append(parts, "conda "+e.Conda)
	}
	if e.Venv != "" {
		parts = append(parts, "venv "+e.Venv)
	}
	if e.Container.Image != "" {
		parts = append(parts, "container "+e.Container.Image)
	}
	return strings.Join(parts, ", ")
}

// KernelWarning is what an open's answer says when the Python of the
// profile's venv or conda env cannot be the session's kernel, with control
// characters made visible; "" when it is, or when there is no such env.
func KernelWarning(b Block) string {
	var out strings.Builder
	for _, r := range b.Values["kernel_warning"] {
		if unicode.IsControl(r) {
			fmt.Fprintf(&out, "\\x%02x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// Doctor is the input of doctor.sh: what jt open would need on the host.
type Doctor struct {
	Name    string // the session name, for the socket path check
	Mux     string // "auto", "screen", "tmux" or "none"
	Flavour string // "notebook", "server" or "lab" when Command is empty
	Command string
	Env     Env
}

// Close is the input of close.sh: stop a server and remove its files.
// With Nonce set it only undoes what the jt open with that nonce started.
type Close struct {
	Name  string
	Nonce string
}

// List is the input of list.sh: every session of the remote user.
type List struct {
	LogLines int
	// Names, if any, are the only sessions answered (checked names: jt
	// ls of recorded sessions, the proof of a warm one).
	Names []string
}

// Logs is the input of logs.sh.
type Logs struct {
	Name   string
	Lines  int
	Follow string // "yes" to follow
}

// Attach is the input of attach.sh.
type Attach struct{ Name string }

var schedulerRE = lazy(`^[a-z][a-z0-9]{0,15}$`)

// AttachJob is the input of attach_job.sh: the console of the job that
// the jt open with Nonce submitted for session Name, under Scheduler.
type AttachJob struct{ Scheduler, Name, Nonce string }

// Notebook is the input of notebook.sh: is Path a file under Dir?
type Notebook struct{ Dir, Path string }

// Ports is the input of ports.sh: what session Name's processes listen on;
// with Scheduler, those of the job the jt open with Nonce submitted (run
// on its node).
type Ports struct{ Name, Scheduler, Nonce string }

// Script is a rendered script and the kind of answer it gives.
type Script struct {
	Text string
	Kind Kind
}

// Render produces the script for one of the inputs above.
func Render(data any) (string, error) {
	var name string
	switch d := data.(type) {
	case Open:
		name = "open.sh.tmpl"
	case Close:
		name = "close.sh.tmpl"
	case List:
		name = "list.sh.tmpl"
		for _, n := range d.Names {
			if checkName(n) != "" {
				return "", fmt.Errorf("session name %q is not one jt records", n)
			}
		}
	case Logs:
		name = "logs.sh.tmpl"
	case Attach:
		name = "attach.sh.tmpl"
	case AttachJob:
		name = "attach_job.sh.tmpl"
		if !schedulerRE.MatchString(d.Scheduler) || !nonceRE.MatchString(d.Nonce) || d.Nonce == "" {
			return "", fmt.Errorf("scheduler %q or nonce %q is not one jt records", d.Scheduler, d.Nonce)
		}
	case Doctor:
		name = "doctor.sh.tmpl"
	case Notebook:
		name = "notebook.sh.tmpl"
	case Ports:
		name = "ports.sh.tmpl"
		if d.Scheduler != "" && (!schedulerRE.MatchString(d.Scheduler) || !nonceRE.MatchString(d.Nonce) || d.Nonce == "") {
			return "", fmt.Errorf("scheduler %q or nonce %q is not one jt records", d.Scheduler, d.Nonce)
		}
	case HostKeys:
		name = "hostkeys.sh.tmpl"
	case Kernel:
		name = "kernel.sh.tmpl"
		if err := d.check(); err != nil {
			return "", err
		}
	case Activity:
		name = "activity.sh.tmpl"
		for _, a := range d.Sessions {
			if _, err := a.Dir(); err != nil {
				return "", err
			}
		}
	default:
		return "", fmt.Errorf("no script for %T", data)
	}
	return scripts.Render(name, data)
}
