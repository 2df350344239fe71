package sge

import (
	"embed"

	"github.com/jt-sh/jt/scheduler"
)

// Grid Engine's scripts (sge_*.sh.tmpl, scheduler.Scripts): on the login
// node they may use {{template "sge" .}} (sge_common.sh.tmpl).
//
//go:embed *.sh.tmpl
var files embed.FS

var scripts = scheduler.NewScripts(files, "sge", "Grid Engine")

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
