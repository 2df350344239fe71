package sshexec

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// maxIncludeDepth is ssh's own limit (READCONF_MAX_DEPTH).
const maxIncludeDepth = 16

// ConfigHosts lists the concrete Host aliases of an ssh client config file
// and of the files it Includes, in the order ssh reads them: names without
// the wildcards * and ?, and no negated (!) patterns. A missing file lists
// nothing.
//
// Include is resolved as ssh does for a user's config, -F files included:
// ~ is home, and a relative path is relative to home/.ssh (not to the
// including file). kevinburke/ssh_config resolves Include the same way but
// keeps the included files' hosts private and refuses whole files that use
// "Match exec", so this small reader does the listing; what ssh will really
// do for a host is asked of ssh itself (ssh -G, see Client.Resolve).
func ConfigHosts(path, home string) ([]string, error) {
	r := hostReader{home: home, seen: map[string]bool{}}
	if err := r.read(path, 0); err != nil {
		return nil, err
	}
	return r.names, nil
}

// UserHome is the home directory ssh uses: the passwd entry's, not $HOME.
func UserHome() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	h, _ := os.UserHomeDir()
	return h
}

type hostReader struct {
	home  string
	names []string
	seen  map[string]bool
}

func (r *hostReader) read(path string, depth int) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ssh config: %w", err)
	}
	for n, line := range strings.Split(string(data), "\n") {
		keyword, args := splitConfigLine(line)
		switch strings.ToLower(keyword) {
		case "host":
			for _, p := range args {
				if p == "" || strings.ContainsAny(p, "*?!") || r.seen[p] {
					continue
				}
				r.seen[p] = true
				r.names = append(r.names, p)
			}
		case "include":
			if depth+1 > maxIncludeDepth {
				return fmt.Errorf("%s:%d: ssh config Include nested more than %d deep", path, n+1, maxIncludeDepth)
			}
			for _, pat := range args {
				matches, err := filepath.Glob(r.includePath(pat))
				if err != nil {
					continue // ssh ignores a bad pattern too
				}
				for _, m := range matches {
					if err := r.read(m, depth+1); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func (r *hostReader) includePath(p string) string {
	switch {
	case p == "~":
		return r.home
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(r.home, p[2:])
	case strings.HasPrefix(p, "~"):
		name, rest, _ := strings.Cut(p[1:], "/")
		if u, err := user.Lookup(name); err == nil {
			return filepath.Join(u.HomeDir, rest)
		}
		return p
	case filepath.IsAbs(p):
		return p
	}
	return filepath.Join(r.home, ".ssh", p)
}

// splitConfigLine splits an ssh_config line into its keyword and
// arguments: "Key value", "Key=value" and "Key = value"; arguments may be
// double- or single-quoted; a word starting with # ends the line.
func splitConfigLine(line string) (string, []string) {
	line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
	if line == "" || line[0] == '#' {
		return "", nil
	}
	end := strings.IndexAny(line, " \t=")
	if end < 0 {
		return line, nil
	}
	keyword, rest := line[:end], strings.TrimLeft(line[end:], " \t")
	rest = strings.TrimPrefix(rest, "=")
	var args []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			i = len(rest)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return keyword, args
}
