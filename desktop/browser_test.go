package desktop

import (
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
