package sge

import (
	"strings"

	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// owned are the qsub options jt sets itself, or that would change what
// jt's job is: its name, output, shell, directives, how qsub answers, and
// job arrays (whose ids jt does not read).
var owned = map[string]string{
	"-N": "the job name jt-NAME", "-o": "the job's output file", "-e": "the job's output file", "-j": "the job's output file",
	"-terse": "how qsub answers", "-sync": "how qsub answers", "-b": "the job script", "-S": "the job's shell",
	"-C": "the job script's directives", "-@": "the options (an options file could set any)", "-t": "one job, not an array",
	"-shell": "the job's shell",
}

// takes is how many words the qsub options that take other than one
// value read; the rest take one, except flags (zero).
var takes = map[string]int{
	"-pe": 2, "-h": 0, "-hard": 0, "-soft": 0, "-cwd": 0, "-V": 0, "-notify": 0, "-clear": 0, "-verbose": 0, "-verify": 0,
}

// CheckArgs checks qsub options: each one word, an option or one of the
// values of the option before it (a stray word would be read as the job
// script, a missing value would take jt's next option), none of those jt
// sets itself.
func (SGE) CheckArgs(args []string) error {
	const label = "qsub options"
	values, last := 0, ""
	for _, a := range args {
		if strings.ContainsAny(a, "\x00\n\r") {
			return validate.Usagef("%s: %s contains a newline", label, visible.Quote(a))
		}
		if len(a) > validate.MaxValue {
			return validate.Usagef("%s: a word is %d bytes long, more than %d", label, len(a), validate.MaxValue)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if values == 0 {
				return validate.Usagef("%s: %s is not an option; write options like -q all.q, -l h_rt=1:00:00 or -pe smp 4", label, visible.Quote(a))
			}
			values--
			continue
		}
		if a == "--" {
			return validate.Usagef("%s: -- would end qsub's options; leave it out", label)
		}
		if values > 0 {
			return validate.Usagef("%s: %s wants a value before %s", label, visible.Quote(last), visible.Quote(a))
		}
		if why, ok := owned[a]; ok {
			return validate.Usagef("%s: jt sets %s itself (%s); leave it out", label, a, why)
		}
		n, ok := takes[a]
		if !ok {
			n = 1
		}
		values, last = n, a
	}
	if values > 0 {
		return validate.Usagef("%s: %s wants a value", label, visible.Quote(last))
	}
	return nil
}
