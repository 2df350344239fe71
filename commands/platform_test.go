package commands

import (
	"errors"
	"path/filepath"
	"testing"
)

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
