package scheduler

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/jt-sh/jt/templates"
)

// The inputs of every scheduler's scripts. Each scheduler renders them
// with templates of its own (built on the shared ones, templates.Extend),
// so that what the session asks for is written once.

// JobScript is the input of a scheduler's job script: it runs Jupyter on
// the node (templates/batch.sh.tmpl's "listen" and "serve" parts). It
// carries no token: Jupyter makes its own and writes it to its runtime
// file in the (shared) home.
type JobScript struct {
	Name    string
	Nonce   string        // the job's run directory (and its mark, where the scheduler keeps one)
	Dir     string        // working directory; "" or "~" is the home, "~/x" below it
	Flavour string        // "notebook", "server" or "lab" when Command is empty
	Command string        // user-given jupyter command (shell words), or ""
	Port    int           // port on the node; 0 picks the first free one from 8888
	Env     templates.Env // set up on the node before Jupyter starts
	Idle    int           // seconds without activity before jt's watcher releases the job's server; 0: never
	// Listen is "ask" (the job waits, Wait seconds at most, for jt's word
	// on how Jupyter is to listen: see OpenScript.Give) or "tcp".
	Listen string
	Wait   int
	// Console is "screen" (Jupyter in a screen window on the node, where
	// screen is installed: jt attach opens it) or "none".
	Console string
}

// OpenScript is the input of a scheduler's open script (on the login
// node): reuse the session's job or submit Job with Args, wait (printing
// queue lines) until Jupyter answers.
type OpenScript struct {
	Name    string
	Nonce   string   // of a job this open submits
	Args    []string // the submit command's options, one word each
	Job     string   // the rendered JobScript
	Timeout int      // seconds Jupyter may take once the job runs
	Give    string   // "socket" or "tcp" for a job that waits for jt's word; "": answer that it waits
}

// StatusScript is the input of a scheduler's status script: the remote
// user's jt jobs, and what the scheduler still knows of the Jobs jt
// recorded.
type StatusScript struct{ Jobs []string }

// CancelScript is the input of a scheduler's cancel script: cancel the
// session's jobs and remove their files. With Nonce, only the job that
// the jt open with that nonce submitted (its undo); with KeepJob, only
// stop that open's waiting script and leave the job queued.
type CancelScript struct {
	Name    string
	Nonce   string
	KeepJob bool
}

// DoctorScript is the input of a scheduler's doctor script (Checker):
// jt doctor's checks of the login node, with the submit options Args
// tried without submitting a job.
type DoctorScript struct{ Args []string }

// SubmitScript is r as a scheduler's scripts say it: its job script,
// inside the open script that submits or finds it (render is the
// scheduler's Render).
func SubmitScript(r Submit, render func(any) (string, error)) (templates.Script, error) {
	job, err := render(JobScript{
		Name: r.Name, Nonce: r.Nonce, Dir: r.Dir, Flavour: r.Flavour, Command: r.Command, Port: r.Port, Env: r.Env,
		Idle: r.Idle, Listen: r.Listen, Wait: r.Timeout, Console: r.Console,
	})
	if err != nil {
		return templates.Script{}, err
	}
	text, err := render(OpenScript{Name: r.Name, Nonce: r.Nonce, Args: r.Args, Job: job, Timeout: r.Timeout, Give: r.Give})
	return templates.Script{Text: text, Kind: templates.KindBatchOpen}, err
}

// StatusOf is the status script for ids (render is the scheduler's
// Render). Job ids come checked from the state file: an error is a bug.
func StatusOf(ids []string, render func(any) (string, error)) templates.Script {
	text, err := render(StatusScript{Jobs: ids})
	if err != nil {
		panic(err)
	}
	return templates.Script{Text: text, Kind: templates.KindBatchStatus}
}

// CancelOf is the cancel script for c (render is the scheduler's Render).
// Name and nonce are jt's own, checked: an error is a bug.
func CancelOf(c Cancel, render func(any) (string, error)) templates.Script {
	text, err := render(CancelScript{Name: c.Name, Nonce: c.Nonce, KeepJob: c.KeepQueued})
	if err != nil {
		panic(err)
	}
	return templates.Script{Text: text, Kind: templates.KindBatchCancel}
}

// Scripts are one scheduler's templates, NAME_job.sh.tmpl, NAME_open.sh.tmpl,
// NAME_status.sh.tmpl, NAME_cancel.sh.tmpl and NAME_doctor.sh.tmpl (with
// any NAME_*.sh.tmpl they share), built on jt's shared ones
// (templates.Extend): each may use {{template "common" .}},
// {{template "env" .}} and, on the login node, {{template "NAME" .}}.
type Scripts struct {
	name, title string
	set         *templates.Scripts
}

// NewScripts reads a scheduler's templates from files (its embedded
// NAME_*.sh.tmpl) when the first is rendered; title names it in errors.
func NewScripts(files fs.FS, name, title string) *Scripts {
	return &Scripts{name: name, title: title, set: templates.Lazy(files, name+"_*.sh.tmpl")}
}

// Render produces the script for one of the inputs above.
func (s *Scripts) Render(data any) (string, error) {
	var kind string
	switch d := data.(type) {
	case JobScript:
		kind = "job"
	case OpenScript:
		kind = "open"
		if strings.ContainsRune(d.Job, 0) {
			return "", fmt.Errorf("the job script contains a NUL byte")
		}
	case StatusScript:
		kind = "status"
	case CancelScript:
		kind = "cancel"
	case DoctorScript:
		kind = "doctor"
	default:
		return "", fmt.Errorf("no %s script for %T", s.title, data)
	}
	return s.set.Render(s.name+"_"+kind+".sh.tmpl", data)
}
