package commands

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestBrowserPerPlatform(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	page := "/run/user/1000/jt/open-default.html"
	cases := []struct {
		name string
		goos string
		vars map[string]string
		want []string
	}{
		{"linux with X", "linux", map[string]string{"DISPLAY": ":0"}, []string{"xdg-open", page}},
		{"linux with Wayland", "linux", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, []string{"xdg-open", page}},
		{"linux without a display", "linux", nil, nil},
		{"macOS", "darwin", nil, []string{"open", page}},
		{"windows", "windows", nil, []string{"rundll32", "url.dll,FileProtocolHandler", page}},
		{"$BROWSER wins", "darwin", map[string]string{"BROWSER": "firefox"}, []string{"firefox", page}},
		{"$BROWSER without a display", "linux", map[string]string{"BROWSER": "w3m"}, []string{"w3m", page}},
		{"$BROWSER with %s", "linux", map[string]string{"BROWSER": "chromium --new-window %s"}, []string{"chromium", "--new-window", page}},
		{"$BROWSER list, first taken", "linux", map[string]string{"BROWSER": "firefox:chromium"}, []string{"firefox", page}},
		{"$BROWSER list on windows", "windows", map[string]string{"BROWSER": `C:\ff\firefox.exe;edge`}, []string{`C:\ff\firefox.exe`, page}},
	}
	for _, c := range cases {
		got := browserCommandFor(c.goos, env(c.vars), page)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestStateDirPerPlatform(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	home := func() (string, error) { return "/home/ann", nil }
	appData := func() (string, error) { return `C:\Users\ann\AppData\Roaming`, nil }
	noAppData := func() (string, error) { return "", errors.New("%AppData% is not defined") }
	cases := []struct {
		goos    string
		vars    map[string]string
		appData func() (string, error)
		want    string
	}{
		{"linux", nil, appData, filepath.Join("/home/ann", ".local", "state", "jt")},
		{"linux", map[string]string{"XDG_STATE_HOME": "/s"}, appData, filepath.Join("/s", "jt")},
		{"linux", map[string]string{"XDG_STATE_HOME": "relative"}, appData, filepath.Join("/home/ann", ".local", "state", "jt")},
		{"darwin", nil, appData, filepath.Join("/home/ann", ".local", "state", "jt")},
		{"windows", nil, appData, filepath.Join(`C:\Users\ann\AppData\Roaming`, "jt")},
	}
	for _, c := range cases {
		got, err := stateDirFor(c.goos, env(c.vars), home, c.appData)
		if err != nil || got != c.want {
			t.Errorf("%s %v: %q, %v; want %q", c.goos, c.vars, got, err, c.want)
		}
	}
	if _, err := stateDirFor("windows", env(nil), home, noAppData); err == nil {
		t.Error("windows without %AppData%: no error")
	}
}
