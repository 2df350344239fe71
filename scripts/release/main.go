// Command release builds jt's release for Linux, macOS and Windows on
// amd64 and arm64, with the version and commit built in (jt --version):
//
//	go run ./scripts/release [-version v1.2.3] [-tap DIR] [OUTDIR]
//
// OUTDIR (default dist/) gets, for each target, an archive (tar.gz; zip
// for Windows) holding jt, README.md, the bash, zsh and fish completions
// and the man page jt.1; for Linux a .deb and an .rpm that install
// /usr/bin/jt, the completions where each shell looks, and jt.1; a
// SHA256SUMS of them all; and the Homebrew formula (jt.rb) and Scoop
// manifest (jt.json) for the version, whose URLs are those of the GitHub
// release of that tag (URLBase). -tap DIR also writes them to
// DIR/Formula/jt.rb and DIR/bucket/jt.json, where brew tap and scoop
// bucket add find them: with -tap . after a release, commit them.
//
// The version is -version, else $VERSION, else the tag at HEAD, else a Go
// pseudo-version of HEAD (what a plain go build says); the commit is
// HEAD's, with -dirty when the tree has changes. Every file is dated at
// HEAD's commit time, so the same commit gives the same archives and
// .deb with the same Go (the .rpm also names its build host).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// URLBase is where a release's files are downloaded from: the GitHub
// release of the version's tag, URLBase/TAG/FILE.
const URLBase = "https://github.com/jt-sh/jt/releases/download"

// Target is one platform a release is built for.
type Target struct{ OS, Arch string }

// Targets are the platforms of a release.
var Targets = []Target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

func main() {
	version := flag.String("version", os.Getenv("VERSION"), "the release's `VERSION` (a tag such as v1.2.3); default: the tag at HEAD, else a pseudo-version")
	tap := flag.String("tap", "", "also write the formula and manifest to `DIR`/Formula/jt.rb and DIR/bucket/jt.json")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: go run ./scripts/release [-version v1.2.3] [-tap DIR] [OUTDIR]")
		flag.PrintDefaults()
	}
	flag.Parse()
	out := "dist"
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	} else if flag.NArg() == 1 {
		out = flag.Arg(0)
	}
	if err := run(out, *version, *tap); err != nil {
		fmt.Fprintln(os.Stderr, "scripts/release:", err)
		os.Exit(1)
	}
}

func run(out, version, tap string) error {
	src, err := describeHEAD(".", version)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "jt-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	r := &Release{Source: src, Out: out, Work: work}
	if err := r.Build(); err != nil {
		return err
	}
	for _, a := range r.Artifacts {
		fmt.Println(filepath.Join(out, a.Name))
	}
	if tap != "" {
		if err := r.WriteManifests(filepath.Join(tap, "Formula"), filepath.Join(tap, "bucket")); err != nil {
			return err
		}
	}
	return checkHostBinary(r)
}

// checkHostBinary runs the build for this machine, which must say what it is.
func checkHostBinary(r *Release) error {
	bin, ok := r.Binaries[Target{runtime.GOOS, runtime.GOARCH}]
	if !ok {
		return nil
	}
	got, err := output(".", bin, "--version")
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("jt version %s (commit %s)", r.Version, r.Commit); strings.TrimSpace(got) != want {
		return fmt.Errorf("%s --version says %q, want %q", bin, strings.TrimSpace(got), want)
	}
	return nil
}
