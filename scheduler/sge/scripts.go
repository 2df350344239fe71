package sge

import (
	"embed"
	"fmt"
	"strings"

	"github.com/jt-sh/jt/templates"
)

// Grid Engine's scripts, built on jt's shared ones (templates.Extend):
// each may use {{template "common" .}}, {{template "env" .}} and, on the
// login node, {{template "sge" .}} (sge_common.sh.tmpl).
//
//go:embed *.sh.tmpl
var files embed.FS

var scripts = func() *templates.Scripts {
	s, err := templates.Extend(files, "*.sh.tmpl")
	if err != nil {
		panic(err)
	}
	return s
}()

// JobScript is the job script of jt open --scheduler sge: it runs Jupyter
// on the execution host, bound to the host's address. It carries no
// token: Jupyter makes its own and writes it to its runtime file in the
// (shared) home.
type JobScript struct {
	Name    string
	Nonce   string        // the job's run directory
	Dir     string        // working directory; "" or "~" is the home, "~/x" below it
	Flavour string        // "notebook", "server" or "lab" when Command is empty
	Command string        // user-given jupyter command (shell words), or ""
	Port    int           // port on the host; 0 picks the first free one from 8888
	Env     templates.Env // set up on the host before Jupyter starts
	Options []string      // Jupyter options jt adds (templates.IdleOptions)
	// Listen is "ask" (the job waits, Wait seconds at most, for jt's word
	// on how Jupyter is to listen: see OpenScript.Give) or "tcp".
	Listen string
	Wait   int
	// Console is "screen" (Jupyter in a screen window on the node, where
	// screen is installed: jt attach opens it) or "none".
	Console string
}

// OpenScript is the input of sge_open.sh: reuse the session's job or
// submit Job with Args, wait (printing queue lines) until Jupyter answers.
type OpenScript struct {
	Name    string
	Nonce   string   // of a job this open submits
	Args    []string // qsub options, one word each
	Job     string   // the rendered JobScript
	Timeout int      // seconds Jupyter may take once the job runs
	Give    string   // "socket" or "tcp" for a job that waits for jt's word; "": answer that it waits
}

// StatusScript is the input of sge_status.sh: the remote user's jobs, and
// what the accounting knows of the Jobs jt recorded.
type StatusScript struct{ Jobs []string }

// CancelScript is the input of sge_cancel.sh: delete the session's jobs
// and remove their files. With Nonce, only the job that the jt open with
// that nonce submitted (its undo); with KeepJob, only stop that open's
// waiting script and leave the job queued.
type CancelScript struct {
	Name    string
	Nonce   string
	KeepJob bool
}

// DoctorScript is the input of sge_doctor.sh: jt doctor's checks of the
// login node, qsub verifying (not submitting) a job with Args.
type DoctorScript struct{ Args []string }

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
