package sshexec

import (
	"strings"
	"testing"
)

// The socket-path limit and the choice of control directory, for each
// laptop platform, decided here without needing that platform.
func TestControlDirPerPlatform(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	macHome := "/Users/a.very.long.user.name.from.the.directory.service"
	cases := []struct {
		goos, runtimeDir, stateDir string
		want                       string
	}{
		{"linux", "/run/user/1000", "/home/u/.local/state/jt", "/run/user/1000/jt"},
		{"linux", "", "/home/u/.local/state/jt", "/home/u/.local/state/jt/cm"},
		// macOS: no XDG_RUNTIME_DIR, a long home: never $TMPDIR, /tmp/jt-UID.
		{"darwin", "", macHome + "/.local/state/jt", "/tmp/jt-501"},
		{"darwin", "", "/Users/ann/.local/state/jt", "/Users/ann/.local/state/jt/cm"},
		{"windows", "", `C:\Users\ann\AppData\Roaming\jt`, `C:\Users\ann\AppData\Roaming\jt` + "/cm"},
	}
	for _, c := range cases {
		dirs := controlDirsFor(c.goos, env(map[string]string{"XDG_RUNTIME_DIR": c.runtimeDir, "TMPDIR": "/var/folders/xy/abcdefgh/T/"}), c.stateDir, 501)
		for _, d := range dirs {
			if strings.HasPrefix(d, "/var/folders") {
				t.Errorf("%s: $TMPDIR offered for control sockets: %v", c.goos, dirs)
			}
		}
		if c.goos == "windows" {
			for _, d := range dirs {
				if strings.HasPrefix(d, "/tmp") {
					t.Errorf("windows offered %s", d)
				}
			}
			continue
		}
		got, err := controlDirFor(c.goos, dirs)
		if err != nil || got != c.want {
			t.Errorf("%s %q/%q: %q, %v; want %q", c.goos, c.runtimeDir, c.stateDir, got, err, c.want)
		}
		if err := checkControlPathFor(c.goos, ControlPathPattern(got)); err != nil {
			t.Errorf("%s: chosen %s is too long: %v", c.goos, got, err)
		}
	}
	if linux, mac := controlPathMaxFor("linux"), controlPathMaxFor("darwin"); linux != 90 || mac != 86 {
		t.Errorf("control path limits linux %d darwin %d, want 90 and 86", linux, mac)
	}
	// 45 bytes of directory fit on Linux (45+4+40 = 89) but not on macOS.
	dir := "/" + strings.Repeat("d", 44)
	if checkControlPathFor("linux", ControlPathPattern(dir)) != nil || checkControlPathFor("darwin", ControlPathPattern(dir)) == nil {
		t.Errorf("a %d-byte directory: want fits on linux, too long on darwin", len(dir))
	}
}
