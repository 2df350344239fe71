package validate_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jt-sh/jt/validate"
)

func TestShellWords(t *testing.T) {
	const expand = "would need the shell to expand it"
	tests := []struct {
		s    string
		want []string // the words, when accepted
		msg  string   // in the message, when refused
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"--partition=gpu --time=2:00:00", []string{"--partition=gpu", "--time=2:00:00"}, ""},
		{"-p gpu", []string{"-p", "gpu"}, ""},
		{`'a b' "c d" e\ f`, []string{"a b", "c d", "e f"}, ""},
		{`--comment="two words"`, []string{"--comment=two words"}, ""},
		{`""`, []string{""}, ""},
		{`"a\"b"`, []string{`a"b`}, ""},
		{"a\nb", []string{"a", "b"}, ""}, // a newline separates words, as a space does
		{"a\\\nb", []string{"ab"}, ""},
		// Written literally, what would be expanded is just text.
		{`'$(touch x)'`, []string{"$(touch x)"}, ""},
		{`\$HOME`, []string{"$HOME"}, ""},
		{`"\$x"`, []string{"$x"}, ""},
		{`'*'`, []string{"*"}, ""},
		{`\*.py`, []string{"*.py"}, ""},
		{`"~"`, []string{"~"}, ""},
		{"a~b", []string{"a~b"}, ""},
		{"a]", []string{"a]"}, ""},
		// A word that is an option of ssh's is still a word: what reads
		// the words (Options.Check) decides.
		{"-oProxyCommand=x", []string{"-oProxyCommand=x"}, ""},
		{tenK, []string{tenK}, ""},
		// Expansions: refused, not run and not passed on.
		{"$(touch x)", nil, expand},
		{"`touch x`", nil, expand},
		{"\"`touch x`\"", nil, expand},
		{`"$(touch x)"`, nil, expand},
		{"$HOME", nil, expand},
		{"${HOME}", nil, expand},
		{`"$HOME"`, nil, expand},
		{"--x=$HOME", nil, expand},
		{"$((1+1))", nil, expand},
		{"$'a'", nil, expand},
		{`$"a"`, nil, expand},
		{"<(touch x)", nil, expand},
		{"~", nil, expand},
		{"~user", nil, expand},
		{"~/x", nil, expand},
		{"*", nil, expand},
		{"*.py", nil, expand},
		{"a?", nil, expand},
		{"[ab]", nil, expand},
		{"-p gpu $(touch x)", nil, `"$(touch x)" ` + expand},
		{"{a,b}", nil, "cannot read"},
		// Not words at all.
		{"a;touch x", nil, "not a valid word"},
		{"a|b", nil, "not a valid word"},
		{"a&b", nil, "not a valid word"},
		{"a>x", nil, "not a valid word"},
		{"'unterminated", nil, "closing quote"},
		{`"unterminated`, nil, "closing quote"},
		{"a\x00b", nil, "NUL"},
		{"'a\x00b'", nil, "NUL"},
	}
	for _, tt := range tests {
		what := "ShellWords(" + quote(tt.s) + ")"
		words, err := validate.ShellWords("--slurm-args", tt.s)
		if tt.msg != "" {
			checkErr(t, what, err, false, "--slurm-args", tt.msg)
			var ue *validate.UsageError
			if err != nil && !errors.As(err, &ue) {
				t.Errorf("%s: %T is not a *UsageError", what, err)
			}
			if words != nil {
				t.Errorf("%s: returned words %q with its error", what, words)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", what, err)
		} else if !slices.Equal(words, tt.want) {
			t.Errorf("%s = %q, want %q", what, words, tt.want)
		}
	}
}

// sbatch is the shape of the rules for a scheduler's options.
var sbatch = validate.Options{
	Label: "--slurm-args",
	Tool:  "sbatch",
	Owned: []string{"--job-name", "-J", "--output", "-o", "--chdir", "-D", "--parsable", "--wrap"},
	Why:   "the job's name, log and directory are jt's",
}

func TestOptionsCheck(t *testing.T) {
	const owned = "jt sets "
	tests := []struct {
		args []string
		msg  string // in the message; "" when accepted
	}{
		{nil, ""},
		{[]string{}, ""},
		{[]string{"--partition=gpu", "--time=2:00:00"}, ""},
		{[]string{"-p", "gpu"}, ""},               // a short option's value, the next word
		{[]string{"--partition", "gpu"}, ""},      // a long option's too
		{[]string{"-pgpu", "--exclusive"}, ""},    // glued, and a flag
		{[]string{"-p", "-"}, ""},                 // "-" is a value
		{[]string{"-p", ""}, ""},                  // so is an empty word, after an option
		{[]string{"--comment", "$(touch x)"}, ""}, // argv words: nothing expands them
		{[]string{"--comment", "a'b\"c`d"}, ""},   // quotes are text
		{[]string{"--comment", "~user"}, ""},      // and so is a tilde
		{[]string{"--job-names=x"}, ""},           // not an owned option, only close to one
		{[]string{"--comment=" + strings.Repeat("x", validate.MaxValue-len("--comment="))}, ""},
		// A word that is not an option, and not the value of the one before.
		{[]string{"gpu"}, `"gpu" is not an option`},
		{[]string{""}, `"" is not an option`},
		{[]string{"-"}, `"-" is not an option`},
		{[]string{"-p", "gpu", "extra"}, `"extra" is not an option`},
		{[]string{"-pgpu", "extra"}, `"extra" is not an option`},
		{[]string{"--partition=gpu", "extra"}, `"extra" is not an option`},
		{[]string{"$(touch x)"}, `"$(touch x)" is not an option`},
		{[]string{"`touch x`"}, "is not an option"},
		{[]string{"script.sh"}, "is not an option"}, // sbatch would run it as the job
		{[]string{"a b"}, "is not an option"},
		{[]string{"~user"}, "is not an option"},
		{[]string{"*"}, "is not an option"},
		{[]string{tenK}, "more than 4096"},
		// -- would end the options: whatever followed would be the script.
		{[]string{"--"}, "-- would end sbatch's options"},
		{[]string{"-p", "--"}, "-- would end sbatch's options"},
		{[]string{"--time=1", "--", "x"}, "-- would end sbatch's options"},
		// One line each, of bounded length.
		{[]string{"--comment=a\nb"}, "newline"},
		{[]string{"--comment=a\rb"}, "newline"},
		{[]string{"--comment=a\x00b"}, "newline"},
		{[]string{"-p", "gpu\n#SBATCH --wrap=x"}, "newline"},
		{[]string{"--comment=" + strings.Repeat("x", validate.MaxValue)}, "is 4106 bytes long, more than 4096"},
		{[]string{"--comment", tenK}, "is 10240 bytes long"},
		// Options jt sets itself, in every spelling.
		{[]string{"--job-name=x"}, owned + "--job-name itself"},
		{[]string{"--job-name", "x"}, owned + "--job-name itself"},
		{[]string{"-J", "x"}, owned + "-J itself"},
		{[]string{"-Jname"}, owned + "-J itself"},
		{[]string{"-J=name"}, owned + "-J itself"},
		{[]string{"-oProxyCommand=x"}, owned + "-o itself"},
		{[]string{"-o/tmp/log"}, owned + "-o itself"},
		{[]string{"--output=/tmp/log"}, owned + "--output itself"},
		{[]string{"-D/tmp"}, owned + "-D itself"},
		{[]string{"--parsable"}, owned + "--parsable itself"},
		{[]string{"--wrap=touch x"}, owned + "--wrap itself"},
		{[]string{"-p", "gpu", "--time=1", "-Jx"}, owned + "-J itself"},
		{[]string{"-p", "-Jx"}, owned + "-J itself"}, // an option is never a value
	}
	for _, tt := range tests {
		what := "Check(" + quoteAll(tt.args) + ")"
		err := sbatch.Check(tt.args)
		if tt.msg == "" {
			checkErr(t, what, err, true)
			continue
		}
		checkErr(t, what, err, false, "--slurm-args: ", tt.msg)
		var ue *validate.UsageError
		if err != nil && !errors.As(err, &ue) {
			t.Errorf("%s: %T is not a *UsageError", what, err)
		}
		if err != nil && strings.HasPrefix(tt.msg, owned) && !strings.Contains(err.Error(), "("+sbatch.Why+")") {
			t.Errorf("%s: %q does not say why (%s)", what, err, sbatch.Why)
		}
	}
}

// TestOptionsCheckNoneOwned: with nothing owned, only the shape of the
// words counts; an owned-looking prefix alone refuses nothing.
func TestOptionsCheckNoneOwned(t *testing.T) {
	free := validate.Options{Label: "--qsub-args", Tool: "qsub"}
	if err := free.Check([]string{"-Jname", "-o", "/tmp/log", "--job-name=x"}); err != nil {
		t.Errorf("Check: %v", err)
	}
	err := free.Check([]string{"--"})
	checkErr(t, "Check(--)", err, false, "--qsub-args: ", "qsub's options")
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}
