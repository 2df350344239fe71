package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Source is what a release is built from.
type Source struct {
	Version string    // v1.2.3, or a pseudo-version v0.0.0-20261207124553-44ffa4e986dc
	Commit  string    // HEAD's first 12 hex digits, -dirty if the tree has changes
	Time    time.Time // HEAD's commit time: every file's date
}

// describeHEAD is the Source of the checkout at dir; version, if given,
// names it.
func describeHEAD(dir, version string) (Source, error) {
	head, err := output(dir, "git", "log", "-1", "--format=%H %ct")
	if err != nil {
		return Source{}, err
	}
	hash, unix, _ := strings.Cut(strings.TrimSpace(head), " ")
	secs, err := strconv.ParseInt(unix, 10, 64)
	if err != nil || len(hash) < 12 {
		return Source{}, fmt.Errorf("git log: unexpected %q", head)
	}
	s := Source{Commit: hash[:12], Time: time.Unix(secs, 0).UTC()}
	status, err := output(dir, "git", "status", "--porcelain")
	if err != nil {
		return Source{}, err
	}
	dirty := strings.TrimSpace(status) != ""
	if dirty {
		s.Commit += "-dirty"
	}
	s.Version = version
	if s.Version == "" {
		// The tag at HEAD, as go build (Go 1.24 and later) would take it.
		tag, err := output(dir, "git", "describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD")
		s.Version = strings.TrimSpace(tag)
		if err != nil || s.Version == "" {
			s.Version = "v0.0.0-" + s.Time.Format("20060102150405") + "-" + hash[:12]
		}
		if dirty {
			s.Version += "+dirty"
		}
	}
	if !strings.HasPrefix(s.Version, "v") || strings.ContainsAny(s.Version, "/ \t\n\"'\\") {
		return Source{}, fmt.Errorf("version %q: want a tag such as v1.2.3", s.Version)
	}
	return s, nil
}

// PlainVersion is the version without its v, as packages and Homebrew
// spell it.
func (s Source) PlainVersion() string { return strings.TrimPrefix(s.Version, "v") }

// output runs a command in dir and returns its stdout; its stderr is in
// the error.
func output(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
