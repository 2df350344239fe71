package main

import (
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
)

// Set by release builds: -ldflags "-X main.version=… -X main.commit=…"
// (scripts/release). Left empty, the go command's build info says them.
var (
	version string
	commit  string
)

// pseudoRev is the commit at the end of a Go pseudo-version
// (v0.0.0-20261207124553-44ffa4e986dc, maybe +dirty).
var pseudoRev = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^v\d+\.\d+\.\d+-(?:.*\.)?\d{14}-([0-9a-f]{12})(?:\+.*)?$`)
})

// describeBuild returns the version and commit jt reports. What -ldflags
// set wins; else the go command's record of the build: a plain go build
// in a checkout records the commit (vcs.revision, vcs.modified) and, since
// Go 1.24, a version from the tags; go install …@VERSION records the
// module's version, whose commit is the tag's or is in the pseudo-version.
func describeBuild(version, commit string, info *debug.BuildInfo) (string, string) {
	var mod, rev string
	dirty := false
	if info != nil {
		mod = strings.TrimSuffix(info.Main.Version, "+dirty")
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "dev"
		if mod != "" && mod != "(devel)" {
			version = mod
			if dirty {
				version += "+dirty"
			}
		}
	}
	if commit != "" {
		return version, commit
	}
	switch m := pseudoRev().FindStringSubmatch(mod); {
	case rev != "":
		commit = rev[:min(12, len(rev))]
		if dirty {
			commit += "-dirty"
		}
	case m != nil:
		commit = m[1]
	case mod != "" && mod != "(devel)":
		commit = "tagged " + mod
	default:
		commit = "unknown"
	}
	return version, commit
}

// buildVersion is describeBuild of this binary.
func buildVersion() (string, string) {
	info, _ := debug.ReadBuildInfo()
	return describeBuild(version, commit, info)
}
