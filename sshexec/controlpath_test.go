package sshexec_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jt-sh/jt/sshexec"
)

// maxDirLen is the longest control directory CheckControlPath accepts:
// dir + "/cm-" + 40 hex characters must fit in ControlPathMax.
func maxDirLen() int { return sshexec.ControlPathMax() - len("/cm-") - 40 }

func TestCheckControlPath(t *testing.T) {
	n := maxDirLen()
	fits := "/" + strings.Repeat("d", n-1)
	tooLong := fits + "d"
	if err := sshexec.CheckControlPath(sshexec.ControlPathPattern(fits)); err != nil {
		t.Errorf("a %d-byte dir is refused: %v", len(fits), err)
	}
	err := sshexec.CheckControlPath(sshexec.ControlPathPattern(tooLong))
	if err == nil {
		t.Fatalf("a %d-byte dir is accepted; its socket path would not fit", len(tooLong))
	}
	if !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
		t.Errorf("the error does not say what to do: %v", err)
	}
	if err := sshexec.CheckControlPath(sshexec.ControlPathPattern("/" + strings.Repeat("x", 4096))); err == nil {
		t.Errorf("a 4 kB dir is accepted")
	}
}

// TestControlPathMaxMatchesKernel binds the longest socket the master would
// bind (<dir>/cm-<40 hex>.<16 random>) for the longest accepted dir: the
// kernel must take it. One byte more must not fit in sun_path, or the
// limit is needlessly strict.
func TestControlPathMaxMatchesKernel(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sun_path size checked on Linux only")
	}
	base, err := os.MkdirTemp("/tmp", "jtcp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := base + "/" + strings.Repeat("d", maxDirLen()-len(base)-1)
	if len(dir) != maxDirLen() {
		t.Fatalf("built a %d-byte dir, want %d", len(dir), maxDirLen())
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := sshexec.CheckControlPath(sshexec.ControlPathPattern(dir)); err != nil {
		t.Fatal(err)
	}
	sock := dir + "/cm-" + strings.Repeat("a", 40) + "." + strings.Repeat("r", 16)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("the master's temporary socket (%d bytes) cannot be bound: %v", len(sock), err)
	}
	l.Close()
	if l, err := net.Listen("unix", sock+"x"); err == nil {
		l.Close()
		t.Errorf("a %d-byte socket path binds too: ControlPathMax is off by one", len(sock)+1)
	}
}

func TestControlDir(t *testing.T) {
	long := "/" + strings.Repeat("l", maxDirLen())
	got, err := sshexec.ControlDir([]string{"", "relative/dir", long, "/tmp/jt-a", "/tmp/jt-b"})
	if err != nil || got != "/tmp/jt-a" {
		t.Errorf("ControlDir = %q, %v; want /tmp/jt-a", got, err)
	}
	got, err = sshexec.ControlDir([]string{"/run/user/1000/jt"})
	if err != nil || got != "/run/user/1000/jt" {
		t.Errorf("ControlDir = %q, %v; want the first candidate", got, err)
	}
	_, err = sshexec.ControlDir([]string{long, long + "2", "rel"})
	if err == nil {
		t.Fatal("ControlDir accepted only too-long or relative candidates")
	}
	if !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
		t.Errorf("the error does not say what to do: %v", err)
	}
	if _, err := sshexec.ControlDir(nil); err == nil {
		t.Error("ControlDir(nil) = nil error")
	}
}

func TestDefaultControlDirs(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1234")
	dirs := sshexec.DefaultControlDirs("/home/a/.local/state/jt")
	if len(dirs) < 2 || dirs[0] != "/run/user/1234/jt" || dirs[1] != "/home/a/.local/state/jt/cm" {
		t.Errorf("DefaultControlDirs = %q", dirs)
	}
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			t.Errorf("relative candidate %q", d)
		}
	}
}

func TestSecureDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions")
	}
	base := t.TempDir()

	t.Run("creates 0700", func(t *testing.T) {
		dir := filepath.Join(base, "new", "cm")
		if err := sshexec.SecureDir(dir); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("created with mode %v", fi.Mode().Perm())
		}
		// A second call accepts what the first made.
		if err := sshexec.SecureDir(dir); err != nil {
			t.Errorf("second call: %v", err)
		}
	})

	t.Run("symlink", func(t *testing.T) {
		target := filepath.Join(base, "target")
		if err := os.Mkdir(target, 0o700); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(base, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		err := sshexec.SecureDir(link)
		if !errors.Is(err, sshexec.ErrUnsafeDir) {
			t.Errorf("SecureDir(symlink) = %v, want ErrUnsafeDir", err)
		}
	})

	t.Run("0777", func(t *testing.T) {
		dir := filepath.Join(base, "open")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		err := sshexec.SecureDir(dir)
		if !errors.Is(err, sshexec.ErrUnsafeDir) {
			t.Errorf("SecureDir(0777) = %v, want ErrUnsafeDir", err)
		}
		if err != nil && !strings.Contains(err.Error(), "chmod 700") {
			t.Errorf("no fix given: %v", err)
		}
	})

	t.Run("group readable", func(t *testing.T) {
		dir := filepath.Join(base, "group")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := sshexec.SecureDir(dir); !errors.Is(err, sshexec.ErrUnsafeDir) {
			t.Errorf("SecureDir(0750) = %v, want ErrUnsafeDir", err)
		}
	})

	t.Run("a file", func(t *testing.T) {
		f := filepath.Join(base, "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := sshexec.SecureDir(f); !errors.Is(err, sshexec.ErrUnsafeDir) {
			t.Errorf("SecureDir(file) = %v, want ErrUnsafeDir", err)
		}
	})

	t.Run("other owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("chown to another uid needs root")
		}
		dir := filepath.Join(base, "theirs")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		err := sshexec.SecureDir(dir)
		if !errors.Is(err, sshexec.ErrUnsafeDir) {
			t.Errorf("SecureDir(owned by 65534) = %v, want ErrUnsafeDir", err)
		}
	})
}

func TestCheckSocket(t *testing.T) {
	dir := t.TempDir()
	if err := sshexec.CheckSocket(filepath.Join(dir, "none")); err != nil {
		t.Errorf("missing path: %v", err)
	}
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sshexec.CheckSocket(f); !errors.Is(err, sshexec.ErrUnsafeDir) {
		t.Errorf("regular file: %v, want ErrUnsafeDir", err)
	}
	s := filepath.Join(dir, "s")
	l, err := net.Listen("unix", s)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := sshexec.CheckSocket(s); err != nil {
		t.Errorf("a socket: %v", err)
	}
}

// A control path that is a plain file (or anything but a socket) is refused
// before ssh could trip over it; sockets and other names are fine.
func TestCheckControlDir(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "cm-0123"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.WriteFile(filepath.Join(dir, "lock-x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sshexec.CheckControlDir(dir); err != nil {
		t.Fatalf("a socket and a lock file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cm-bad"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sshexec.CheckControlDir(dir); !errors.Is(err, sshexec.ErrUnsafeDir) {
		t.Fatalf("a plain file cm-bad: %v, want ErrUnsafeDir", err)
	}
}
