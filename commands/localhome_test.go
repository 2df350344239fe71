package commands

import "testing"

func TestRemoteHomeDir(t *testing.T) {
	for _, tc := range []struct {
		dir, home, want string
		changed         bool
	}{
		{"/Users/alice/proj", "/Users/alice", "~/proj", true},
		{"/Users/alice/proj/", "/Users/alice/", "~/proj/", true},
		{"/Users/alice", "/Users/alice", "~", true},
		{"/Users/alice//a b", "/Users/alice", "~/a b", true},
		{"/Users/alicex/proj", "/Users/alice", "/Users/alicex/proj", false},
		{"/data/proj", "/Users/alice", "/data/proj", false},
		{"~/proj", "/Users/alice", "~/proj", false},
		{"proj", "/Users/alice", "proj", false},
		{"", "/Users/alice", "", false},
		{"/anything", "/", "/anything", false},
		{"/x", "", "/x", false},
	} {
		got, changed := remoteHomeDir(tc.dir, tc.home)
		if got != tc.want || changed != tc.changed {
			t.Errorf("remoteHomeDir(%q, %q) = %q, %v; want %q, %v", tc.dir, tc.home, got, changed, tc.want, tc.changed)
		}
	}
}
