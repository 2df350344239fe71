package commands

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
)

// loadConfig reads jt's config file. A mistake in it is a usage error
// (exit 2): nothing runs until it is fixed.
// Keys written under an old name are read, and said so on w.
func loadConfig(w io.Writer) (*config.File, error) {
	path, err := config.Path()
	if err != nil {
		return nil, err
	}
	f, err := config.Load(path)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, &validate.UsageError{Msg: err.Error()}
		}
		return nil, err
	}
	for _, n := range f.Notices {
		fmt.Fprintln(w, "jt: "+n)
	}
	return f, nil
}

// routes are the ssh destinations and options of the profiles. Every
// command resolves a name through them (sshexec.Client.Routes), so a
// session recorded under a profile's name is always reached the same way.
func routes(cfg *config.File) map[string]sshexec.Route {
	r := map[string]sshexec.Route{}
	if cfg == nil {
		return r
	}
	for _, name := range cfg.Names {
		p := cfg.Profiles[name]
		route := sshexec.Route{Dest: name}
		if v, ok := p["host"]; ok {
			route.Dest = v.V.(string)
		}
		if v, ok := p["jump"]; ok {
			route.Options = append(route.Options, "ProxyJump="+v.V.(string))
		}
		if v, ok := p["ssh_options"]; ok {
			route.Options = append(route.Options, v.V.([]string)...)
		}
		r[name] = route
	}
	return r
}

// Where a setting came from, in order of precedence.
const (
	fromFlag     = "flag"
	fromProfile  = "profile"
	fromDefaults = "defaults"
	fromBuiltin  = "built-in"
)

// setting is one effective setting of jt open and where it came from.
type setting struct {
	Key    string
	Value  any
	Source string
	Line   int // in the config file, for profile and defaults
}

// builtin are jt's own values for every key of a profile.
func builtin(host string) map[string]any {
	return map[string]any{
		"host": host, "ssh_options": []string(nil), "jump": "", "dir": "", "port": 0, "local_port": 0,
		"flavour": "notebook", "cmd": "", "name": "default", "console": "auto", "tcp": false,
		"timeout": 60 * time.Second, "conda": "", "venv": "", "modules": []string(nil), "setup": []string(nil),
		"scheduler": "", "scheduler_args": []string(nil), "slurm": false, "slurm_args": []string(nil),
		"idle": time.Duration(0), "warn": "15m,2m",
		"private":   false,
		"container": "", "container_runtime": "auto", "container_args": []string(nil), "container_gpu": false,
	}
}

// flagKeys maps the flags of jt open to the keys they override.
var flagKeys = map[string]string{
	"dir": "dir", "port": "port", "local-port": "local_port", "cmd": "cmd",
	"name": "name", "console": "console", "mux": "console", "tcp": "tcp", "timeout": "timeout",
	"idle": "idle", "warn": "warn",
	"container": "container", "container-runtime": "container_runtime", "container-gpu": "container_gpu",
}

// settingFlags are jt open's flags that a profile can also set; jt doctor
// and jt config show take them too, to check or show what open would do.
func settingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "default", Usage: "session `NAME`; one server per name and host"},
		&cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Usage: "remote working `DIR` (~/… is the remote home)", DefaultText: "the remote home"},
		&cli.BoolFlag{Name: "lab", Usage: "run JupyterLab (jupyter lab)"},
		&cli.BoolFlag{Name: "server", Usage: "run a bare Jupyter Server (jupyter server)"},
		&cli.StringFlag{Name: "cmd", Usage: "run this jupyter `COMMAND` instead (e.g. 'jupyter notebook --NotebookApp.x=y'); jt adds its own flags"},
		&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Usage: "listen on TCP `PORT` on the host (implies --tcp)", DefaultText: "a private unix socket; with --tcp the first free port from 8888"},
		&cli.IntFlag{Name: "local-port", Aliases: []string{"L"}, Usage: "local `PORT`", DefaultText: "the remote port, or 8888, if free, else the next free one"},
		&cli.BoolFlag{Name: "tcp", Usage: "listen on 127.0.0.1:PORT on the host instead of a private unix socket (implied by --port)"},
		&cli.StringFlag{Name: "console", Value: "auto", Usage: "what keeps the server and its console alive (`KIND`; jt attach opens it): auto (screen if the host has it, else tmux, else none), screen, tmux or none"},
		&cli.StringFlag{Name: "mux", Hidden: true, Usage: "the old name of --console"},
		&cli.DurationFlag{Name: "timeout", Value: 60 * time.Second, Usage: "how long to wait for Jupyter to start (`DURATION`)"},
		&cli.DurationFlag{Name: "idle", Usage: "jt's watcher on the host releases kernels idle this long, then the server, and a batch job ends (`DURATION`)", DefaultText: "never"},
		&cli.StringFlag{Name: "container", Usage: "run Jupyter in `IMAGE` on the host: a path there (a .sif file, a directory image) or an image name it has (never pulled)"},
		&cli.StringFlag{Name: "container-runtime", Value: "auto", Usage: "the container `RUNTIME`: auto (the first of apptainer, singularity, podman, charliecloud, docker the host has), or one of them"},
		&cli.StringFlag{Name: "container-args", Usage: "the runtime's own `OPTIONS` as shell words, e.g. '--bind /data'"},
		&cli.BoolFlag{Name: "container-gpu", Usage: "pass the runtime's GPU option (apptainer --nv, podman --device nvidia.com/gpu=all, docker --gpus all)"},
		&cli.StringFlag{Name: "warn", Value: "15m,2m", Usage: "with --keep: say so (and notify the desktop) this long before a batch job's end (`POINTS`, like 15m,2m; none)"},
	}
}

// resolveSettings applies, for host, the flags the user set, then the
// profile host (if it is one), then [defaults], then jt's built-in values.
func resolveSettings(c *cli.Context, cfg *config.File, host string) ([]setting, error) {
	if c.Bool("lab") && c.Bool("server") {
		return nil, usageErrorf("--lab and --server exclude each other")
	}
	if c.IsSet("mux") && c.IsSet("console") {
		return nil, usageErrorf("--mux is the old name of --console: give one of them")
	}
	if cfg == nil {
		cfg = &config.File{}
	}
	profile, _ := cfg.Profile(host)
	def := builtin(host)
	var out []setting
	for _, k := range config.Keys {
		s := setting{Key: k.Name, Value: def[k.Name], Source: fromBuiltin}
		if v, ok := cfg.Defaults[k.Name]; ok {
			s = setting{Key: k.Name, Value: v.V, Source: fromDefaults, Line: v.Line}
		}
		if v, ok := profile[k.Name]; ok {
			s = setting{Key: k.Name, Value: v.V, Source: fromProfile, Line: v.Line}
		}
		for flag, key := range flagKeys {
			if key == k.Name && c.IsSet(flag) {
				s = setting{Key: k.Name, Value: c.Value(flag), Source: fromFlag}
			}
		}
		if k.Name == "flavour" {
			switch {
			case c.IsSet("lab") && c.Bool("lab"):
				s = setting{Key: k.Name, Value: "lab", Source: fromFlag}
			case c.IsSet("server") && c.Bool("server"):
				s = setting{Key: k.Name, Value: "server", Source: fromFlag}
			}
		}
		if k.Name == "container_args" && c.IsSet("container-args") {
			args, err := validate.ShellWords("--container-args", c.String("container-args"))
			if err != nil {
				return nil, err
			}
			s = setting{Key: k.Name, Value: args, Source: fromFlag}
		}
		out = append(out, s)
	}
	// --lab or --server asks for a flavour: a cmd from the config, which
	// would run instead, gives way.
	if get(out, "flavour").Source == fromFlag && get(out, "cmd").Source != fromFlag && get(out, "cmd").Value != "" {
		set(out, setting{Key: "cmd", Value: "", Source: fromFlag})
	}
	return out, nil
}

func get(ss []setting, key string) setting {
	for _, s := range ss {
		if s.Key == key {
			return s
		}
	}
	panic("no setting " + key)
}

func set(ss []setting, s setting) {
	for i := range ss {
		if ss[i].Key == s.Key {
			ss[i] = s
		}
	}
}

// openSettings is jt open's request for host from its flags and the config.
func openSettings(c *cli.Context, cfg *config.File, host string) (session.OpenRequest, error) {
	ss, err := resolveSettings(c, cfg, host)
	if err != nil {
		return session.OpenRequest{}, err
	}
	str := func(k string) string { return get(ss, k).Value.(string) }
	list := func(k string) []string { return get(ss, k).Value.([]string) }
	return session.OpenRequest{
		Host:      host,
		Name:      str("name"),
		Dir:       str("dir"),
		Flavour:   str("flavour"),
		Command:   str("cmd"),
		Port:      get(ss, "port").Value.(int),
		LocalPort: get(ss, "local_port").Value.(int),
		Timeout:   get(ss, "timeout").Value.(time.Duration),
		Console:   str("console"),
		TCP:       get(ss, "tcp").Value.(bool),
		Idle:      get(ss, "idle").Value.(time.Duration),
		Warn:      get(ss, "warn").Value.(string),
		Env: templates.Env{
			Setup:   list("setup"),
			Modules: list("modules"),
			Conda:   str("conda"),
			Venv:    str("venv"),
			Container: templates.Container{
				Image: str("container"), Runtime: str("container_runtime"),
				Args: list("container_args"), GPU: get(ss, "container_gpu").Value.(bool),
			},
		},
	}, nil
}

// sessionName is the session a command about host means: --name if
// given, else the name jt open host would use (the profile's or
// [defaults]' name, else "default").
func sessionName(c *cli.Context, d *Deps, host string) string {
	if c.IsSet("name") {
		return c.String("name")
	}
	if p, ok := d.Config.Profile(host); ok {
		if v, ok := p["name"]; ok {
			return v.V.(string)
		}
	}
	if d.Config != nil {
		if v, ok := d.Config.Defaults["name"]; ok {
			return v.V.(string)
		}
	}
	return c.String("name")
}

// showValue formats a setting for jt config show.
func showValue(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "-"
		}
		return v
	case []string:
		if len(v) == 0 {
			return "-"
		}
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case int:
		if v == 0 {
			return "0 (choose)"
		}
	}
	return fmt.Sprint(v)
}
