package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ArchiveDir is the top directory of t's archive, and its name without
// the extension.
func (r *Release) ArchiveDir(t Target) string {
	return fmt.Sprintf("jt-%s-%s-%s", r.Version, t.OS, t.Arch)
}

// ArchiveName is t's archive: a zip for Windows, else a tar.gz.
func (r *Release) ArchiveName(t Target) string {
	if t.OS == "windows" {
		return r.ArchiveDir(t) + ".zip"
	}
	return r.ArchiveDir(t) + ".tar.gz"
}

// pack writes t's archive and, for Linux, its packages.
func (r *Release) pack(t Target) error {
	bin, err := os.ReadFile(r.Binaries[t])
	if err != nil {
		return err
	}
	entries := []entry{{t.exe(), 0o755, bin}}
	for _, d := range r.Docs {
		if d.Archive != "" {
			entries = append(entries, entry{d.Archive, 0o644, d.Data})
		}
	}
	var archive bytes.Buffer
	if t.OS == "windows" {
		err = writeZip(&archive, r.ArchiveDir(t), entries, r.Time)
	} else {
		err = writeTarGz(&archive, r.ArchiveDir(t), entries, r.Time)
	}
	if err != nil {
		return err
	}
	if err := r.add(r.ArchiveName(t), t, "archive", archive.Bytes()); err != nil {
		return err
	}
	if t.OS != "linux" {
		return nil
	}
	for _, format := range []string{"deb", "rpm"} {
		name, data, err := r.linuxPackage(format, t)
		if err != nil {
			return err
		}
		if err := r.add(name, t, format, data); err != nil {
			return err
		}
	}
	return nil
}

// add writes an artifact to Out and records it with its checksum.
func (r *Release) add(name string, t Target, kind string, data []byte) error {
	if err := os.WriteFile(filepath.Join(r.Out, name), data, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	r.Artifacts = append(r.Artifacts, Artifact{Name: name, Target: t, Kind: kind, SHA256: hex.EncodeToString(sum[:])})
	return nil
}

// writeSums writes SHA256SUMS, as sha256sum prints it (sha256sum -c
// checks it).
func (r *Release) writeSums() error {
	sort.Slice(r.Artifacts, func(i, j int) bool { return r.Artifacts[i].Name < r.Artifacts[j].Name })
	lines := make([]string, 0, len(r.Artifacts))
	for _, a := range r.Artifacts {
		lines = append(lines, a.SHA256+"  "+a.Name+"\n")
	}
	return os.WriteFile(filepath.Join(r.Out, "SHA256SUMS"), []byte(strings.Join(lines, "")), 0o644)
}

// entry is one file of an archive, under its top directory.
type entry struct {
	Path string
	Mode int64
	Data []byte
}

// dirs are the directories entries need, parents first.
func dirs(top string, entries []entry) []string {
	seen := map[string]bool{top: true}
	out := []string{top}
	for _, e := range entries {
		var parts []string
		for d := filepath.ToSlash(filepath.Dir(e.Path)); d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
			parts = append([]string{top + "/" + d}, parts...)
		}
		for _, p := range parts {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

func writeTarGz(w io.Writer, top string, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	header := func(name string, mode int64, size int, typ byte) *tar.Header {
		return &tar.Header{Name: name, Mode: mode, Size: int64(size), Typeflag: typ, ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX}
	}
	for _, d := range dirs(top, entries) {
		if err := tw.WriteHeader(header(d+"/", 0o755, 0, tar.TypeDir)); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := tw.WriteHeader(header(top+"/"+e.Path, e.Mode, len(e.Data), tar.TypeReg)); err != nil {
			return err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, top string, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, d := range dirs(top, entries) {
		h := &zip.FileHeader{Name: d + "/", Modified: mtime}
		h.SetMode(os.ModeDir | 0o755)
		if _, err := zw.CreateHeader(h); err != nil {
			return err
		}
	}
	for _, e := range entries {
		h := &zip.FileHeader{Name: top + "/" + e.Path, Method: zip.Deflate, Modified: mtime}
		h.SetMode(os.FileMode(e.Mode))
		f, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := f.Write(e.Data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// gzipped is data compressed as gzip -n does (no name, a fixed date).
func gzipped(data []byte, mtime time.Time) ([]byte, error) {
	var b bytes.Buffer
	gz, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	gz.ModTime = mtime
	if _, err := gz.Write(data); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
