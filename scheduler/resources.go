package scheduler

import (
	"fmt"
	"regexp"
	"strconv"
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

var (
	wordRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
	queueRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$`)
	sizeRE  = regexp.MustCompile(`^([0-9]{1,9})([KMGT])I?B?$`)
)

// ParseGPUs reads --gpus: N or N:TYPE.
func ParseGPUs(s string) (int, string, error) {
	count, typ, hasType := strings.Cut(s, ":")
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > 64 || (hasType && !wordRE.MatchString(typ)) {
		return 0, "", validate.Usagef("--gpus %s: give a count, or a count and a type: --gpus 1, --gpus 2:a100", visible.Quote(s))
	}
	return n, typ, nil
}

// CheckCPUs checks --cpus.
func CheckCPUs(n int) error {
	if n < 1 || n > 100000 {
		return validate.Usagef("--cpus %d: give a number of CPUs from 1", n)
	}
	return nil
}

// ParseMem reads --mem: a whole number with a unit, K, M, G or T (powers
// of 1024, as the schedulers read them): 512M, 4G.
func ParseMem(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.ToUpper(s))
	if m == nil {
		return 0, validate.Usagef("--mem %s: give a size with its unit, like 512M or 4G", visible.Quote(s))
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"K": 10, "M": 20, "G": 30, "T": 40}[m[2]]
	if n == 0 || n > 1<<(60-shift) {
		return 0, validate.Usagef("--mem %s: give a size from 1K", visible.Quote(s))
	}
	return n << shift, nil
}

// CheckTime checks --time: whole seconds, at least one minute.
func CheckTime(d time.Duration) error {
	if d < time.Minute || d%time.Second != 0 || d > 10*365*24*time.Hour {
		return validate.Usagef("--time %s: give a duration of a minute or more, like 30m or 4h", d)
	}
	return nil
}

// CheckQueue checks --queue and the profile's parallel_env.
func CheckQueue(flag, s string) error {
	if !queueRE.MatchString(s) {
		return validate.Usagef("%s %s is not a queue's name (letters, digits, _ . - @)", flag, visible.Quote(s))
	}
	return nil
}

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
