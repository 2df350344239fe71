package validate

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/visible"
)

// The rules for the resources a batch job asks for (jt open --gpus,
// --cpus, --mem, --time, --queue, and the profile keys of those names),
// here so that the config file checks them as it is read.

var (
	gpuTypeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`) })
	queueRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$`) })
	sizeRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]{1,9})([KMGT])I?B?$`) })
)

// GPUs reads a GPU request: N or N:TYPE.
func GPUs(s string) (int, string, error) {
	count, typ, hasType := strings.Cut(s, ":")
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > 64 || (hasType && !gpuTypeRE().MatchString(typ)) {
		return 0, "", Usagef("--gpus %s: give a count, or a count and a type: --gpus 1, --gpus 2:a100", visible.Quote(s))
	}
	return n, typ, nil
}

// CPUs checks a number of CPUs.
func CPUs(n int) error {
	if n < 1 || n > 100000 {
		return Usagef("--cpus %d: give a number of CPUs from 1", n)
	}
	return nil
}

// Mem reads a memory size: a whole number with a unit, K, M, G or T
// (powers of 1024, as the schedulers read them): 512M, 4G.
func Mem(s string) (int64, error) {
	m := sizeRE().FindStringSubmatch(strings.ToUpper(s))
	if m == nil {
		return 0, Usagef("--mem %s: give a size with its unit, like 512M or 4G", visible.Quote(s))
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"K": 10, "M": 20, "G": 30, "T": 40}[m[2]]
	if n == 0 || n > 1<<(60-shift) {
		return 0, Usagef("--mem %s: give a size from 1K", visible.Quote(s))
	}
	return n << shift, nil
}

// JobTime checks a job's time limit: whole seconds, at least a minute.
func JobTime(d time.Duration) error {
	if d < time.Minute || d%time.Second != 0 || d > 10*365*24*time.Hour {
		return Usagef("--time %s: give a duration of a minute or more, like 30m or 4h", d)
	}
	return nil
}

// Queue checks a queue's name (and a parallel environment's, labelled
// flag).
func Queue(flag, s string) error {
	if !queueRE().MatchString(s) {
		return Usagef("%s %s is not a queue's name (letters, digits, _ . - @)", flag, visible.Quote(s))
	}
	return nil
}
