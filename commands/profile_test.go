package commands

import (
	"reflect"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
)

const profileConfig = `[defaults]
mux = "tmux"
timeout = "90s"
flavour = "server"
setup = ["export FROM=defaults"]

[hosts.gpu]
host = "alice@gpu1"
jump = "bastion"
ssh_options = ["IdentityFile=~/.ssh/id_gpu"]
dir = "~/proj"
port = 9000
name = "exp"
cmd = "jupyter lab --x"
venv = "~/venv"
setup = ["export FROM=profile"]
`

// settingsFor runs a command with jt open's setting flags on args and
// returns what it resolved for its argument.
func settingsFor(t *testing.T, cfg *config.File, args ...string) ([]setting, session.OpenRequest, error) {
	t.Helper()
	var ss []setting
	var o session.OpenRequest
	var rerr error
	app := &cli.App{Name: "jt", Commands: []*cli.Command{{
		Name: "open", Flags: settingFlags(),
		Action: func(c *cli.Context) error {
			ss, rerr = resolveSettings(c, cfg, c.Args().First())
			if rerr == nil {
				o, rerr = openSettings(c, cfg, c.Args().First())
			}
			return nil
		},
	}}}
	if err := app.Run(append([]string{"jt", "open"}, args...)); err != nil {
		t.Fatal(err)
	}
	return ss, o, rerr
}

func sources(ss []setting) map[string]string {
	m := map[string]string{}
	for _, s := range ss {
		m[s.Key] = s.Source
	}
	return m
}

func TestPrecedence(t *testing.T) {
	cfg, err := config.Parse("/c.toml", profileConfig)
	if err != nil {
		t.Fatal(err)
	}

	// The profile over [defaults] over built-in; no flags given.
	ss, o, err := settingsFor(t, cfg, "gpu")
	if err != nil {
		t.Fatal(err)
	}
	want := session.OpenRequest{Host: "gpu", Name: "exp", Dir: "~/proj", Flavour: "server", Command: "jupyter lab --x",
		Port: 9000, Timeout: 90 * time.Second, Console: "tmux", Warn: "15m,2m"}
	want.Env.Setup, want.Env.Venv = []string{"export FROM=profile"}, "~/venv"
	want.Env.Container.Runtime = "auto"
	if !reflect.DeepEqual(o, want) {
		t.Errorf("options\n got %+v\nwant %+v", o, want)
	}
	src := sources(ss)
	for k, v := range map[string]string{"dir": fromProfile, "port": fromProfile, "console": fromDefaults, "timeout": fromDefaults,
		"flavour": fromDefaults, "setup": fromProfile, "tcp": fromBuiltin, "local_port": fromBuiltin} {
		if src[k] != v {
			t.Errorf("%s comes from %s, want %s", k, src[k], v)
		}
	}

	// Only flags the user set override, short names too; --lab drops the
	// config's cmd, which would otherwise run instead of the flavour.
	ss, o, err = settingsFor(t, cfg, "-n", "other", "--console", "none", "--lab", "-p", "0", "gpu")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "other" || o.Console != "none" || o.Flavour != "lab" || o.Command != "" || o.Port != 0 || o.Dir != "~/proj" || o.Timeout != 90*time.Second {
		t.Errorf("with flags: %+v", o)
	}
	src = sources(ss)
	for k, v := range map[string]string{"name": fromFlag, "console": fromFlag, "flavour": fromFlag, "cmd": fromFlag, "port": fromFlag, "dir": fromProfile} {
		if src[k] != v {
			t.Errorf("with flags: %s comes from %s, want %s", k, src[k], v)
		}
	}

	// Not a profile: [defaults] and built-in values, the name as destination.
	_, o, _ = settingsFor(t, cfg, "user@elsewhere")
	if o.Host != "user@elsewhere" || o.Name != "default" || o.Console != "tmux" || o.Env.Setup[0] != "export FROM=defaults" || o.Env.Venv != "" {
		t.Errorf("not a profile: %+v", o)
	}

	// No config file at all: jt's own values, mux auto.
	_, o, _ = settingsFor(t, nil, "host1")
	if o.Console != "auto" || o.Flavour != "notebook" || o.Timeout != 60*time.Second || o.Name != "default" {
		t.Errorf("built-in: %+v", o)
	}

	if _, _, err := settingsFor(t, cfg, "--lab", "--server", "gpu"); err == nil {
		t.Error("--lab --server: no error")
	}
}

func TestRoutes(t *testing.T) {
	cfg, err := config.Parse("/c.toml", profileConfig+"\n[hosts.plain]\n")
	if err != nil {
		t.Fatal(err)
	}
	got := routes(cfg)
	want := map[string]sshexec.Route{
		"gpu":   {Dest: "alice@gpu1", Options: []string{"ProxyJump=bastion", "IdentityFile=~/.ssh/id_gpu"}},
		"plain": {Dest: "plain"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes %+v, want %+v", got, want)
	}
}
