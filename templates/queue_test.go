package templates_test

import (
	"testing"

	"github.com/jt-sh/jt/templates"
)

func TestParseQueueLine(t *testing.T) {
	q, ok := templates.ParseQueueLine("@@JT-QUEUE@@ 12|PENDING|Priority|7||started")
	if !ok || q.Job != "12" || q.State != "PENDING" || q.Reason != "Priority" || q.Elapsed != 7 || q.Nodes != "" || q.Status != "started" {
		t.Errorf("got %+v %v", q, ok)
	}
	for _, bad := range []string{"", "12|PENDING|x|1||started", "@@JT-QUEUE@@ 12|PENDING|x|y||started", "@@JT-QUEUE@@ 1|2|3|4|5", "x@@JT-QUEUE@@ 1|2|3|4|5|6"} {
		if _, ok := templates.ParseQueueLine(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseQueueLineEstimate(t *testing.T) {
	q, ok := templates.ParseQueueLine("@@JT-QUEUE@@ 12|PENDING|Resources|7||started|2026-12-01T16:04:05|2026-12-01T16:00:00")
	if !ok || !q.Estimates || q.Start != "2026-12-01T16:04:05" || q.Now != "2026-12-01T16:00:00" || q.Reason != "Resources" {
		t.Errorf("got %+v %v", q, ok)
	}
	q, ok = templates.ParseQueueLine("@@JT-QUEUE@@ 12|PENDING|Priority|7||started|N/A|2026-12-01T16:00:00")
	if !ok || !q.Estimates || q.Start != "" {
		t.Errorf("N/A: got %+v %v", q, ok)
	}
	for _, bad := range []string{
		"@@JT-QUEUE@@ 12|PENDING|x|1||started|$(touch x)|2026-12-01T16:00:00",
		"@@JT-QUEUE@@ 12|PENDING|x|1||started|2026-12-01T16:04:05|",
		"@@JT-QUEUE@@ 12|PENDING|x|1||started|2026-12-01T16:04:05",
		"@@JT-QUEUE@@ 12|PENDING|x|1||started|2026-12-01 16:04:05|2026-12-01T16:00:00",
	} {
		if _, ok := templates.ParseQueueLine(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
