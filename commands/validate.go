package commands

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/jt-sh/jt/sshexec"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// validName checks a session name: it becomes part of remote file names and
// of the screen session name, so only a safe alphabet is allowed.
func validName(name string) error {
	if !nameRE.MatchString(name) {
		return usageErrorf("session name %s is not valid: use 1-64 letters, digits, '.', '_' or '-', not starting with '-' or '.'", sshexec.Printable(name))
	}
	return nil
}

func validHost(host string) error {
	if err := sshexec.ValidateHost(host); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	return nil
}

// validPort checks a port flag; 0 means "choose for me".
func validPort(flag string, port int, local bool) error {
	if port < 0 || port > 65535 {
		return usageErrorf("--%s %d is out of range: use 1-65535", flag, port)
	}
	if local && port > 0 && port < 1024 && os.Geteuid() != 0 {
		return usageErrorf("--%s %d needs root: use a port from 1024 up", flag, port)
	}
	return nil
}

// validDir checks a remote directory. "~" and "~/…" mean the remote home;
// "~user" is refused because jt cannot know that user's home.
func validDir(dir string) error {
	switch {
	case strings.ContainsAny(dir, "\x00\n\r"):
		return usageErrorf("--dir %s contains a NUL or newline", sshexec.Printable(dir))
	case len(dir) > 4096:
		return usageErrorf("--dir is %d bytes long, more than 4096", len(dir))
	case strings.HasPrefix(dir, "~") && dir != "~" && !strings.HasPrefix(dir, "~/"):
		return usageErrorf("--dir %s: ~user is not supported; write the path in full, or ~/… for your own home", sshexec.Printable(dir))
	}
	return nil
}

// validCommand checks a --cmd value: shell words run by the remote user.
func validCommand(cmd string) error {
	if strings.ContainsAny(cmd, "\x00\n\r") {
		return usageErrorf("--cmd %s contains a NUL or newline", sshexec.Printable(cmd))
	}
	if len(cmd) > 4096 {
		return usageErrorf("--cmd is %d bytes long, more than 4096", len(cmd))
	}
	return nil
}

func oneHost(args []string, command string) (string, error) {
	switch len(args) {
	case 0:
		return "", usageErrorf("%s needs a HOST: jt %s [options] HOST (an alias from ~/.ssh/config, user@host or an address)", command, command)
	case 1:
		return args[0], validHost(args[0])
	}
	return "", usageErrorf("%s takes one HOST, got %d arguments (%s); put options before the host", command, len(args), fmt.Sprint(args))
}
