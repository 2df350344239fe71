// Package scripttest helps the tests of jt's remote scripts, in templates
// and in each scheduler's package: the hostile values every field must
// survive, a runner of a rendered script under a throwaway HOME, and fake
// Pythons and venvs. It is used by tests only (scripts/shape keeps product
// packages from importing it).
package scripttest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jt-sh/jt/templates"
)

// Canary appears in every Hostile value that tries to run code: if it shows
// up anywhere in a rendered script outside single quotes, a value escaped.
const Canary = "pwned"

// Hostile are values a user (or a remote answer fed back) could put in any
// field. NUL is not here: no POSIX shell variable can hold it, and
// package validate refuses it before anything is rendered.
var Hostile = []string{
	"",
	"a",
	"default",
	"it's",
	"'",
	"''",
	`'\''`,
	`'\'''`,
	`\`,
	`\'`,
	`"`,
	`"$(touch /tmp/pwned)"`,
	"$(touch /tmp/pwned)",
	"`touch /tmp/pwned`",
	"${HOME:-$(touch /tmp/pwned)}",
	"$HOME/pwned",
	"a; touch /tmp/pwned",
	"a && touch /tmp/pwned #",
	"a | touch /tmp/pwned",
	"'; touch /tmp/pwned; '",
	"\"; touch /tmp/pwned; \"",
	"\n",
	"a\ntouch /tmp/pwned\n",
	"x\n'\ntouch /tmp/pwned\n#",
	"a\rb",
	"a\tb",
	"  spaces  around  ",
	"*",
	"~",
	"~/proj dir/x",
	"-x",
	"--",
	"#pwned",
	"{{.Name}}",
	"@@JT-END@@",
	"jüpyter ñ 日本語 🚀",
	"\u202e\u200b",
	"\x01\x1b[2J\x7f",
	strings.Repeat("'$(touch /tmp/pwned)`x`\"\\\n", 400), // 10 kB
	strings.Repeat("a", 10<<10),
}

// Result is what a script run by Run did.
type Result struct {
	Stdout, Stderr string
	Code           int
	Reply          templates.Reply // its stdout, parsed (not gated)
	ParseErr       error
}

// Run runs script on the stdin of the local sh (dash on Debian), in home,
// with the environment HOME=home, this process's PATH, LANG=C, then env.
func Run(t testing.TB, home string, script string, env ...string) Result {
	t.Helper()
	cmd := exec.Command("sh", "-s")
	cmd.Dir = home
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C"}, env...)
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sh: %v", err)
	}
	r := Result{Stdout: out.String(), Stderr: errb.String(), Code: cmd.ProcessState.ExitCode()}
	r.Reply, r.ParseErr = templates.ParseReply(out.Bytes())
	return r
}

// WriteFiles writes files (names relative to dir, 0600 in 0700
// directories made as needed).
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Checks runs a doctor script (templates.KindDoctor), reads its answer
// through the gate as jt doctor does, and returns status and message
// (msg, fix and log, one a line) of each check by name.
func Checks(t testing.TB, home string, script templates.Script, env ...string) map[string][2]string {
	t.Helper()
	if script.Kind != templates.KindDoctor {
		t.Fatalf("kind %v, want KindDoctor", script.Kind)
	}
	r := Run(t, home, script.Text, env...)
	reply, err := templates.Read("login1", templates.KindDoctor, []byte(r.Stdout))
	if err != nil {
		t.Fatalf("the gate refused the answer: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	if !reply.Complete {
		t.Errorf("the doctor script did not reach its end mark: %+v", reply.Blocks)
	}
	out := map[string][2]string{}
	for _, b := range reply.Blocks {
		out[b.Values["check"]] = [2]string{b.Values["status"], b.Values["msg"] + "\n" + b.Values["fix"] + "\n" + strings.Join(b.Log, "\n")}
	}
	return out
}

// PathWithout is a directory of links to every command on PATH but those
// whose names start with one of prefixes: a PATH on which the scheduler
// a test is about is missing, whatever this machine has installed.
func PathWithout(t testing.TB, prefixes ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(p)
	next:
		for _, e := range entries {
			n := e.Name()
			for _, pre := range prefixes {
				if strings.HasPrefix(n, pre) {
					continue next
				}
			}
			os.Symlink(filepath.Join(p, n), filepath.Join(dir, n)) // the first on PATH wins
		}
	}
	return dir
}
