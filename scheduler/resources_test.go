package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/scheduler"
)

func TestParseResources(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		typ  string
		fail bool
	}{{"1", 1, "", false}, {"2:a100", 2, "a100", false}, {"0", 0, "", true}, {"x", 0, "", true}, {"1:", 0, "", true},
		{"1:$(touch x)", 0, "", true}, {"1:a b", 0, "", true}, {"-1", 0, "", true}, {"1:a:b", 0, "", true}} {
		n, typ, err := scheduler.ParseGPUs(c.in)
		if (err != nil) != c.fail || n != c.n || typ != c.typ {
			t.Errorf("ParseGPUs(%q) = %d, %q, %v", c.in, n, typ, err)
		}
	}
	for in, want := range map[string]int64{"1G": 1 << 30, "512M": 512 << 20, "4g": 4 << 30, "2GiB": 2 << 30, "1K": 1024, "1": -1, "1.5G": -1, "G": -1, "0M": -1, "1Q": -1, "99999999999G": -1} {
		got, err := scheduler.ParseMem(in)
		if (want < 0) != (err != nil) || (want >= 0 && got != want) {
			t.Errorf("ParseMem(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for d, ok := range map[time.Duration]bool{time.Minute: true, 4 * time.Hour: true, 59 * time.Second: false, 90*time.Second + time.Millisecond: false, -time.Hour: false} {
		if err := scheduler.CheckTime(d); (err == nil) != ok {
			t.Errorf("CheckTime(%s): %v", d, err)
		}
	}
	for q, ok := range map[string]bool{"debug": true, "all.q@node1": true, "-p": false, "a b": false, "": false, "a;b": false, strings.Repeat("q", 200): false} {
		if err := scheduler.CheckQueue("--queue", q); (err == nil) != ok {
			t.Errorf("CheckQueue(%q): %v", q, err)
		}
	}
}
