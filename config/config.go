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
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/mitchellh/go-homedir"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/validate"
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
	{Name: "conda", Kind: String, Help: "conda/mamba/micromamba environment to activate"},
	{Name: "venv", Kind: String, Help: "Python virtual environment directory to activate"},
	{Name: "modules", Kind: Strings, Help: "environment modules to load (module load …)"},
	{Name: "setup", Kind: Strings, Help: "shell lines run before Jupyter starts, in order"},
	{Name: "slurm", Kind: Bool, Help: "the host is a Slurm login node: run Jupyter as a batch job on a compute node"},
	{Name: "slurm_args", Kind: Strings, Help: `sbatch options, one word each (like "--partition=gpu", "--time=2:00:00")`},
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

func parse(f *File, text string) error {
	var raw map[string]any
	md, err := toml.Decode(text, &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line := pe.Position.Line
			if s := pe.Position.Start; s >= 0 && s < len(text) {
				// An unexpected end of line belongs to the line it ends.
				line = strings.Count(text[:s], "\n") + 1
			}
			return &Error{Path: f.Path, Line: line, Msg: "TOML syntax error: " + pe.Message}
		}
		return &Error{Path: f.Path, Msg: "TOML syntax error: " + err.Error()}
	}
	lines := keyLines(text)
	fail := func(path []string, format string, a ...any) error {
		return &Error{Path: f.Path, Line: lines.find(path), Msg: fmt.Sprintf(format, a...)}
	}
	addProfile := func(k toml.Key) error {
		name := k[1]
		if _, ok := f.Profiles[name]; ok {
			return nil
		}
		if !validate.IsName(name) {
			return fail(k, "profile name %s is not valid: use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'", sshexec.Printable(name))
		}
		if _, ok := raw["hosts"].(map[string]any)[name].(map[string]any); !ok {
			return fail(k, "hosts.%s must be a table ([hosts.%s])", name, name)
		}
		f.Profiles[name] = Table{}
		f.Names = append(f.Names, name)
		return nil
	}
	// Keys in file order, so the first mistake in the file is the one reported.
	for _, k := range md.Keys() {
		switch {
		case len(k) == 1:
			switch k[0] {
			case "defaults", "hosts":
				if _, ok := raw[k[0]].(map[string]any); !ok {
					return fail(k, "%q must be a table ([%s])", k[0], k[0])
				}
			default:
				return fail(k, "unknown key %q at the top level%s; jt's config has [defaults] and [hosts.NAME] tables", k[0], validate.Suggest(k[0], []string{"defaults", "hosts"}))
			}
		case k[0] == "defaults" && len(k) == 2:
			if err := setKey(f.Defaults, "[defaults]", false, k[1], raw["defaults"].(map[string]any)[k[1]], func(format string, a ...any) error {
				return fail(k, format, a...)
			}); err != nil {
				return err
			}
		case k[0] == "hosts" && len(k) == 2:
			if err := addProfile(k); err != nil {
				return err
			}
		case k[0] == "hosts" && len(k) == 3:
			// A dotted key (hosts.gpu.port = 1) may come without its table.
			if err := addProfile(k[:2]); err != nil {
				return err
			}
			table := raw["hosts"].(map[string]any)[k[1]].(map[string]any)
			if err := setKey(f.Profiles[k[1]], "[hosts."+k[1]+"]", true, k[2], table[k[2]], func(format string, a ...any) error {
				return fail(k, format, a...)
			}); err != nil {
				return err
			}
		default:
			// Deeper keys: a table inside a setting, which no key takes.
			parent := k[:len(k)-1]
			return fail(k, "unknown key %q in [%s]", k[len(k)-1], strings.Join(parent, "."))
		}
	}
	sort.Strings(f.Names)
	// Remember where each value was set, for jt config show; and say which
	// keys go by an old name.
	find := func(path ...string) int {
		if l, ok := lines[strings.Join(path, "\x00")]; ok {
			return l
		}
		for old, n := range Renamed {
			if n == path[len(path)-1] {
				oldPath := append(slices.Clone(path[:len(path)-1]), old)
				if l, ok := lines[strings.Join(oldPath, "\x00")]; ok {
					f.Notices = append(f.Notices, fmt.Sprintf("%s:%d: key %q is now called %q; the old name still works", Display(f.Path), l, old, n))
					return l
				}
			}
		}
		return lines.find(path)
	}
	for name, v := range f.Defaults {
		v.Line = find("defaults", name)
		f.Defaults[name] = v
	}
	for _, p := range f.Names {
		t := f.Profiles[p]
		for _, k := range Keys {
			if v, ok := t[k.Name]; ok {
				v.Line = find("hosts", p, k.Name)
				t[k.Name] = v
			}
		}
	}
	sort.Strings(f.Notices)
	return nil
}

// setKey checks one setting's name, type and value and stores it.
func setKey(t Table, where string, profile bool, name string, raw any, fail func(string, ...any) error) error {
	if n, ok := Renamed[name]; ok {
		if _, both := t[n]; both {
			return fail("key %q is the old name of %q, which is also set in %s: keep one", name, n, where)
		}
		name = n
	}
	key, ok := KeyNamed(name)
	if !ok {
		var names []string
		for _, k := range Keys {
			if profile || !k.ProfileOnly {
				names = append(names, k.Name)
			}
		}
		return fail("unknown key %q in %s%s", name, where, validate.Suggest(name, names))
	}
	if key.ProfileOnly && !profile {
		why := ""
		if name != "host" {
			why = " (ssh settings for every host belong in ~/.ssh/config, under Host *)"
		}
		return fail("key %q belongs in a [hosts.NAME] profile, not in %s%s", name, where, why)
	}
	wrong := func() error {
		return fail("key %q in %s must be %s, not %s", name, where, key.Kind, tomlType(raw))
	}
	var v any
	switch key.Kind {
	case String:
		s, ok := raw.(string)
		if !ok {
			return wrong()
		}
		v = s
	case Int:
		n, ok := raw.(int64)
		if !ok {
			return wrong()
		}
		v = int(n)
	case Bool:
		b, ok := raw.(bool)
		if !ok {
			return wrong()
		}
		v = b
	case Duration:
		s, ok := raw.(string)
		if !ok {
			return wrong()
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fail("key %q in %s: %q is not a duration; write it like \"90s\" or \"2m\"", name, where, s)
		}
		v = d
	case Strings:
		arr, ok := raw.([]any)
		if !ok {
			return wrong()
		}
		list := make([]string, 0, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				return fail("key %q in %s must be %s, but element %d is %s", name, where, key.Kind, i+1, tomlType(e))
			}
			list = append(list, s)
		}
		v = list
	}
	if msg := checkValue(name, v); msg != "" {
		return fail("key %q in %s: %s", name, where, msg)
	}
	t[name] = Value{V: v}
	return nil
}

var (
	sshOptionRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*=`)
)

// jtOwned are ssh options jt sets itself: a profile's would be ignored.
var jtOwned = []string{"controlpath", "controlmaster", "controlpersist", "batchmode"}

// checkValue returns what is wrong with a well-typed value, or "".
func checkValue(name string, v any) string {
	switch name {
	case "host":
		return why(validate.Host(v.(string)))
	case "jump":
		for _, h := range strings.Split(v.(string), ",") {
			if err := validate.Host(h); err != nil {
				return err.Error()
			}
		}
	case "ssh_options":
		return checkSSHOptions(v.([]string))
	case "dir", "venv":
		return why(validate.RemotePath(v.(string)))
	case "cmd", "conda":
		return why(validate.OneLine(v.(string)))
	case "slurm_args", "modules":
		for _, m := range v.([]string) {
			if m == "" && name == "modules" {
				return "an empty module name"
			}
			if err := validate.OneLine(m); err != nil {
				return err.Error()
			}
		}
	case "setup":
		for _, l := range v.([]string) {
			if strings.ContainsRune(l, 0) {
				return "a line contains a NUL byte"
			}
		}
	case "port", "local_port":
		if err := validate.Port(v.(int)); err != nil {
			return err.Error() + " (or 0 to let jt choose)"
		}
	case "flavour":
		return why(validate.OneOf(v.(string), validate.Flavours))
	case "console":
		return why(validate.OneOf(v.(string), validate.Consoles))
	case "name":
		return why(validate.Name(v.(string)))
	case "timeout":
		if v.(time.Duration) <= 0 {
			return "must be positive, like \"60s\""
		}
	}
	return ""
}

// checkSSHOptions checks ssh_options: Key=Value, one line, none of jt's own.
func checkSSHOptions(opts []string) string {
	for _, o := range opts {
		if !sshOptionRE.MatchString(o) {
			return fmt.Sprintf("%s is not Key=Value (like \"IdentityFile=~/.ssh/id_gpu\")", sshexec.Printable(o))
		}
		if err := validate.OneLine(o); err != nil {
			return err.Error()
		}
		k, _, _ := strings.Cut(o, "=")
		if slices.Contains(jtOwned, strings.ToLower(k)) {
			return fmt.Sprintf("%s is set by jt itself (its own control socket, no prompts after login); leave it out", k)
		}
	}
	return ""
}

// why is err's message, or "" for nil.
func why(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func tomlType(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("a string (%s)", sshexec.Printable(v))
	case int64:
		return fmt.Sprintf("an integer (%d)", v)
	case float64:
		return fmt.Sprintf("a float (%v)", v)
	case bool:
		return fmt.Sprintf("a boolean (%v)", v)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date"
	}
	return fmt.Sprintf("%T", v)
}
