package templates_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jt-sh/jt/templates"
)

// Another package's scripts build on the shared ones: "common", "env", q.
func TestExtend(t *testing.T) {
	fsys := fstest.MapFS{
		"x_open.sh.tmpl": {Data: []byte(`{{template "common" .}}{{template "env" .}}name={{q .Name}}` + "\n")},
		"notes.txt":      {Data: []byte("not a script")},
	}
	s, err := templates.Extend(fsys, "*.sh.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Render("x_open.sh.tmpl", templates.Open{Name: "it's"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `name='it'\''s'`) || !strings.Contains(out, "answer_session()") || !strings.Contains(out, "env_setup()") {
		t.Errorf("the script lacks its value or the shared templates:\n%s", out)
	}
	if _, err := s.Render("open.sh.tmpl", templates.Open{}); err == nil {
		t.Error("a set built on the shared templates holds jt's open.sh")
	}
	if _, err := templates.Extend(fsys, "*.none"); err == nil {
		t.Error("a pattern matching no file was taken")
	}
	redefine := fstest.MapFS{"y.sh.tmpl": {Data: []byte(`{{define "common"}}echo mine{{end}}`)}}
	if _, err := templates.Extend(redefine, "*.sh.tmpl"); err == nil {
		t.Error("a set redefined the shared template common")
	}
	// jt's own scripts are unchanged by a set built after them.
	if script, err := templates.Render(templates.List{LogLines: 1}); err != nil || strings.Contains(script, "echo mine") {
		t.Errorf("list.sh changed: %v\n%s", err, script)
	}
}
