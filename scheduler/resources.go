package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// Resources is what jt open asks of any scheduler for its job, in jt's own
// words (--gpus, --cpus, --mem, --time, --queue); each scheduler says it in
// its submit options (Scheduler.Resources). The zero value asks nothing.
type Resources struct {
	GPUs    int    // 0: not asked
	GPUType string // with GPUs: a type ("a100"), or "" for any
	CPUs    int
	Mem     int64 // bytes
	Time    time.Duration
	Queue   string // partition, queue or accounting group
	// ParallelEnv is Grid Engine's parallel environment that --cpus asks
	// slots of (the profile's parallel_env).
	ParallelEnv string
}

// Asked reports whether r asks for anything.
func (r Resources) Asked() bool {
	return r.GPUs > 0 || r.CPUs > 0 || r.Mem > 0 || r.Time > 0 || r.Queue != ""
}

// ParseGPUs reads --gpus: N or N:TYPE.
func ParseGPUs(s string) (int, string, error) { return validate.GPUs(s) }

// CheckCPUs checks --cpus.
func CheckCPUs(n int) error { return validate.CPUs(n) }

// ParseMem reads --mem: 512M, 4G.
func ParseMem(s string) (int64, error) { return validate.Mem(s) }

// CheckTime checks --time: whole seconds, at least one minute.
func CheckTime(d time.Duration) error { return validate.JobTime(d) }

// CheckQueue checks --queue and the profile's parallel_env.
func CheckQueue(flag, s string) error { return validate.Queue(flag, s) }

// MemMiB is r.Mem in mebibytes, rounded up.
func (r Resources) MemMiB() int64 { return (r.Mem + 1<<20 - 1) >> 20 }

// Seconds is r.Time in whole seconds.
func (r Resources) Seconds() int64 { return int64(r.Time / time.Second) }

// Clock writes r.Time as H:MM:SS, which Slurm and Grid Engine read.
func (r Resources) Clock() string {
	s := r.Seconds()
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
}

// Cannot is the error of a resource a scheduler cannot express.
func Cannot(title, option, why string) error {
	return validate.Usagef("%s cannot express %s: %s", title, option, why)
}

// GivenTwice is the error of a resource given both as jt's option and in
// the scheduler's own options.
func GivenTwice(jtOption, own string) error {
	return validate.Usagef("%s and %s of the scheduler's options ask for the same: give one of them", jtOption, visible.Quote(own))
}

// Own maps a scheduler's own options to the jt options that set the same
// resource ("-c" → "--cpus").
type Own map[string]string

// Clash is the first of args that sets a resource r asks for, as
// GivenTwice; long options match with or without "=VALUE", one-letter
// ones also with the value attached ("-c2").
func (o Own) Clash(r Resources, args []string) error {
	asked := map[string]bool{"--gpus": r.GPUs > 0, "--cpus": r.CPUs > 0, "--mem": r.Mem > 0, "--time": r.Time > 0, "--queue": r.Queue != ""}
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		if _, whole := o[name]; !whole && len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name = a[:2]
		}
		if jt, ok := o[name]; ok && asked[jt] {
			return GivenTwice(jt, a)
		}
	}
	return nil
}
