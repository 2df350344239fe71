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

// Render produces the script for one of the scheduler package's inputs
// (JobScript, OpenScript, StatusScript, CancelScript, DoctorScript).
func Render(data any) (string, error) { return scripts.Render(data) }
