// Package kernelspec is the local side of jt kernel: the kernelspecs jt
// writes in the user's Jupyter data directory, so that any Jupyter client
// (JupyterLab, VS Code, nbclient, papermill) can start a remote kernel by
// name, and the connection files those clients hand to jt kernel run. It
// knows files and JSON only.
package kernelspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Prefix starts the directory name of every kernelspec jt writes.
const Prefix = "jt-"

// nameRE is the grammar of a kernelspec jt writes, after its prefix:
// Jupyter's own (letters, digits, . _ -), lowercase, as Jupyter folds names.
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62})$`) })

// CheckName checks a kernelspec name as given with --name or to jt kernel
// remove (with or without the jt- prefix); it returns the directory name.
func CheckName(name string) (string, error) {
	base := strings.TrimPrefix(name, Prefix)
	if !nameRE().MatchString(base) {
		return "", fmt.Errorf("kernel name %q is not one jt writes: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63", name)
	}
	return Prefix + base, nil
}

// NameFor is the kernelspec name of host when none is given: jt-HOST, with
// what a kernelspec name cannot hold (user@, :port, uppercase) folded.
func NameFor(host string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-._")
	if len(s) > 63 {
		s = s[:63]
	}
	return CheckName(s)
}

// DataDir is the local Jupyter data directory (jupyter --data-dir):
// $JUPYTER_DATA_DIR, else the platform's.
func DataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Abs(d)
	}
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("APPDATA"); d != "" {
			return filepath.Join(d, "jupyter"), nil
		}
		return "", errors.New("%APPDATA% is not set: set JUPYTER_DATA_DIR")
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Jupyter"), nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "jupyter"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// Spec is a kernel.json as jt writes it.
type Spec struct {
	Argv          []string `json:"argv"`
	DisplayName   string   `json:"display_name"`
	Language      string   `json:"language"`
	InterruptMode string   `json:"interrupt_mode"`
	Metadata      Metadata `json:"metadata"`
}

// Metadata marks a kernelspec as jt's: jt kernel ls and remove touch no other.
type Metadata struct {
	JT *Origin `json:"jt,omitempty"`
}

// Origin is what a jt kernelspec runs on.
type Origin struct {
	Host      string `json:"host"`
	Scheduler string `json:"scheduler,omitempty"`
}

// Installed is one of jt's kernelspecs.
type Installed struct {
	Name string // the directory name, jt-…
	Dir  string
	Spec Spec
}

// New is the kernelspec of a jt binary at jt (absolute) run with args
// (jt kernel run, its options, {connection_file} and HOST).
func New(jt string, args []string, display string, origin Origin) Spec {
	argv := append([]string{jt}, args...)
	return Spec{Argv: argv, DisplayName: display, Language: "python", InterruptMode: "message", Metadata: Metadata{JT: &origin}}
}

// Install writes spec as kernelspec name under dataDir, replacing a jt
// kernelspec of that name; one that is not jt's is left alone.
func Install(dataDir, name string, spec Spec) (Installed, error) {
	dir := filepath.Join(dataDir, "kernels", name)
	if old, err := read(dir); err == nil && old.Metadata.JT == nil {
		return Installed{}, fmt.Errorf("%s is a kernelspec jt did not write: choose another --name", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Installed{}, err
	}
	b, err := json.MarshalIndent(spec, "", " ")
	if err != nil {
		return Installed{}, err
	}
	tmp, err := os.CreateTemp(dir, ".kernel.json-*")
	if err != nil {
		return Installed{}, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return Installed{}, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return Installed{}, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Installed{}, err
	}
	if err := tmp.Close(); err != nil {
		return Installed{}, err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, "kernel.json")); err != nil {
		return Installed{}, err
	}
	return Installed{Name: name, Dir: dir, Spec: spec}, nil
}

func read(dir string) (Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		return Spec{}, err
	}
	var s Spec
	if len(b) > 1<<20 {
		return s, errors.New("kernel.json is too large")
	}
	return s, json.Unmarshal(b, &s)
}

// List is jt's kernelspecs under dataDir, by name.
func List(dataDir string) ([]Installed, error) {
	entries, err := os.ReadDir(filepath.Join(dataDir, "kernels"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Installed
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) {
			continue
		}
		dir := filepath.Join(dataDir, "kernels", e.Name())
		if s, err := read(dir); err == nil && s.Metadata.JT != nil {
			out = append(out, Installed{Name: e.Name(), Dir: dir, Spec: s})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes jt's kernelspec name under dataDir.
func Remove(dataDir, name string) error {
	dir := filepath.Join(dataDir, "kernels", name)
	s, err := read(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no kernelspec %s in %s", name, filepath.Join(dataDir, "kernels"))
	}
	if err != nil || s.Metadata.JT == nil {
		return fmt.Errorf("%s is not a kernelspec jt wrote: jt leaves it alone", dir)
	}
	return os.RemoveAll(dir)
}
