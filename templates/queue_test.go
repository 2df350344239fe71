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
