package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mitchellh/go-homedir"
)

const good = `# comment
[defaults]
mux = "tmux"
timeout = "90s"

[hosts.gpu]
host = "alice@gpu1.example.org"
jump = "bastion,inner"
ssh_options = ["IdentityFile=~/.ssh/id_gpu", "Compression=yes"]
dir = "~/proj"
port = 9000
local_port = 18888
flavour = "lab"
cmd = "jupyter lab --x=1"
name = "exp"
tcp = true
conda = "torch"
venv = "~/venv"
modules = ["python/3.11"]
setup = [
  "export A=1",
  "source ~/env.sh",
]

[hosts."cpu.local"]
mux = "none"

[hosts]
bare.port = 1234
`

func TestParseGood(t *testing.T) {
	f, err := Parse("/x/config.toml", good)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names; !reflect.DeepEqual(got, []string{"bare", "cpu.local", "gpu"}) {
		t.Errorf("profiles %v", got)
	}
	gpu := f.Profiles["gpu"]
	want := map[string]any{
		"host": "alice@gpu1.example.org", "jump": "bastion,inner", "dir": "~/proj", "port": 9000,
		"local_port": 18888, "flavour": "lab", "cmd": "jupyter lab --x=1", "name": "exp", "tcp": true,
		"conda": "torch", "venv": "~/venv", "modules": []string{"python/3.11"},
		"setup":       []string{"export A=1", "source ~/env.sh"},
		"ssh_options": []string{"IdentityFile=~/.ssh/id_gpu", "Compression=yes"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(gpu[k].V, v) {
			t.Errorf("gpu.%s = %#v, want %#v", k, gpu[k].V, v)
		}
	}
	if gpu["port"].Line != 11 || gpu["setup"].Line != 20 {
		t.Errorf("lines: port %d (want 11), setup %d (want 20)", gpu["port"].Line, gpu["setup"].Line)
	}
	if f.Defaults["timeout"].V != 90*time.Second || f.Defaults["console"].Line != 3 || len(f.Notices) != 2 {
		t.Errorf("defaults %+v", f.Defaults)
	}
	if f.Profiles["cpu.local"]["console"].V != "none" || f.Profiles["bare"]["port"].V != 1234 || f.Profiles["bare"]["port"].Line != 29 {
		t.Errorf("quoted or dotted profiles: %+v %+v", f.Profiles["cpu.local"], f.Profiles["bare"])
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown key", "[hosts.gpu]\nhost = \"a\"\nprot = 8888\n", `/c.toml:3: unknown key "prot" in [hosts.gpu] (did you mean "port"?)`},
		{"dash instead of underscore", "[defaults]\nlocal-port = 1\n", `/c.toml:2: unknown key "local-port" in [defaults] (did you mean "local_port"?)`},
		{"no near miss", "[defaults]\nwhatever = 1\n", `/c.toml:2: unknown key "whatever" in [defaults]`},
		{"wrong type", "[hosts.gpu]\n\n\nport = \"8888\"\n", `/c.toml:4: key "port" in [hosts.gpu] must be an integer, not a string ("8888")`},
		{"wrong element type", "[hosts.gpu]\nmodules = [\"a\", 3]\n", `/c.toml:2: key "modules" in [hosts.gpu] must be an array of strings, but element 2 is an integer (3)`},
		{"string for a list", "[hosts.gpu]\nsetup = \"export A=1\"\n", `/c.toml:2: key "setup" in [hosts.gpu] must be an array of strings, not a string ("export A=1")`},
		{"syntax", "[hosts.gpu]\nport = 1\ndir = \"unterminated\n", `/c.toml:3: TOML syntax error: `},
		{"syntax bad table", "[hosts.gpu\n", `/c.toml:1: TOML syntax error: `},
		{"top level", "[default]\nmux = \"tmux\"\n", `/c.toml:1: unknown key "default" at the top level (did you mean "defaults"?)`},
		{"host in defaults", "[defaults]\nhost = \"x\"\n", `/c.toml:2: key "host" belongs in a [hosts.NAME] profile, not in [defaults]`},
		{"bad mux", "[hosts.a]\nmux = \"tmx\"\n", `/c.toml:2: key "console" in [hosts.a]: "tmx" is not one of auto, screen, tmux, none (did you mean "tmux"?)`},
		{"bad flavour", "[hosts.a]\nflavour = \"jupyterlab\"\n", `/c.toml:2: key "flavour" in [hosts.a]: "jupyterlab" is not one of notebook, lab, server`},
		{"ssh option not k=v", "[hosts.a]\nssh_options = [\"-oProxyCommand=x\"]\n", `/c.toml:2: key "ssh_options" in [hosts.a]: "-oProxyCommand=x" is not Key=Value`},
		{"ssh option newline", "[hosts.a]\nssh_options = [\"User=a\\nHost *\"]\n", `contains a NUL or newline`},
		{"ssh option jt's own", "[hosts.a]\nssh_options = [\"ControlPath=/tmp/x\"]\n", `ControlPath is set by jt itself`},
		{"bad host", "[hosts.a]\nhost = \"-oProxyCommand=x\"\n", `/c.toml:2: key "host" in [hosts.a]: host "-oProxyCommand=x" starts with '-'`},
		{"bad jump", "[hosts.a]\njump = \"ok,$(x)\"\n", `/c.toml:2: key "jump" in [hosts.a]: host "$(x)" contains`},
		{"bad profile name", "[hosts.\"a b\"]\nport = 1\n", `/c.toml:1: profile name "a b" is not valid`},
		{"bad duration", "[defaults]\ntimeout = \"soon\"\n", `/c.toml:2: key "timeout" in [defaults]: "soon" is not a duration`},
		{"bad container runtime", "[hosts.a]\ncontainer_runtime = \"lxc\"\n", `/c.toml:2: key "container_runtime" in [hosts.a]: "lxc" is not one of auto, apptainer, singularity, podman, charliecloud, docker`},
		{"bad container image", "[hosts.a]\ncontainer = \"/img/$(x)\"\n", `/c.toml:2: key "container" in [hosts.a]: "/img/$(x)" is not a plain path`},
		{"container args jt owns", "[hosts.a]\ncontainer_args = [\"--network=bridge\"]\n", `/c.toml:2: key "container_args" in [hosts.a]: container_args: "--network" is jt's to set`},
		{"port range", "[defaults]\nport = 70000\n", `/c.toml:2: key "port" in [defaults]: 70000 is out of range`},
		{"nested table", "[hosts.a.b]\nport = 1\n", `/c.toml:1: unknown key "b" in [hosts.a]`},
		{"dir ~user", "[hosts.a]\ndir = \"~bob/x\"\n", `~user is not supported`},
		{"hosts not a table", "hosts = 3\n", `/c.toml:1: "hosts" must be a table`},
		{"profile not a table", "[hosts]\ngpu = 3\n", `/c.toml:2: hosts.gpu must be a table`},
		{"first mistake in file order", "[hosts.b]\nzzz = 1\n[hosts.a]\naaa = 1\n", `/c.toml:2: unknown key "zzz" in [hosts.b]`},
		{"jump in defaults", "[defaults]\njump = \"b\"\n", `/c.toml:2: key "jump" belongs in a [hosts.NAME] profile, not in [defaults] (ssh settings for every host belong in ~/.ssh/config, under Host *)`},
		{"session name", "[hosts.a]\nname = \"../x\"\n", `session name "../x" is not valid`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/c.toml", tc.text)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// Every key of the example is commented out: it parses and sets nothing,
// and once uncommented it is valid too.
func TestExample(t *testing.T) {
	f, err := Parse("/e.toml", Example)
	if err != nil || len(f.Names) != 0 || len(f.Defaults) != 0 {
		t.Fatalf("example: %v, %+v", err, f)
	}
	var b strings.Builder
	for _, l := range strings.Split(Example, "\n") {
		if strings.HasPrefix(l, "# ") && (strings.Contains(l, " = ") || strings.HasPrefix(l, "# [")) && !strings.HasPrefix(l, "# # ") {
			l = strings.TrimPrefix(l, "# ")
		}
		b.WriteString(l + "\n")
	}
	f, err = Parse("/e.toml", b.String())
	if err != nil {
		t.Fatalf("uncommented example: %v\n%s", err, b.String())
	}
	if len(f.Profiles["gpu"]) != len(Keys) {
		t.Errorf("the example shows %d keys of %d", len(f.Profiles["gpu"]), len(Keys))
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jt", "config.toml")
	if err := Init(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != Example {
		t.Errorf("init wrote %q", data)
	}
	os.WriteFile(path, []byte("mine"), 0o600)
	if err := Init(path); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second init: %v, want a refusal", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "mine" {
		t.Errorf("init overwrote the file: %q", data)
	}
}

func TestLoadMissing(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if err != nil || f.Exists || len(f.Profiles) != 0 {
		t.Fatalf("missing file: %+v, %v", f, err)
	}
}

func TestPath(t *testing.T) {
	homedir.DisableCache = true
	defer func() { homedir.DisableCache = false }()
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if p, _ := Path(); p != "/xdg/jt/config.toml" {
		t.Errorf("Path() = %s", p)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	if p, _ := Path(); p != "/home/u/.config/jt/config.toml" {
		t.Errorf("Path() with a relative XDG_CONFIG_HOME = %s", p)
	}
	if d := Display("/home/u/.config/jt/config.toml"); d != "~/.config/jt/config.toml" {
		t.Errorf("Display = %s", d)
	}
}

func TestRenamedKey(t *testing.T) {
	f := &File{Path: "/c.toml", Defaults: Table{}, Profiles: map[string]Table{}}
	if err := parse(f, "[hosts.a]\nmux = \"tmux\"\n"); err != nil {
		t.Fatal(err)
	}
	if v := f.Profiles["a"]["console"]; v.V != "tmux" || v.Line != 2 {
		t.Errorf("mux = \"tmux\" read as %+v, want console tmux at line 2", v)
	}
	if len(f.Notices) != 1 || f.Notices[0] != `/c.toml:2: key "mux" is now called "console"; the old name still works` {
		t.Errorf("notices %q", f.Notices)
	}
	f = &File{Path: "/c.toml", Defaults: Table{}, Profiles: map[string]Table{}}
	err := parse(f, "[hosts.a]\nconsole = \"tmux\"\nmux = \"none\"\n")
	if err == nil || !strings.Contains(err.Error(), `/c.toml:3: key "mux" is the old name of "console"`) {
		t.Errorf("both names: %v", err)
	}
}
