package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// What the packages say of themselves. There is no LICENSE file, so the
// packages name no license.
const (
	Homepage    = "https://github.com/jt-sh/jt"
	Maintainer  = "jt maintainers <https://github.com/jt-sh/jt/issues>"
	Description = "Jupyter on machines you reach over SSH, in one command"
)

// sshClient is the package that provides ssh, which jt runs.
var sshClient = map[string]string{"deb": "openssh-client", "rpm": "openssh-clients"}

// PackageFiles are the files a Linux package installs, in the format's
// places.
func (r *Release) PackageFiles(format string) []string {
	out := []string{"/usr/bin/jt"}
	for _, d := range r.Docs {
		switch {
		case format == "rpm" && d.RPM != "":
			out = append(out, d.RPM)
		case d.Linux != "":
			out = append(out, d.Linux)
		}
	}
	return out
}

// linuxPackage builds t's .deb or .rpm with nfpm, and returns its
// conventional file name (jt_1.2.3-1_amd64.deb, jt-1.2.3-1.x86_64.rpm).
func (r *Release) linuxPackage(format string, t Target) (string, []byte, error) {
	dir := filepath.Join(r.Work, format+"-"+t.Arch)
	contents := files.Contents{r.content(r.Binaries[t], "/usr/bin/jt", 0o755)}
	for i, d := range r.Docs {
		dst := d.Linux
		if format == "rpm" && d.RPM != "" {
			dst = d.RPM
		}
		if dst == "" {
			continue
		}
		src := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(src, d.Data, 0o644); err != nil {
			return "", nil, err
		}
		contents = append(contents, r.content(src, dst, 0o644))
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name: "jt", Arch: t.Arch, Platform: "linux",
		Version: r.Version, Release: "1",
		Maintainer: Maintainer, Description: Description, Homepage: Homepage,
		Section: "utils", MTime: r.Time,
		Overridables: nfpm.Overridables{
			Depends:  []string{sshClient[format]},
			Contents: contents,
			RPM:      nfpm.RPM{Summary: Description, Group: "Applications/System"},
		},
	})
	packager, err := nfpm.Get(format)
	if err != nil {
		return "", nil, err
	}
	var b bytes.Buffer
	if err := packager.Package(info, &b); err != nil {
		return "", nil, fmt.Errorf("%s for %s: %w", format, t.Arch, err)
	}
	return packager.ConventionalFileName(info), b.Bytes(), nil
}

func (r *Release) content(src, dst string, mode os.FileMode) *files.Content {
	return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode, MTime: r.Time}}
}
