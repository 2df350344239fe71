package slurm

import (
	"embed"
	"fmt"
	"strings"

	"github.com/jt-sh/jt/templates"
)

// Slurm's scripts, built on jt's shared ones (templates.Extend): each may
// use {{template "common" .}}, {{template "env" .}} and, on the login
// node, {{template "slurm" .}} (slurm_common.sh.tmpl).
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

// JobScript is the batch script of jt open --slurm: it runs Jupyter on the
// compute node, bound to the node's address. It carries no token: Jupyter
// makes its own and writes it to its runtime file in the (shared) home.
type JobScript struct {
	Name    string
	Nonce   string        // the session's run directory, and the job's comment jt:NONCE
	Dir     string        // working directory; "" or "~" is the home, "~/x" below it
	Flavour string        // "notebook", "server" or "lab" when Command is empty
	Command string        // user-given jupyter command (shell words), or ""
	Port    int           // port on the node; 0 picks the first free one from 8888
	Env     templates.Env // set up on the node before Jupyter starts
	Options []string      // Jupyter options jt adds (templates.IdleOptions)
	// Listen is "ask" (the job waits, Wait seconds at most, for jt's word
	// on how Jupyter is to listen: see OpenScript.Give) or "tcp".
	Listen string
	Wait   int
	// Console is "screen" (Jupyter in a screen window on the node, where
	// screen is installed: jt attach opens it) or "none".
	Console string
}

// OpenScript is the input of slurm_open.sh: reuse the session's job or
// submit Job with Args, wait (printing queue lines) until Jupyter answers.
type OpenScript struct {
	Name    string
	Nonce   string   // of a job this open submits
	Args    []string // sbatch options, one word each
	Job     string   // the rendered JobScript
	Timeout int      // seconds Jupyter may take once the job runs
	Give    string   // "socket" or "tcp" for a job that waits for jt's word; "": answer that it waits
}

// StatusScript is the input of slurm_status.sh: every jt job of the remote
// user, and what Slurm still knows of the Jobs jt recorded.
type StatusScript struct{ Jobs []string }

// CancelScript is the input of slurm_cancel.sh: cancel the session's jobs
// and remove their files. With Nonce, only the job that the jt open with
// that nonce submitted (its undo); with KeepJob, only stop that open's
// waiting script and leave the job queued.
type CancelScript struct {
	Name    string
	Nonce   string
	KeepJob bool
}

// Render produces the script for one of the inputs above.
func Render(data any) (string, error) {
	var name string
	switch d := data.(type) {
	case JobScript:
		name = "slurm_job.sh.tmpl"
	case OpenScript:
		name = "slurm_open.sh.tmpl"
		if strings.ContainsRune(d.Job, 0) {
			return "", fmt.Errorf("the job script contains a NUL byte")
		}
	case StatusScript:
		name = "slurm_status.sh.tmpl"
	case CancelScript:
		name = "slurm_cancel.sh.tmpl"
	default:
		return "", fmt.Errorf("no Slurm script for %T", data)
	}
	return scripts.Render(name, data)
}
