package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

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
	v, err := typed(key, where, raw, fail)
	if err != nil {
		return err
	}
	if msg := checkValue(name, v); msg != "" {
		return fail("key %q in %s: %s", name, where, msg)
	}
	t[name] = Value{V: v}
	return nil
}

// typed is raw as the Go type of key's Kind, or an error naming both.
func typed(key Key, where string, raw any, fail func(string, ...any) error) (any, error) {
	name := key.Name
	wrong := func() (any, error) {
		return nil, fail("key %q in %s must be %s, not %s", name, where, key.Kind, tomlType(raw))
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
			return nil, fail("key %q in %s: %q is not a duration; write it like \"90s\" or \"2m\"", name, where, s)
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
				return nil, fail("key %q in %s must be %s, but element %d is %s", name, where, key.Kind, i+1, tomlType(e))
			}
			list = append(list, s)
		}
		v = list
	}
	return v, nil
}

var (
	sshOptionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*=`) })
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
	case "container":
		return why(validate.ContainerImage(v.(string), ""))
	case "container_runtime":
		return why(validate.OneOf(v.(string), validate.ContainerRuntimes))
	case "container_args":
		if err := validate.ContainerArgs("container_args", v.([]string)); err != nil {
			return err.Error()
		}
	case "scheduler":
		if s := v.(string); !validate.IsName(s) {
			return fmt.Sprintf("%s is not a scheduler's name (like \"slurm\")", visible.Quote(s))
		}
	case "slurm_args", "scheduler_args", "modules":
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
	case "gpus":
		_, _, err := validate.GPUs(v.(string))
		return why(err)
	case "cpus":
		return why(validate.CPUs(v.(int)))
	case "mem":
		_, err := validate.Mem(v.(string))
		return why(err)
	case "time":
		return why(validate.JobTime(v.(time.Duration)))
	case "queue", "parallel_env":
		return why(validate.Queue(name, v.(string)))
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
	case "idle":
		if d := v.(time.Duration); d != 0 && (d < 10*time.Second || d > 30*24*time.Hour) {
			return "must be from 10s to 720h, like \"2h\", or \"0s\" for never"
		}
	case "warn":
		if _, err := validate.WarnPoints(v.(string)); err != nil {
			return err.Error()
		}
	}
	return ""
}

// checkSSHOptions checks ssh_options: Key=Value, one line, none of jt's own.
func checkSSHOptions(opts []string) string {
	for _, o := range opts {
		if !sshOptionRE().MatchString(o) {
			return fmt.Sprintf("%s is not Key=Value (like \"IdentityFile=~/.ssh/id_gpu\")", visible.Quote(o))
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
		return fmt.Sprintf("a string (%s)", visible.Quote(v))
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
