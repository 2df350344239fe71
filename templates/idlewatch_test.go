package templates_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/jt-sh/jt/templates"
)

// The watcher's own unit tests (testdata/idlewatch_test.py): its judgement,
// table-driven, and its readers against fakes of Jupyter's API and /proc.
func TestIdleWatcherPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	out, err := exec.Command(py, "testdata/idlewatch_test.py", "idlewatch.py").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\nOK") {
		t.Fatalf("%s testdata/idlewatch_test.py: %v\n%s", py, err, out)
	}
}

// The watcher reaches the host inside a here-document of open.sh (and a
// batch job's script), written to the session's directory, only with --idle.
func TestIdleWatcherRendered(t *testing.T) {
	with, err := templates.Render(templates.Open{Name: "w", Mode: "tcp", Mux: "none", Timeout: 10, Flavour: "notebook", Idle: 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<<'JT_IDLEWATCH_EOF'\n", "\ndef judge(now, obs, memo, period, interval):\n", "\nJT_IDLEWATCH_EOF\n", "\nidle='30'\n"} {
		if !strings.Contains(with, want) {
			t.Errorf("open.sh with Idle 30 lacks %q", want)
		}
	}
	without, err := templates.Render(templates.Open{Name: "w", Mode: "tcp", Mux: "none", Timeout: 10, Flavour: "notebook"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(without, "JT_IDLEWATCH_EOF") || strings.Contains(without, "cull_") {
		t.Errorf("open.sh without Idle carries the watcher or Jupyter's culler settings")
	}
}
