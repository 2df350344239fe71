package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "44ffa4e986dcd2ba382d6f48ed9e1ac2b0116792"
	pseudo := "v0.0.0-20261201195216-44ffa4e986dc"
	for _, tc := range []struct {
		name                 string
		ldVersion, ldCommit  string
		info                 *debug.BuildInfo
		wantVersion, wantCom string
	}{
		{"release build (-ldflags)", "v1.2.3", "44ffa4e986dc", &debug.BuildInfo{Main: debug.Module{Version: pseudo}, Settings: vcs(rev, "false")}, "v1.2.3", "44ffa4e986dc"},
		{"go build in a checkout", "", "", &debug.BuildInfo{Main: debug.Module{Version: pseudo}, Settings: vcs(rev, "false")}, pseudo, "44ffa4e986dc"},
		{"go build in a changed checkout", "", "", &debug.BuildInfo{Main: debug.Module{Version: pseudo + "+dirty"}, Settings: vcs(rev, "true")}, pseudo + "+dirty", "44ffa4e986dc-dirty"},
		{"go build on a tag", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs(rev, "false")}, "v1.2.3", "44ffa4e986dc"},
		{"go build, -buildvcs=false", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev", "unknown"},
		{"go install …@v1.2.3", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3", Sum: "h1:x"}}, "v1.2.3", "tagged v1.2.3"},
		{"go install …@commit", "", "", &debug.BuildInfo{Main: debug.Module{Version: pseudo, Sum: "h1:x"}}, pseudo, "44ffa4e986dc"},
		{"go install …@commit after a tag", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.20261201195216-44ffa4e986dc"}}, "v1.2.4-0.20261201195216-44ffa4e986dc", "44ffa4e986dc"},
		{"no build info", "", "", nil, "dev", "unknown"},
	} {
		v, c := describeBuild(tc.ldVersion, tc.ldCommit, tc.info)
		if v != tc.wantVersion || c != tc.wantCom {
			t.Errorf("%s: got %q (commit %q), want %q (commit %q)", tc.name, v, c, tc.wantVersion, tc.wantCom)
		}
	}
}
