package desktop

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNotifyCommandFor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	all := func(string) (string, error) { return "/usr/bin/x", nil }
	none := func(string) (string, error) { return "", errors.New("not found") }
	desktop := env("DISPLAY", ":0", "DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")
	title, body := `jt: a on "h" ends in 2m`, `session a on h: job 12 ends in 1m59s; it's \ late`

	if got := notifyCommandFor("linux", desktop, all, title, body); !slices.Equal(got, []string{"notify-send", "--app-name=jt", "--", title, body}) {
		t.Errorf("linux desktop: %q", got)
	}
	wayland := env("WAYLAND_DISPLAY", "wayland-0", "XDG_RUNTIME_DIR", "/run/user/1000")
	if got := notifyCommandFor("freebsd", wayland, all, title, body); len(got) == 0 || got[0] != "notify-send" {
		t.Errorf("wayland: %q", got)
	}
	for name, c := range map[string]struct {
		goos   string
		getenv func(string) string
		look   func(string) (string, error)
	}{
		"linux over ssh, no display": {"linux", env("DBUS_SESSION_BUS_ADDRESS", "x"), all},
		"linux display, no bus":      {"linux", env("DISPLAY", ":0"), all},
		"linux without notify-send":  {"linux", desktop, none},
		"macOS without osascript":    {"darwin", env(), none},
		"windows without powershell": {"windows", env(), none},
	} {
		if got := notifyCommandFor(c.goos, c.getenv, c.look, title, body); got != nil {
			t.Errorf("%s: %q, want no notifier", name, got)
		}
	}

	mac := notifyCommandFor("darwin", env(), all, title, body)
	if len(mac) != 3 || mac[0] != "osascript" || mac[1] != "-e" ||
		mac[2] != `display notification "session a on h: job 12 ends in 1m59s; it's \\ late" with title "jt: a on \"h\" ends in 2m"` {
		t.Errorf("macOS: %q", mac)
	}
	win := notifyCommandFor("windows", env(), all, title, body)
	if len(win) != 5 || win[0] != "powershell" || win[3] != "-Command" ||
		!strings.Contains(win[4], `CreateTextNode('session a on h: job 12 ends in 1m59s; it''s \ late')`) ||
		!strings.Contains(win[4], `CreateTextNode('jt: a on "h" ends in 2m')`) {
		t.Errorf("windows: %q", win)
	}
	// A newline cannot end the script's string early.
	if w := notifyCommandFor("windows", env(), all, "a\n'); evil; ('", "b"); strings.Contains(w[4], "\n") || !strings.Contains(w[4], `'a ''); evil; ('''`) {
		t.Errorf("windows quoting: %q", w[4])
	}
}

// A machine without a notifier: notify returns, nothing fails.
func TestNotifyWithoutNotifier(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	Notify("jt: title", "body")
}
