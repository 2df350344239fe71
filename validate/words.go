package validate

import (
	"strings"

	"github.com/jt-sh/jt/visible"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// ShellWords splits s into words as a POSIX shell would, quotes and
// backslashes included, but never expands anything: a $, a backquote, a
// glob or a leading ~ is refused. label names the flag in messages.
func ShellWords(label, s string) ([]string, error) {
	if strings.ContainsAny(s, "\x00") {
		return nil, Usagef("%s contains a NUL byte", label)
	}
	var words []string
	for w, err := range syntax.NewParser().WordsSeq(strings.NewReader(s)) {
		if err != nil {
			return nil, Usagef("%s %s: %v (quote it as for a shell)", label, visible.Quote(s), err)
		}
		if !literalWord(w) {
			return nil, Usagef("%s: %s would need the shell to expand it; jt passes options as they are written: write the value itself", label, visible.Quote(wordText(s, w)))
		}
		f, err := expand.Fields(nil, w)
		if err != nil || len(f) != 1 {
			return nil, Usagef("%s: cannot read %s as one word", label, visible.Quote(wordText(s, w)))
		}
		words = append(words, f[0])
	}
	return words, nil
}

// literalWord reports whether w is only text and quotes: no parameter,
// command or arithmetic expansion, no globbing pattern, no tilde.
func literalWord(w *syntax.Word) bool {
	for i, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			if i == 0 && strings.HasPrefix(p.Value, "~") {
				return false
			}
			if strings.ContainsAny(unescaped(p.Value), "*?[") {
				return false
			}
		case *syntax.SglQuoted:
			if p.Dollar {
				return false
			}
		case *syntax.DblQuoted:
			if p.Dollar {
				return false
			}
			for _, q := range p.Parts {
				if _, ok := q.(*syntax.Lit); !ok {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// unescaped drops backslash-escaped characters, which are literal.
func unescaped(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func wordText(src string, w *syntax.Word) string {
	start, end := int(w.Pos().Offset()), int(w.End().Offset())
	if start < 0 || end > len(src) || start > end {
		return "a word"
	}
	return src[start:end]
}

// Options are the rules for a scheduler's options, given as words.
type Options struct {
	Label string   // what they are, in messages: "sbatch options"
	Tool  string   // the command that reads them: "sbatch"
	Owned []string // options jt sets itself
	Why   string   // what jt sets them to, in a few words
}

// Check checks args: each one line, each an option or the value of the
// option before it (a stray word would be read as the job script), none
// of those jt sets itself.
func (o Options) Check(args []string) error {
	label := o.Label
	valueNext := false
	for _, a := range args {
		if strings.ContainsAny(a, "\x00\n\r") {
			return Usagef("%s: %s contains a newline", label, visible.Quote(a))
		}
		if len(a) > MaxValue {
			return Usagef("%s: a word is %d bytes long, more than %d", label, len(a), MaxValue)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if !valueNext {
				return Usagef("%s: %s is not an option; write options like --partition=gpu or -p gpu", label, visible.Quote(a))
			}
			valueNext = false
			continue
		}
		if a == "--" {
			return Usagef("%s: -- would end %s's options; leave it out", label, o.Tool)
		}
		name, _, hasValue := strings.Cut(a, "=")
		for _, own := range o.Owned {
			if name == own || (len(own) == 2 && strings.HasPrefix(a, own)) {
				return Usagef("%s: jt sets %s itself (%s); leave it out", label, own, o.Why)
			}
		}
		// "-p gpu" and "--partition gpu" take the next word; "-pgpu",
		// "--partition=gpu" and flags such as --exclusive may not.
		valueNext = !hasValue && (strings.HasPrefix(a, "--") || len(a) == 2)
	}
	return nil
}
