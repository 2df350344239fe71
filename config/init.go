package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Example is what jt config init writes: every key, commented out, so the
// file parses and changes nothing until the user edits it.
const Example = `# jt's configuration: defaults for every jt open, and profiles.
# A profile is used by "jt open NAME", "jt ls NAME", "jt close NAME" …
# Precedence: command-line flags > [hosts.NAME] > [defaults] > built-in.
# See "jt config show NAME" for what applies, and where each value comes from.

[defaults]
# console = "auto"        # auto (screen, else tmux, else none), screen, tmux, none
# flavour = "notebook"    # notebook, lab or server
# timeout = "60s"         # how long Jupyter may take to start
# tcp = false             # true: TCP on the host's 127.0.0.1 instead of a private unix socket

# [hosts.gpu]
# host = "alice@gpu1.example.org"     # ssh destination (default: the profile's name)
# jump = "bastion.example.org"        # ssh -o ProxyJump=…
# ssh_options = ["IdentityFile=~/.ssh/id_gpu", "Compression=yes"]
# dir = "~/projects/thesis"           # remote working directory
# flavour = "lab"
# name = "default"                    # session name
# port = 0                            # remote TCP port (0: a private unix socket)
# local_port = 8888                   # local port of the tunnel
# cmd = "jupyter lab --ServerApp.iopub_data_rate_limit=1e10"
# console = "tmux"
# tcp = false
# timeout = "2m"
# idle = "2h"                         # jt releases kernels, then the server, after 2h without activity
# warn = "15m,2m"                     # jt open --keep warns this long before a batch job ends
#
# # The environment, set up in this order before Jupyter starts; it reaches
# # Jupyter and its kernels. A failure stops jt open and shows the output.
# setup = ["export OMP_NUM_THREADS=8", "source ~/env.sh"]  # shell lines
# modules = ["python/3.11", "cuda/12.2"]                   # module load …
# conda = "torch"             # conda, mamba or micromamba environment
# venv = "~/venvs/thesis"     # a Python venv (…/bin/activate)
#
# # Or Jupyter in a container image on the host (or the job's node).
# container = "~/images/lab.sif"      # a path there, or an image name it has
# container_runtime = "auto"          # apptainer, singularity, podman, charliecloud, docker
# container_args = ["--bind", "/data"]
# container_gpu = false               # the runtime's GPU option
#
# # A Slurm login node: Jupyter runs as a batch job on a compute node.
# scheduler = "slurm"
# scheduler_args = ["--partition=gpu", "--time=4:00:00", "--gres=gpu:1"]  # sbatch options
# # The same, in Slurm's shorthands (give one spelling, not both):
# slurm = true
# slurm_args = ["--partition=gpu", "--time=4:00:00", "--gres=gpu:1"]
# # What the job asks for, in words every scheduler understands (each says
# # them in its own options; give a resource here or in scheduler_args):
# gpus = "1"                  # or "2:a100", a count and a type
# cpus = 4
# mem = "16G"
# time = "4h"                 # the job's time limit
# queue = "gpu"               # partition (Slurm), queue (Grid Engine), accounting group (HTCondor)
# parallel_env = "smp"        # Grid Engine: the parallel environment cpus asks slots of
# # Only a server nobody else can reach (a unix socket on the node, by ssh
# # to the node); never fall back to TCP + token:
# private = true
`

// Init writes Example to path, refusing to replace an existing file.
func Init(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; jt does not overwrite it (edit it, or move it away first)", Display(path))
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(Example); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
