package session

import (
	"strings"
	"testing"
	"time"

	_ "github.com/jt-sh/jt/scheduler/slurm" // registers slurm
	"github.com/jt-sh/jt/validate"
)

// A batch job keeps Jupyter in screen on the node, or in no console: tmux
// is refused before anything runs, and the job is told which.
func TestBatchConsole(t *testing.T) {
	r := OpenRequest{Host: "login1", Name: "default", Flavour: "notebook", Timeout: time.Minute, Batch: BatchOptions{Scheduler: "slurm"}}
	for console, want := range map[string]string{"auto": "screen", "screen": "screen", "none": "none", "tmux": ""} {
		r.Console = console
		err := r.Validate()
		if want == "" {
			if _, ok := err.(*validate.UsageError); !ok || !strings.Contains(err.Error(), "--console tmux") {
				t.Errorf("--console tmux for a batch job: %v, want a usage error", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("--console %s for a batch job: %v", console, err)
		}
		if got := batchConsole(console); got != want {
			t.Errorf("batchConsole(%q) = %q, want %q", console, got, want)
		}
	}
	r.Console, r.Batch = "tmux", BatchOptions{}
	if err := r.Validate(); err != nil {
		t.Errorf("--console tmux on a plain host: %v", err)
	}
}
