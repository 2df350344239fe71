package validate

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/jt-sh/jt/visible"
)

// ContainerRuntimes are the runtimes jt open --container-runtime takes;
// auto picks the first the host has, in this order.
var ContainerRuntimes = []string{"auto", "apptainer", "singularity", "podman", "charliecloud", "docker"}

var (
	// A plain path: what a remote script, a bind option and ssh take as is.
	imagePathRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(/|~/)[A-Za-z0-9._+/-]*$`) })
	// An image name: [registry[:port]/]path[:tag][@sha256:digest].
	imageNameRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$`)
	})
)

// ContainerImage checks --container's IMAGE for runtime: a plain path on
// the host (absolute or ~/…) for any runtime, or an image name already on
// the host for podman and docker (and auto, which may pick one of them).
func ContainerImage(image, runtime string) error {
	if image == "" {
		return nil
	}
	if strings.HasPrefix(image, "/") || strings.HasPrefix(image, "~") {
		if !imagePathRE().MatchString(image) || strings.Contains("/"+image+"/", "/../") {
			return fmt.Errorf("%s is not a plain path: use letters, digits and . _ + / - (absolute, or ~/… in the remote home), without a .. component", visible.Quote(image))
		}
		if runtime == "docker" {
			return fmt.Errorf("%s is a path, and docker runs images by name: give the name of an image docker has on the host, or use podman or charliecloud for a directory image", visible.Quote(image))
		}
		return nil
	}
	if !imageNameRE().MatchString(image) || len(image) > 255 {
		return fmt.Errorf("%s is neither a path (/… or ~/…) nor an image name (like \"docker.io/library/python:3.13\")", visible.Quote(image))
	}
	switch runtime {
	case "apptainer", "singularity", "charliecloud":
		return fmt.Errorf("%s takes an image path (a .sif file or a directory), not the name %s: jt does not pull images; give the image's path on the host", runtime, visible.Quote(image))
	}
	return nil
}

// containerOwned are the runtimes' options that would override what jt
// controls: the namespaces jt shares (host PID and network, so that it
// finds, judges and reaches Jupyter), the ports (Jupyter listens on the
// host's loopback or a private socket), the container's removal, name,
// user, working directory and image, and the home and environment jt
// binds and passes.
var containerOwned = map[string]string{
	"--network":     "jt shares the host's network: Jupyter listens on the host's loopback or on a private socket",
	"--net":         "jt shares the host's network: Jupyter listens on the host's loopback or on a private socket",
	"-p":            "jt shares the host's network: a published port would open Jupyter beyond the host's loopback",
	"--publish":     "jt shares the host's network: a published port would open Jupyter beyond the host's loopback",
	"-P":            "jt shares the host's network: a published port would open Jupyter beyond the host's loopback",
	"--publish-all": "jt shares the host's network: a published port would open Jupyter beyond the host's loopback",
	"--pid":         "jt shares the host's PID namespace: it finds and stops Jupyter by its pid",
	"--userns":      "jt maps the user to itself (--userns=keep-id), so that the home and the session's files stay the user's",
	"--user":        "Jupyter runs as the user, who owns the session's files",
	"-u":            "Jupyter runs as the user, who owns the session's files",
	"--uid":         "Jupyter runs as the user, who owns the session's files",
	"--gid":         "Jupyter runs as the user, who owns the session's files",
	"--rm":          "jt removes the container when Jupyter ends",
	"--name":        "jt names the container after the session",
	"--replace":     "jt names the container after the session",
	"-d":            "jt keeps Jupyter in its console and watches it",
	"--detach":      "jt keeps Jupyter in its console and watches it",
	"--rootfs":      "jt gives the image itself (--container)",
	"-w":            "jt sets the working directory (--dir)",
	"--workdir":     "jt sets the working directory (--dir)",
	"--pwd":         "jt sets the working directory (--dir)",
	"-c":            "jt sets the working directory (--dir)",
	"--cd":          "jt sets the working directory (--dir)",
	"--home":        "jt binds the home at its own path",
	"-H":            "jt binds the home at its own path",
	"--no-home":     "jt binds the home at its own path: the session's files are there",
	"--contain":     "jt binds the home at its own path: the session's files are there",
	"--containall":  "jt binds the home and shares the host's PID namespace",
	"-C":            "jt binds the home and shares the host's PID namespace",
	"--cleanenv":    "jt passes JUPYTER_RUNTIME_DIR: it finds Jupyter's runtime file by it",
	"--unset-env":   "jt passes JUPYTER_RUNTIME_DIR: it finds Jupyter's runtime file by it",
	"--private-tmp": "a batch job's socket directory is in the host's /tmp",
	"--tmpfs":       "jt mounts the tmpfs a directory image needs; a tmpfs over the home or /tmp would hide the session's files",
}

// containerBinds are the options that mount a host directory: their
// target may not cover the home or /tmp, where the session's files are.
var containerBinds = map[string]bool{"-v": true, "--volume": true, "--mount": true, "-B": true, "--bind": true, "-b": true}

// ContainerArgs checks the runtime options of --container-args (one word
// each): none of those jt controls (containerOwned), and no mount over
// the home, /home or /tmp.
func ContainerArgs(label string, args []string) error {
	for i, a := range args {
		if err := OneLine(a); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		opt, val, hasVal := strings.Cut(a, "=")
		if why, ok := containerOwned[opt]; ok {
			return fmt.Errorf("%s: %s is jt's to set: %s", label, visible.Quote(opt), why)
		}
		if !containerBinds[opt] && opt != "-e" && opt != "--env" {
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return fmt.Errorf("%s: %s needs a value", label, opt)
			}
			val = args[i+1]
		}
		if opt == "-e" || opt == "--env" {
			if k, _, _ := strings.Cut(val, "="); k == "HOME" || k == "JUPYTER_RUNTIME_DIR" {
				return fmt.Errorf("%s: %s %s is jt's to set: it finds Jupyter's runtime file in the session's directory", label, opt, visible.Quote(val))
			}
			continue
		}
		if dst := bindTarget(val); coversSession(dst) {
			return fmt.Errorf("%s: %s %s would mount over %s, where jt binds the home and keeps the session's files", label, opt, visible.Quote(val), dst)
		}
	}
	return nil
}

// bindTarget is the container path of a bind value: SRC[:DST[:OPTS]], or
// podman's --mount type=bind,src=…,dst=….
func bindTarget(v string) string {
	if strings.Contains(v, "=") {
		for _, kv := range strings.Split(v, ",") {
			k, p, _ := strings.Cut(kv, "=")
			if k == "dst" || k == "destination" || k == "target" {
				return p
			}
		}
		return ""
	}
	parts := strings.Split(v, ":")
	if len(parts) > 1 {
		return parts[1]
	}
	return parts[0]
}

// coversSession says whether a mount at dst would hide the home or /tmp
// (the session's files, a batch job's socket).
func coversSession(dst string) bool {
	d := strings.TrimRight(dst, "/")
	switch {
	case d == "" || d == "/home" || d == "/tmp" || d == "~":
		return true
	case strings.HasPrefix(d, "~/"), strings.HasPrefix(d, "/home/"), strings.HasPrefix(d, "/tmp/"):
		return true
	}
	return false
}
