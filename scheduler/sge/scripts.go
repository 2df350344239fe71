package sge

import (
	"embed"
	"fmt"
	"strings"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/templates"
)

// Grid Engine's scripts, built on jt's shared ones (templates.Extend):
// each may use {{template "common" .}}, {{template "env" .}} and, on the
// login node, {{template "sge" .}} (sge_common.sh.tmpl).
//
//go:embed *.sh.tmpl
var files embed.FS

var scripts = templates.Lazy(files, "*.sh.tmpl")

// The inputs of the scripts are every scheduler's (package scheduler).
type (
	JobScript    = scheduler.JobScript
	OpenScript   = scheduler.OpenScript
	StatusScript = scheduler.StatusScript
	CancelScript = scheduler.CancelScript
	DoctorScript = scheduler.DoctorScript
)

// Render produces the script for one of the inputs above.
func Render(data any) (string, error) {
	var name string
	switch d := data.(type) {
	case JobScript:
		name = "sge_job.sh.tmpl"
	case OpenScript:
		name = "sge_open.sh.tmpl"
		if strings.ContainsRune(d.Job, 0) {
			return "", fmt.Errorf("the job script contains a NUL byte")
		}
	case StatusScript:
		name = "sge_status.sh.tmpl"
	case CancelScript:
		name = "sge_cancel.sh.tmpl"
	case DoctorScript:
		name = "sge_doctor.sh.tmpl"
	default:
		return "", fmt.Errorf("no Grid Engine script for %T", data)
	}
	return scripts.Render(name, data)
}
