package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A release of made-up artifacts, for the manifests' own tests.
func fakeRelease() *Release {
	r := &Release{Source: Source{Version: "v1.2.3", Commit: "44ffa4e986dc", Time: time.Unix(1700000000, 0).UTC()}}
	for i, t := range Targets {
		r.Artifacts = append(r.Artifacts, Artifact{Name: r.ArchiveName(t), Target: t, Kind: "archive", SHA256: strings.Repeat(string(rune('a'+i)), 64)})
	}
	return r
}

// brewPair is a url line and the sha256 line after it.
var brewPair = regexp.MustCompile(`url "([^"]+)"\s+sha256 "([0-9a-f]{64})"`)

func TestFormula(t *testing.T) {
	r := fakeRelease()
	rb, err := r.Formula()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range brewPair.FindAllStringSubmatch(string(rb), -1) {
		got[m[1]] = m[2]
	}
	for _, a := range r.Artifacts {
		want := a.Target.OS == "darwin" || a.Target.OS == "linux"
		if sum, ok := got[URLBase+"/v1.2.3/"+a.Name]; ok != want || (ok && sum != a.SHA256) {
			t.Errorf("formula: %s listed %v (sha256 %q), want listed %v with %s:\n%s", a.Name, ok, sum, want, a.SHA256, rb)
		}
	}
	for _, want := range []string{`version "1.2.3"`, `on_macos do`, `on_arm do`, `man1.install "man/jt.1"`, `jt version v1.2.3 (commit 44ffa4e986dc)`} {
		if !strings.Contains(string(rb), want) {
			t.Errorf("formula lacks %q:\n%s", want, rb)
		}
	}
	rubyParses(t, rb)
}

// rubyParses checks a formula with ruby -c, where ruby is installed (the
// release checks, TestRelease…, need it).
func rubyParses(t *testing.T, rb []byte) {
	t.Helper()
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		if os.Getenv(releaseDirEnv) != "" {
			need(t, "ruby not found on PATH")
		}
		t.Log("ruby not installed: the formula's syntax is not checked here")
		return
	}
	f := filepath.Join(t.TempDir(), "jt.rb")
	if err := os.WriteFile(f, rb, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ruby, "-c", f).CombinedOutput(); err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Fatalf("ruby -c jt.rb: %v\n%s", err, out)
	}
}

func TestDescribeHEAD(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-12-07T12:45:53Z", "GIT_COMMITTER_DATE=2026-12-07T12:45:53Z",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "f")
	git("commit", "-qm", "first")
	head, err := output(dir, "git", "rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	rev := strings.TrimSpace(head)[:12]
	check := func(what, version, wantVersion, wantCommit string) {
		t.Helper()
		s, err := describeHEAD(dir, version)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if s.Version != wantVersion || s.Commit != wantCommit || !s.Time.Equal(time.Date(2026, 12, 7, 12, 45, 53, 0, time.UTC)) {
			t.Errorf("%s: got %+v, want version %s, commit %s", what, s, wantVersion, wantCommit)
		}
	}
	check("no tag", "", "v0.0.0-20261207124553-"+rev, rev)
	git("tag", "v1.2.3")
	check("a tag", "", "v1.2.3", rev)
	check("a version given", "v2.0.0-rc1", "v2.0.0-rc1", rev)
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("changes", "", "v1.2.3+dirty", rev+"-dirty")
	if _, err := describeHEAD(dir, "1.2.3 x"); err == nil {
		t.Error("version \"1.2.3 x\" accepted")
	}
}
