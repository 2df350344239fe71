package session

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

// JupyterEnv is what jt exec puts in a local program's environment (and
// jt env prints) for session s: the server's URL (no token in it), its
// base path, and the token, each apart.
func JupyterEnv(s state.Session) map[string]string {
	base := s.BaseURL
	if base == "" {
		base = "/"
	}
	return map[string]string{
		"JUPYTER_URL":      "http://127.0.0.1:" + strconv.Itoa(s.LocalPort) + base,
		"JUPYTER_BASE_URL": base,
		"JUPYTER_TOKEN":    s.Token,
	}
}

// Shells are the syntaxes jt env can print.
var Shells = []string{"bash", "zsh", "fish"}

// ShellExports spells env as lines for the shell to eval, sorted, every
// value single-quoted.
func ShellExports(env map[string]string, shell string) (string, error) {
	if validate.OneOf(shell, Shells) != nil {
		return "", validate.Usagef("--shell %q is not known: use bash, zsh or fish", shell)
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		if shell == "fish" {
			// fish's single quotes take \' and \\ as escapes.
			v := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(env[k])
			b.WriteString("set -gx " + k + " '" + v + "';\n")
			continue
		}
		b.WriteString("export " + k + "='" + strings.ReplaceAll(env[k], "'", `'\''`) + "'\n")
	}
	return b.String(), nil
}

// ExitStatus is a local program's exit status that jt exec passes on.
type ExitStatus struct{ Code int }

func (e *ExitStatus) Error() string { return fmt.Sprintf("the command exited with status %d", e.Code) }

// RunWithEnv runs argv with env added to jt's environment (jt's own
// values of those names left out), passing SIGTERM and SIGHUP on; the
// terminal's Ctrl-C reaches the command by itself.
func RunWithEnv(argv []string, env map[string]string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !hasKey(env, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return validate.Usagef("exec %s: %v", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case err := <-done:
			var ee *exec.ExitError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &ee):
				return &ExitStatus{Code: exitCodeOf(ee)}
			}
			return err
		}
	}
}

// exitCodeOf is a finished command's status as a shell reports it.
func exitCodeOf(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if c := ee.ExitCode(); c >= 0 {
		return c
	}
	return 1
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }
