package sshexec

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// VersionArgs asks ssh for its version (printed on stderr).
func VersionArgs() []string { return []string{"-V"} }

// Version is the ssh client's version line, e.g. "OpenSSH_9.2p1 Debian-2, OpenSSL 3.0.11".
func (c *Client) Version(ctx context.Context) (string, error) {
	res, err := c.Runner.Run(ctx, Cmd{Args: VersionArgs()})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(res.Stderr) + string(res.Stdout)), nil
}

var openSSHRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`OpenSSH[_A-Za-z]*?_([0-9]+)\.([0-9]+)`) })

// OpenSSHVersion reads major and minor from a version line; ok is false
// for a client that is not OpenSSH.
func OpenSSHVersion(line string) (major, minor int, ok bool) {
	m := openSSHRE().FindStringSubmatch(line)
	if m == nil {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, true
}

// ResolveArgs asks ssh what it would do for host (-G): the settings after
// jt's options, the profile's and the user's config, without connecting.
func (c *Client) ResolveArgs(host string) []string {
	return append(c.client(host), "-G", "--", c.Dest(host))
}

// Resolve runs ssh -G for host and returns its settings, keys lowercase.
func (c *Client) Resolve(ctx context.Context, host string) (map[string]string, error) {
	res, err := c.Runner.Run(ctx, Cmd{Args: c.ResolveArgs(host)})
	if err != nil {
		return nil, fmt.Errorf("ssh -G %s: %w", c.Dest(host), err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), " ")
		if ok {
			if _, dup := out[k]; !dup {
				out[k] = v
			}
		}
	}
	return out, nil
}
