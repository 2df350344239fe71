package slurm

import (
	"embed"

	"github.com/jt-sh/jt/scheduler"
)

// Slurm's scripts (slurm_*.sh.tmpl, scheduler.Scripts): on the login
// node they may use {{template "slurm" .}} (slurm_common.sh.tmpl).
//
//go:embed *.sh.tmpl
var files embed.FS

var scripts = scheduler.NewScripts(files, "slurm", "Slurm")

// The inputs of the scripts are every scheduler's (package scheduler).
type (
	JobScript    = scheduler.JobScript
	OpenScript   = scheduler.OpenScript
	StatusScript = scheduler.StatusScript
	CancelScript = scheduler.CancelScript
	DoctorScript = scheduler.DoctorScript
)

// Render produces the script for one of the inputs above.
func Render(data any) (string, error) { return scripts.Render(data) }
