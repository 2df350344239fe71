package templates

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wrapScript is the container part of open.sh and the job script around
// a Jupyter command: ct_pick, ct_check, then the wrap, then "$@" run.
func wrapScript(t *testing.T, c Container) string {
	t.Helper()
	var b bytes.Buffer
	data := Open{Env: Env{Container: c}}
	b.WriteString("set -u\njt_node=testhost\n")
	for _, name := range []string{"container"} {
		if err := base().ExecuteTemplate(&b, name, data); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString(`ct_pick || { echo "PICK: $ct_why" >&2; exit 3; }
ct_check || { echo "CHECK: $ct_why" >&2; exit 4; }
cd "$WORK" || exit 5
ct_bind=$BIND ct_name=s-n0nce
set -- jupyter lab --no-browser "--sock=$BIND/jupyter.sock"
`)
	if err := base().ExecuteTemplate(&b, "container_wrap", data); err != nil {
		t.Fatal(err)
	}
	b.WriteString("exec \"$@\"\n")
	return b.String()
}

// runWrap runs the script with fake runtimes on PATH that record their
// argv (NUL-separated, their own name first) in $ARGV, and returns it.
func runWrap(t *testing.T, c Container, home, work, bind string, fakes ...string) ([]string, string, error) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// Only the fakes and id: the host's own runtimes stay out of the way.
	if err := os.Symlink("/usr/bin/id", filepath.Join(bin, "id")); err != nil {
		t.Fatal(err)
	}
	for _, f := range fakes {
		fake := "#!/bin/sh\n" + `printf '%s\0' "${0##*/}" "$@" >"$ARGV"` + "\n"
		if f == "podman" || f == "docker" {
			// "image exists" answers for local names: only "img:1" is there.
			fake = "#!/bin/sh\n" + `[ "$1" = image ] && { [ "$3" = img:1 ]; exit; }` + "\n" + `printf '%s\0' "${0##*/}" "$@" >"$ARGV"` + "\n"
		}
		if err := os.WriteFile(filepath.Join(bin, f), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{home, work, bind} {
		os.MkdirAll(d, 0o700)
	}
	argvFile := filepath.Join(dir, "argv")
	cmd := exec.Command("/bin/sh", "-c", wrapScript(t, c))
	cmd.Env = []string{"PATH=" + bin, "HOME=" + home, "USER=alice", "WORK=" + work, "BIND=" + bind, "ARGV=" + argvFile}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	data, _ := os.ReadFile(argvFile)
	var argv []string
	if len(data) > 0 {
		argv = strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	}
	return argv, stderr.String(), err
}

// The exact command line of each runtime, for a directory or file image,
// a working directory outside the home, the session's directory in it.
func TestContainerArgv(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home", "alice")
	image := filepath.Join(root, "img")
	os.MkdirAll(image, 0o755)
	sif := filepath.Join(root, "j.sif")
	os.WriteFile(sif, nil, 0o644)
	work := filepath.Join(root, "scratch")
	bind := filepath.Join(home, ".local/state/jt/sessions/s/runtime")
	jupyter := []string{"jupyter", "lab", "--no-browser", "--sock=" + bind + "/jupyter.sock"}
	tests := []struct {
		name string
		c    Container
		want []string
	}{
		{"apptainer", Container{Image: sif, Runtime: "apptainer", GPU: true, Args: []string{"--bind", "/data"}},
			[]string{"apptainer", "exec", "--nv", "--bind", work, "--pwd", work, "--bind", "/data", sif}},
		{"singularity", Container{Image: sif, Runtime: "singularity"},
			[]string{"singularity", "exec", "--bind", work, "--pwd", work, sif}},
		{"podman dir", Container{Image: image, Runtime: "podman", Args: []string{"--memory=4g"}},
			[]string{"podman", "run", "--rm", "--name", "jt-s-n0nce", "--pid=host", "--network=host", "--userns=keep-id",
				"--env", "HOME", "--env", "JUPYTER_RUNTIME_DIR", "--env", "JUPYTER_PATH", "--volume", home + ":" + home,
				"--volume", work + ":" + work, "--workdir", work,
				"--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,notmpcopyup", "--tmpfs", "/run:rw,notmpcopyup",
				"--tmpfs", filepath.Dir(home) + ":rw,notmpcopyup", "--memory=4g", "--rootfs", image}},
		{"podman name gpu", Container{Image: "img:1", Runtime: "podman", GPU: true},
			[]string{"podman", "run", "--rm", "--name", "jt-s-n0nce", "--pid=host", "--network=host", "--userns=keep-id",
				"--env", "HOME", "--env", "JUPYTER_RUNTIME_DIR", "--env", "JUPYTER_PATH", "--volume", home + ":" + home,
				"--volume", work + ":" + work, "--workdir", work, "--device", "nvidia.com/gpu=all", "img:1"}},
		{"docker", Container{Image: "img:1", Runtime: "docker", GPU: true},
			[]string{"docker", "run", "--rm", "--name", "jt-s-n0nce", "--pid=host", "--network=host", "--user", uidGid(t),
				"--env", "HOME", "--env", "JUPYTER_RUNTIME_DIR", "--env", "JUPYTER_PATH", "--volume", home + ":" + home,
				"--volume", work + ":" + work, "--workdir", work, "--gpus", "all", "img:1"}},
		{"charliecloud", Container{Image: image, Runtime: "charliecloud", Args: []string{"--set-env=X=1"}},
			// work is under /tmp (t.TempDir), which ch-run binds itself.
			[]string{"ch-run", "--bind", home, "--cd", work, "--set-env=X=1", image, "--"}},
		{"hostile values", Container{Image: image, Runtime: "charliecloud", Args: []string{"$(touch x)", "a b", "'q'"}},
			[]string{"ch-run", "--bind", home, "--cd", work, "$(touch x)", "a b", "'q'", image, "--"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exe := tt.want[0]
			got, stderr, err := runWrap(t, tt.c, home, work, bind, exe)
			if err != nil {
				t.Fatalf("the script: %v\n%s", err, stderr)
			}
			if want := append(slices.Clone(tt.want), jupyter...); !slices.Equal(got, want) {
				t.Errorf("argv\n got %q\nwant %q", got, want)
			}
		})
	}
}

func uidGid(t *testing.T) string {
	out, err := exec.Command("/bin/sh", "-c", `echo "$(id -u):$(id -g)"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// Charliecloud's --home where the home is /home/$USER; no bind for a
// working directory under /tmp, which ch-run binds itself.
func TestContainerArgvCharliecloudHome(t *testing.T) {
	if _, err := os.Stat("/home"); err != nil {
		t.Skip("no /home")
	}
	home := "/home/alice"
	if _, err := os.Stat(home); err == nil {
		t.Skip("/home/alice exists here")
	}
	// HOME is only a value here: the script cds to WORK, not into it.
	image := t.TempDir()
	work := t.TempDir()
	c := Container{Image: image, Runtime: "charliecloud"}
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "ch-run"), []byte("#!/bin/sh\nprintf '%s\\0' \"${0##*/}\" \"$@\" >\"$ARGV\"\n"), 0o755)
	argvFile := filepath.Join(bin, "argv")
	cmd := exec.Command("/bin/sh", "-c", wrapScript(t, c))
	cmd.Env = []string{"PATH=" + bin, "HOME=" + home, "USER=alice", "WORK=" + work, "BIND=" + home + "/s", "ARGV=" + argvFile}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	data, _ := os.ReadFile(argvFile)
	got := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	want := []string{"ch-run", "--home", "--cd", work, image, "--", "jupyter", "lab", "--no-browser", "--sock=" + home + "/s/jupyter.sock"}
	if !slices.Equal(got, want) {
		t.Errorf("argv\n got %q\nwant %q", got, want)
	}
}

// auto picks the first runtime the host has, in the order apptainer,
// singularity, podman, charliecloud, docker; a missing image or runtime
// stops before anything runs.
func TestContainerPickAndCheck(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "h")
	image := filepath.Join(root, "img")
	os.MkdirAll(image, 0o755)
	for _, tt := range []struct {
		fakes []string
		c     Container
		want  string // the runtime run, or the error's start
	}{
		{[]string{"docker", "ch-run", "podman"}, Container{Image: image, Runtime: "auto"}, "podman"},
		{[]string{"docker", "ch-run"}, Container{Image: image, Runtime: "auto"}, "ch-run"},
		{[]string{"docker", "singularity", "apptainer"}, Container{Image: image, Runtime: "auto"}, "apptainer"},
		{[]string{"docker"}, Container{Image: "img:1", Runtime: "auto"}, "docker"},
		{nil, Container{Image: image, Runtime: "auto"}, "PICK: no container runtime on testhost"},
		{[]string{"podman"}, Container{Image: image, Runtime: "apptainer"}, "PICK: apptainer (apptainer) is not on PATH"},
		{[]string{"podman"}, Container{Image: root + "/nope", Runtime: "podman"}, "CHECK: the image " + root + "/nope does not exist on testhost"},
		{[]string{"podman"}, Container{Image: "img:2", Runtime: "podman"}, "CHECK: podman has no image img:2 on testhost (jt does not pull)"},
		{[]string{"docker"}, Container{Image: image, Runtime: "docker"}, "CHECK: docker takes an image name"},
		{[]string{"apptainer"}, Container{Image: "img:1", Runtime: "apptainer"}, "CHECK: apptainer takes an image path"},
	} {
		got, stderr, err := runWrap(t, tt.c, home, home, home+"/s", tt.fakes...)
		if strings.HasPrefix(tt.want, "PICK") || strings.HasPrefix(tt.want, "CHECK") {
			if err == nil || !strings.HasPrefix(stderr, tt.want) || got != nil {
				t.Errorf("%v %+v: err %v, argv %q, stderr %q; want it to stop with %q", tt.fakes, tt.c, err, got, stderr, tt.want)
			}
			continue
		}
		if err != nil || len(got) == 0 || got[0] != tt.want {
			t.Errorf("%v %+v: err %v argv %q (%s); want %s to run", tt.fakes, tt.c, err, got, stderr, tt.want)
		}
	}
}
