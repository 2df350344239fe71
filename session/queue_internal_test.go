package session

import (
	"strings"
	"testing"
)

type recorder struct{ notices, progress []string }

func (r *recorder) Progress(msg string) { r.progress = append(r.progress, msg) }
func (r *recorder) Notice(msg string)   { r.notices = append(r.notices, msg) }
func (r *recorder) SSH(string)          {}

// Queue lines: the start estimate is said, and a new one is news.
func TestQueueRelayEstimate(t *testing.T) {
	rec := &recorder{}
	relay := &queueRelay{e: &Engine{Report: rec}, host: "hpc"}
	relay.Write([]byte("banner\n@@JT-QUEUE@@ 12|PENDING|Resources|1||started|N/A|2026-12-01T16:00:00\n" +
		"@@JT-QUEUE@@ 12|PENDING|Resources|11||started|N/A|2026-12-01T16:00:10\n" +
		"@@JT-QUEUE@@ 12|PENDING|Resources|21||started|2026-12-01T16:05:00|2026-12-01T16:00:20\n" +
		"@@JT-QUEUE@@ 12|RUNNING|None|25|node1|started\n"))
	want := []string{
		"job 12 on hpc: PENDING (Resources), 1s waiting, no start estimate",
		"job 12 on hpc: PENDING (Resources), 21s waiting, starts in 4m40s (the scheduler's estimate)",
		"job 12 on hpc: RUNNING on node1, waiting for Jupyter",
	}
	if strings.Join(rec.notices, "\n") != strings.Join(want, "\n") {
		t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(rec.notices, "\n"), strings.Join(want, "\n"))
	}
	if len(rec.progress) != 1 || !strings.HasSuffix(rec.progress[0], "11s waiting, no start estimate") {
		t.Errorf("progress %q", rec.progress)
	}
	if got := string(relay.Answer()); got != "banner\n" {
		t.Errorf("answer %q", got)
	}
}
