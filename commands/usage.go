package commands

import (
	"fmt"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/validate"
)

func usageErrorf(format string, a ...any) error { return validate.Usagef(format, a...) }

// oneHost is the one HOST argument of a command, checked.
func oneHost(args []string, command string) (string, error) {
	switch len(args) {
	case 0:
		return "", usageErrorf("%s needs a HOST: jt %s [options] HOST (an alias from ~/.ssh/config, user@host or an address)", command, command)
	case 1:
		return args[0], session.CheckHost(args[0])
	}
	return "", usageErrorf("%s takes one HOST, got %d arguments (%s); put options before the host", command, len(args), fmt.Sprint(args))
}
