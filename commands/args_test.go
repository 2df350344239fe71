package commands

import (
	"slices"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := NewApp("test", "test")
	for _, tc := range []struct{ in, want []string }{
		{[]string{"jt", "open", "gpu1", "--no-browser"}, []string{"jt", "open", "--no-browser", "--", "gpu1"}},
		{[]string{"jt", "open", "--no-master", "gpu1"}, []string{"jt", "--no-master", "open", "--", "gpu1"}},
		{[]string{"jt", "open", "--no-mux", "gpu1"}, []string{"jt", "--no-mux", "open", "--", "gpu1"}},
		{[]string{"jt", "open", "gpu1", "--ssh-config", "/x/c", "--lab"}, []string{"jt", "--ssh-config", "/x/c", "open", "--lab", "--", "gpu1"}},
		{[]string{"jt", "open", "--ssh-config=/x/c", "gpu1"}, []string{"jt", "--ssh-config=/x/c", "open", "--", "gpu1"}},
		{[]string{"jt", "--no-master", "ls", "gpu1", "--ssh-config", "c"}, []string{"jt", "--no-master", "--ssh-config", "c", "ls", "--", "gpu1"}},
		// After "--" a word is an argument, even one spelled like a flag.
		{[]string{"jt", "open", "--", "--no-master"}, []string{"jt", "open", "--", "--no-master"}},
		// A command's own flag of the same shape stays the command's.
		{[]string{"jt", "open", "--name", "x", "h"}, []string{"jt", "open", "--name", "x", "--", "h"}},
		{[]string{"jt", "nosuch", "--no-master"}, []string{"jt", "nosuch", "--no-master"}},
	} {
		if got := ReorderArgs(app, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("ReorderArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
