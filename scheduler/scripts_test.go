package scheduler_test

import (
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/scheduler/htcondor"
	"github.com/jt-sh/jt/scheduler/sge"
	"github.com/jt-sh/jt/scheduler/slurm"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// renders are the schedulers' Render functions, each one's own templates.
var renders = map[string]func(any) (string, error){"slurm": slurm.Render, "sge": sge.Render, "htcondor": htcondor.Render}

// Every scheduler's scripts (the job script too, which its submit script
// carries as data) parse as POSIX sh whatever the values (each
// scheduler's own tests run them and check that every value stays one
// literal word), and answer in the batch protocol's kinds.
func TestSchedulerScriptsParse(t *testing.T) {
	names := scheduler.Names()
	if len(names) != len(renders) {
		t.Fatalf("schedulers %v, but this test knows the Render of %d: add the new one's", names, len(renders))
	}
	parse := func(t *testing.T, what string, s templates.Script, kind templates.Kind) {
		t.Helper()
		if s.Kind != kind {
			t.Errorf("%s answers kind %v, want %v", what, s.Kind, kind)
		}
		if _, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(s.Text), ""); err != nil {
			t.Fatalf("%s does not parse: %v", what, err)
		}
	}
	for _, name := range names {
		s, err := scheduler.Named(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			for _, h := range scripttest.Hostile {
				for _, console := range []string{"screen", "none", h} {
					r := scheduler.Submit{Name: "default", Nonce: "ab12", Dir: h, Flavour: h, Command: h, Port: 0,
						Env: templates.Env{Setup: []string{h}, Modules: []string{h}, Conda: h, Venv: h}, Args: []string{h, "-x", h},
						Timeout: 60, Idle: 60, Listen: "ask", Give: "socket", Console: console}
					sub, err := s.Submit(r)
					if err != nil {
						t.Fatalf("submit with %q: %v", h, err)
					}
					parse(t, "the submit script with "+h, sub, templates.KindBatchOpen)
					var job string
					spy := func(data any) (string, error) {
						text, err := renders[name](data)
						if _, ok := data.(scheduler.JobScript); ok {
							job = text
						}
						return text, err
					}
					if again, err := scheduler.SubmitScript(r, spy); err != nil || again != sub {
						t.Fatalf("SubmitScript(%s.Render) is not what %s's Submit gives: %v", name, name, err)
					}
					if !strings.Contains(job, "#!/bin/sh") {
						t.Fatalf("no job script was rendered: %.100q", job)
					}
					parse(t, "the job script with "+h, templates.Script{Text: job, Kind: templates.KindBatchOpen}, templates.KindBatchOpen)
				}
				parse(t, "the status script", s.Status([]string{h, "12"}), templates.KindBatchStatus)
				parse(t, "the cancel script", s.Cancel(scheduler.Cancel{Name: "default", Nonce: h}), templates.KindBatchCancel)
				parse(t, "the cancel script", s.Cancel(scheduler.Cancel{Name: "default", KeepQueued: true}), templates.KindBatchCancel)
				if c, ok := s.(scheduler.Checker); ok {
					d, err := c.Checks([]string{h, "-x", h})
					if err != nil {
						t.Fatal(err)
					}
					parse(t, "the doctor script", d, templates.KindDoctor)
				}
			}
		})
	}
}
