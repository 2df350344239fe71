package validate_test

import (
	"strings"
	"testing"

	"github.com/jt-sh/jt/validate"
)

func TestContainerImage(t *testing.T) {
	for _, tt := range []struct {
		image, runtime string
		msg            string // "" for accepted
	}{
		{"/srv/images/jupyter.sif", "apptainer", ""},
		{"~/images/trixie", "charliecloud", ""},
		{"/var/cache/jt/trixie-root", "podman", ""},
		{"/var/cache/jt/trixie-root", "auto", ""},
		{"docker.io/library/python:3.13", "podman", ""},
		{"localhost:5000/lab/jupyter:4.0", "docker", ""},
		{"jupyter/scipy-notebook@sha256:" + strings.Repeat("a", 64), "auto", ""},
		{"", "auto", ""},
		{"/srv/$(touch x)", "podman", "is not a plain path"},
		{"/srv/a b", "podman", "is not a plain path"},
		{"/srv/../etc", "podman", "without a .. component"},
		{"~user/img", "podman", "is not a plain path"},
		{"/srv/x:O", "podman", "is not a plain path"},
		{"-oProxyCommand=x", "podman", "neither a path"},
		{"img\nrm", "podman", "neither a path"},
		{"jupyter:4", "apptainer", "jt does not pull"},
		{"docker://jupyter/base", "apptainer", "neither a path"},
		{"/srv/rootfs", "docker", "docker runs images by name"},
		{strings.Repeat("a", 300), "podman", "neither a path"},
	} {
		err := validate.ContainerImage(tt.image, tt.runtime)
		if tt.msg == "" && err != nil {
			t.Errorf("ContainerImage(%q, %q): %v; want it accepted", tt.image, tt.runtime, err)
		}
		if tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)) {
			t.Errorf("ContainerImage(%q, %q): %v; want an error saying %q", tt.image, tt.runtime, err, tt.msg)
		}
	}
}

func TestContainerArgs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--bind", "/data"}, ""},
		{[]string{"-v", "/scratch:/scratch:ro", "--memory=4g", "-e", "OMP_NUM_THREADS=4"}, ""},
		{[]string{"--mount", "type=bind,src=/data,dst=/data"}, ""},
		{[]string{"--network=bridge"}, `"--network" is jt's to set`},
		{[]string{"--net", "none"}, `"--net" is jt's to set`},
		{[]string{"-p", "0.0.0.0:8888:8888"}, `"-p" is jt's to set`},
		{[]string{"--publish=8888:8888"}, `"--publish" is jt's to set`},
		{[]string{"--rm=false"}, `"--rm" is jt's to set`},
		{[]string{"--userns=host"}, `"--userns" is jt's to set`},
		{[]string{"--pid", "private"}, `"--pid" is jt's to set`},
		{[]string{"--containall"}, `"--containall" is jt's to set`},
		{[]string{"-v", "/x:/home/alice"}, "would mount over /home/alice"},
		{[]string{"--bind=/scratch:/tmp"}, "would mount over /tmp"},
		{[]string{"-B", "/other:~/.local/state/jt"}, "would mount over ~/.local/state/jt"},
		{[]string{"--mount", "type=bind,src=/x,dst=/home"}, "would mount over /home"},
		{[]string{"-v"}, "needs a value"},
		{[]string{"-e", "JUPYTER_RUNTIME_DIR=/tmp/x"}, "is jt's to set"},
		{[]string{"--env=HOME=/root"}, "is jt's to set"},
		{[]string{"a\nb"}, "NUL or newline"},
	} {
		err := validate.ContainerArgs("--container-args", tt.args)
		if tt.msg == "" && err != nil {
			t.Errorf("ContainerArgs(%q): %v; want it accepted", tt.args, err)
		}
		if tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "--container-args: ")) {
			t.Errorf("ContainerArgs(%q): %v; want an error saying %q", tt.args, err, tt.msg)
		}
	}
}
