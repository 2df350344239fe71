package main

// The checks of a built release (go run ./scripts/release DIR, then
// JT_RELEASE_DIR=DIR go test -run '^TestRelease' ./scripts/release, as
// scripts/test does): its checksums, archives, formula and manifest, the
// .rpm's files, and the .deb installed on this machine, used and removed.
// Without JT_RELEASE_DIR they do not run (the unit tests' run builds no
// release); with it, a missing tool (or not being root, for the .deb) is
// a skip, and with JT_E2E=require (CI) a failure.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const releaseDirEnv = "JT_RELEASE_DIR"

// installed is where a package puts each file: the same for the .deb and
// the .rpm but for zsh's directory.
func installed(format string) []string {
	zsh := "/usr/share/zsh/vendor-completions/_jt"
	if format == "rpm" {
		zsh = "/usr/share/zsh/site-functions/_jt"
	}
	return []string{
		"/usr/bin/jt",
		"/usr/share/bash-completion/completions/jt",
		"/usr/share/doc/jt/README.md",
		"/usr/share/fish/vendor_completions.d/jt.fish",
		"/usr/share/man/man1/jt.1.gz",
		zsh,
	}
}

// built is the release under test: its directory, what it was built
// from, and its artifacts by name from SHA256SUMS.
type built struct {
	dir  string
	src  Source
	sums map[string]string
}

func releaseDir(t *testing.T) *built {
	t.Helper()
	dir := os.Getenv(releaseDirEnv)
	if dir == "" {
		t.Skip(releaseDirEnv + " is not set: no release to check (scripts/test builds one)")
	}
	src, err := describeHEAD("../..", os.Getenv("VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	b := &built{dir: dir, src: src, sums: map[string]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: %q", line)
		}
		b.sums[name] = sum
	}
	return b
}

// named is the one artifact whose name has the prefix and suffix.
func (b *built) named(t *testing.T, prefix, suffix string) string {
	t.Helper()
	var found []string
	for name := range b.sums {
		if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
			found = append(found, name)
		}
	}
	if len(found) != 1 {
		t.Fatalf("artifacts %s…%s: %q in SHA256SUMS, want one", prefix, suffix, found)
	}
	return found[0]
}

// need reports what the machine lacks for a check: a failure in CI
// (JT_E2E=require), else a skip.
func need(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("JT_E2E") == "require" {
		t.Fatal(what)
	}
	t.Skip(what)
}

// tools checks that the commands are on PATH.
func tools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			need(t, n+" not found on PATH")
		}
	}
}

func sh(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// SHA256SUMS lists every artifact, and sha256sum -c verifies them all.
func TestReleaseSums(t *testing.T) {
	t.Parallel()
	b := releaseDir(t)
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); n != "SHA256SUMS" && n != "jt.rb" && n != "jt.json" {
			files = append(files, n)
		}
	}
	if len(files) != len(Targets)+4 || len(b.sums) != len(files) {
		t.Errorf("%d artifacts, %d in SHA256SUMS, want %d (an archive per target, a .deb and an .rpm per Linux arch): %q", len(files), len(b.sums), len(Targets)+4, files)
	}
	for _, f := range files {
		if _, ok := b.sums[f]; !ok {
			t.Errorf("SHA256SUMS does not list %s", f)
		}
	}
	tools(t, "sha256sum")
	out := sh(t, b.dir, "sha256sum", "-c", "SHA256SUMS")
	if n := strings.Count(out, ": OK\n"); n != len(b.sums) {
		t.Errorf("sha256sum -c: %d OK, want %d:\n%s", n, len(b.sums), out)
	}
}

// Each archive holds, under one directory, jt, README.md, the
// completions and the man page.
func TestReleaseArchives(t *testing.T) {
	t.Parallel()
	b := releaseDir(t)
	for _, target := range Targets {
		r := &Release{Source: b.src}
		name := r.ArchiveName(target)
		if _, ok := b.sums[name]; !ok {
			t.Errorf("no %s in SHA256SUMS", name)
			continue
		}
		got := archiveFiles(t, filepath.Join(b.dir, name))
		top := r.ArchiveDir(target) + "/"
		want := []string{top + target.exe(), top + "README.md", top + "completions/_jt", top + "completions/jt.bash", top + "completions/jt.fish", top + "man/jt.1"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
}

// archiveFiles lists the regular files of a tar.gz or zip, checking that
// jt is executable.
func archiveFiles(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	mode := func(name string, m os.FileMode) {
		if base := filepath.Base(name); (base == "jt" || base == "jt.exe") && m&0o111 == 0 {
			t.Errorf("%s: %s has mode %v", path, name, m)
		}
		names = append(names, name)
	}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if !f.Mode().IsDir() {
				mode(f.Name, f.Mode())
			}
		}
	} else {
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				mode(h.Name, h.FileInfo().Mode())
			}
		}
	}
	slices.Sort(names)
	return names
}

// The formula's URLs and checksums are those of this run's macOS and
// Linux archives, and ruby parses it; the Scoop manifest's are those of
// the Windows zips.
func TestReleaseFormulaAndScoop(t *testing.T) {
	t.Parallel()
	b := releaseDir(t)
	rb, err := os.ReadFile(filepath.Join(b.dir, "jt.rb"))
	if err != nil {
		t.Fatal(err)
	}
	pairs := brewPair.FindAllStringSubmatch(string(rb), -1)
	seen := map[string]bool{}
	for _, m := range pairs {
		name, ok := strings.CutPrefix(m[1], URLBase+"/"+b.src.Version+"/")
		if !ok || b.sums[name] != m[2] {
			t.Errorf("formula: url %s sha256 %s; SHA256SUMS has %q for %q", m[1], m[2], b.sums[name], name)
		}
		seen[name] = true
	}
	r := &Release{Source: b.src}
	for _, target := range Targets {
		if target.OS != "windows" && !seen[r.ArchiveName(target)] {
			t.Errorf("formula has no url for %s", r.ArchiveName(target))
		}
	}
	if len(pairs) != 4 {
		t.Errorf("formula: %d url/sha256 pairs, want 4:\n%s", len(pairs), rb)
	}
	rubyParses(t, rb)

	js, err := os.ReadFile(filepath.Join(b.dir, "jt.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Version      string
		Bin          string
		Architecture map[string]scoopArch
	}
	if err := json.Unmarshal(js, &manifest); err != nil {
		t.Fatalf("jt.json: %v\n%s", err, js)
	}
	if manifest.Version != b.src.PlainVersion() || manifest.Bin != "jt.exe" || len(manifest.Architecture) != 2 {
		t.Errorf("jt.json: %s", js)
	}
	for arch, a := range manifest.Architecture {
		name, _ := strings.CutPrefix(a.URL, URLBase+"/"+b.src.Version+"/")
		if b.sums[name] != a.Hash || !strings.HasSuffix(name, ".zip") || a.ExtractDir+".zip" != name {
			t.Errorf("jt.json %s: url %s hash %s extract_dir %s; SHA256SUMS has %q", arch, a.URL, a.Hash, a.ExtractDir, b.sums[name])
		}
	}
}

// rpm -qlp lists the files the .deb installs (zsh's in Fedora's place).
func TestReleaseRPMFiles(t *testing.T) {
	t.Parallel()
	b := releaseDir(t)
	tools(t, "rpm")
	for _, arch := range []string{"x86_64", "aarch64"} {
		rpm := b.named(t, "jt-", "."+arch+".rpm")
		got := strings.Fields(sh(t, b.dir, "rpm", "-qlp", rpm))
		if want := installed("rpm"); !slices.Equal(got, want) {
			t.Errorf("rpm -qlp %s:\n%q\nwant\n%q", rpm, got, want)
		}
	}
}

// The other arch's .deb holds the same files (dpkg-deb -c).
func TestReleaseDebFiles(t *testing.T) {
	t.Parallel()
	b := releaseDir(t)
	tools(t, "dpkg-deb")
	for _, arch := range []string{"amd64", "arm64"} {
		deb := b.named(t, "jt_", "_"+arch+".deb")
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(sh(t, b.dir, "dpkg-deb", "-c", deb)), "\n") {
			f := strings.Fields(line)
			if p := strings.TrimPrefix(f[len(f)-1], "."); !strings.HasSuffix(p, "/") {
				got = append(got, p)
			}
		}
		slices.Sort(got)
		if want := installed("deb"); !slices.Equal(got, want) {
			t.Errorf("dpkg-deb -c %s:\n%q\nwant\n%q", deb, got, want)
		}
	}
}

// A plain go build in a fresh clone says the commit.
func TestReleaseCleanCloneVersion(t *testing.T) {
	t.Parallel()
	releaseDir(t)
	tools(t, "git", "go")
	root := strings.TrimSpace(sh(t, "../..", "git", "rev-parse", "--show-toplevel"))
	head := strings.TrimSpace(sh(t, root, "git", "rev-parse", "HEAD"))
	clone := filepath.Join(t.TempDir(), "jt")
	sh(t, "", "git", "clone", "-q", root, clone)
	bin := filepath.Join(t.TempDir(), "x")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	// -buildvcs=auto is go's default: a go env file (as on some build
	// machines) may turn it off for everything else.
	cmd.Dir, cmd.Env = clone, append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	got := sh(t, clone, bin, "--version")
	if want := "(commit " + head[:12] + ")"; !strings.Contains(got, want) || !strings.HasPrefix(got, "jt version v") {
		t.Errorf("go build in a clean clone: jt --version says %q, want the version and %s", got, want)
	}
}
