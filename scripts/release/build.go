package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/jt-sh/jt/commands"
)

// Release is one build of every target.
type Release struct {
	Source
	Out  string // where the artifacts go
	Work string // a scratch directory: the binaries and docs before they are packed

	Binaries  map[Target]string // the built jt of each target, under Work
	Docs      []Doc             // what every archive and package holds beside jt
	Artifacts []Artifact        // what Out holds, in SHA256SUMS
}

// Doc is a file shipped beside the binary.
type Doc struct {
	Archive string // its path inside an archive's top directory
	Linux   string // where a package installs it (the deb's, for zsh)
	RPM     string // where the rpm installs it, if not Linux
	Data    []byte
}

// Artifact is one file of a release.
type Artifact struct {
	Name   string // in Out
	Target Target
	Kind   string // "archive", "deb" or "rpm"
	SHA256 string
}

// Build builds every target's binary, then its archive and packages, then
// SHA256SUMS, the formula and the manifest.
func (r *Release) Build() error {
	docs, err := r.docs()
	if err != nil {
		return err
	}
	r.Docs = docs
	r.Binaries = map[Target]string{}
	for _, t := range Targets {
		bin, err := r.buildBinary(t)
		if err != nil {
			return err
		}
		r.Binaries[t] = bin
		if err := r.pack(t); err != nil {
			return err
		}
	}
	if err := r.writeSums(); err != nil {
		return err
	}
	return r.WriteManifests(r.Out, r.Out)
}

// buildBinary cross-compiles jt for t, with the version and commit in it.
func (r *Release) buildBinary(t Target) (string, error) {
	bin := filepath.Join(r.Work, t.OS+"-"+t.Arch, t.exe())
	// urfave_cli_no_docs: jt makes its man page itself (manpage/); without
	// the tag the CLI library's Markdown and roff writers (and their
	// Markdown parser's init, ~1 ms of every command) come along.
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs",
		"-ldflags", fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", r.Version, r.Commit),
		"-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build for %s/%s: %w", t.OS, t.Arch, err)
	}
	return bin, nil
}

func (t Target) exe() string {
	if t.OS == "windows" {
		return "jt.exe"
	}
	return "jt"
}

// docs are README.md, the completions and the man page, made by this
// checkout's jt itself: jt completion SHELL, and the man page from the
// definitions that print --help.
func (r *Release) docs() ([]Doc, error) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		return nil, err
	}
	docs := []Doc{{Archive: "README.md", Linux: "/usr/share/doc/jt/README.md", Data: readme}}
	for _, c := range []struct{ shell, archive, linux, rpm string }{
		{"bash", "completions/jt.bash", "/usr/share/bash-completion/completions/jt", ""},
		// Debian's zsh looks in vendor-completions, Fedora's in site-functions.
		{"zsh", "completions/_jt", "/usr/share/zsh/vendor-completions/_jt", "/usr/share/zsh/site-functions/_jt"},
		{"fish", "completions/jt.fish", "/usr/share/fish/vendor_completions.d/jt.fish", ""},
	} {
		app := commands.NewApp(r.Version, r.Commit)
		var script bytes.Buffer
		app.Writer = &script
		if err := app.Run([]string{"jt", "completion", c.shell}); err != nil {
			return nil, fmt.Errorf("jt completion %s: %w", c.shell, err)
		}
		docs = append(docs, Doc{Archive: c.archive, Linux: c.linux, RPM: c.rpm, Data: script.Bytes()})
	}
	man := []byte(commands.ManPage(commands.NewApp(r.Version, r.Commit)))
	gz, err := gzipped(man, r.Time)
	if err != nil {
		return nil, err
	}
	// Archives hold the page as it is (brew's man1.install takes it so);
	// packages compress it, as Debian and Fedora do.
	return append(docs, Doc{Archive: "man/jt.1", Data: man}, Doc{Linux: "/usr/share/man/man1/jt.1.gz", Data: gz}), nil
}
