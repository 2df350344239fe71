package manpage

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"--name NAME":             `\-\-name NAME`,
		`C:\path`:                 `C:\epath`,
		".SH injected":            `\&.SH injected`,
		"'br":                     `\&'br`,
		"ok\n.TH x\nnext":         "ok\n\\&.TH x\nnext",
		"plain words, no escapes": "plain words, no escapes",
	} {
		if got := text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParagraphs(t *testing.T) {
	got := paragraphs("First line\nsecond.\n\nExamples:\n   jt open gpu1\n   jt ls\nafter")
	want := "First line\nsecond.\n.PP\nExamples:\n.nf\n   jt open gpu1\n   jt ls\n.fi\nafter\n"
	if got != want {
		t.Errorf("paragraphs:\n%s\nwant:\n%s", got, want)
	}
}

// groff reads a rendered page without one warning, however hostile the
// text (requests at line starts, backslashes, quotes in headings).
func TestRenderGroffClean(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed")
	}
	page := Render(Page{
		Name: "jt", Section: "1", Version: `v1 "x"`, Summary: "a tool", Synopsis: "[options] command",
		Description: ".SH not a heading\n\\fBnot bold\n\n  'indented\n  .also",
		Options:     []Option{{Label: "--ssh-config FILE", Text: `ssh's \ config [$JT_SSH_CONFIG]`}},
		Commands:    []Command{{Name: "open", Aliases: []string{"o"}, Synopsis: "[options] HOST", Summary: `"quoted"`, Options: []Option{{Label: "--name NAME, -n NAME", Text: "x"}}}},
		SeeAlso:     []string{"ssh(1)"},
	})
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww")
	cmd.Stdin = strings.NewReader(page)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff: %v\n%s\npage:\n%s", err, stderr.String(), page)
	}
	out := stdout.String()
	for _, want := range []string{".SH not a heading", "'indented", "--name NAME, -n NAME", `ssh's \ config`} {
		if !strings.Contains(strings.NewReplacer("\u2010", "-", "\u2212", "-").Replace(stripBold(out)), want) {
			t.Errorf("rendered page lacks %q:\n%s", want, out)
		}
	}
}

// stripBold removes groff's overstrike (c\bc) from terminal output.
func stripBold(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i := 0; i < len(r); i++ {
		if i+1 < len(r) && r[i+1] == '\b' {
			i++
			continue
		}
		b.WriteRune(r[i])
	}
	return b.String()
}
