package templates_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// consoleChars is every character the console command may carry inside
// its single quotes: literal there for sh, bash, zsh, tcsh and fish alike.
const consoleChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .\"=_/@+-"

// attachNames are valid session names (commands/validName) that look odd.
var attachNames = []string{
	"default", "a", "9", "a.b", "x_y-z", "A--", "a..b", "a.-_", "jt-x", "nb.2024-01-01_v2",
	strings.Repeat("n", 64),
}

// consoles are the windows of session name, as ParseAttach gives them.
func consoles(name string) map[string]templates.Console {
	return map[string]templates.Console{
		"tmux":           {Mux: "tmux", ID: "jt-" + name, Socket: "jt-" + name},
		"tmux-default":   {Mux: "tmux", ID: "jt-" + name},
		"screen":         {Mux: "screen", ID: "4242.jt-" + name},
		"screen-own-dir": {Mux: "screen", ID: "4242.jt-" + name, ScreenDir: "/home/a.b-c/.local/state/jt/screen"},
		"screen-odd-dir": {Mux: "screen", ID: "17.jt-" + name, ScreenDir: "/u/x+y@corp/_/-."},
	}
}

// wantArgv is the command the console command must run in the end, and
// the SCREENDIR it must run with ("unset" for none).
func wantArgv(c templates.Console) (argv []string, screenDir string) {
	if c.Mux == "tmux" {
		argv = []string{"tmux"}
		if c.Socket != "" {
			argv = append(argv, "-L", c.Socket)
		}
		return append(argv, "attach-session", "-t", "="+c.ID), "unset"
	}
	screenDir = "unset"
	if c.ScreenDir != "" {
		screenDir = c.ScreenDir
	}
	return []string{"screen", "-r", c.ID}, screenDir
}

func consoleCommand(t *testing.T, c templates.Console) string {
	t.Helper()
	cmd, err := templates.ConsoleCommand(c)
	if err != nil {
		t.Fatalf("ConsoleCommand(%+v): %v", c, err)
	}
	return cmd
}

// innerOf checks the outer layer, exec /bin/sh -c '…', as sh parses it,
// and returns the text in quotes; it holds consoleChars only.
func innerOf(t *testing.T, cmd string) string {
	t.Helper()
	f := parse(t, cmd)
	if len(f.Stmts) != 1 {
		t.Fatalf("%q: %d statements, want 1", cmd, len(f.Stmts))
	}
	call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Assigns) != 0 || len(call.Args) != 4 {
		t.Fatalf("%q is not one plain command of 4 words", cmd)
	}
	for i, want := range []string{"exec", "/bin/sh", "-c"} {
		if got := call.Args[i].Lit(); got != want {
			t.Fatalf("%q: word %d is %q, want %q", cmd, i, got, want)
		}
	}
	w := call.Args[3]
	q, ok := w.Parts[0].(*syntax.SglQuoted)
	if len(w.Parts) != 1 || !ok || q.Dollar {
		t.Fatalf("%q: the script is not one single-quoted word", cmd)
	}
	if cmd != "exec /bin/sh -c '"+q.Value+"'" {
		t.Fatalf("%q is not exactly exec /bin/sh -c '…'", cmd)
	}
	for _, r := range q.Value {
		if !strings.ContainsRune(consoleChars, r) {
			t.Fatalf("%q holds %q, which not every login shell reads literally in single quotes", cmd, r)
		}
	}
	return q.Value
}

// innerArgv parses the inner script as sh does: one exec of plain words,
// quoted with double quotes at most, no expansion of any kind.
func innerArgv(t *testing.T, inner string) []string {
	t.Helper()
	f := parse(t, inner)
	if len(f.Stmts) != 1 {
		t.Fatalf("%q: %d statements, want 1", inner, len(f.Stmts))
	}
	call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Assigns) != 0 || len(call.Args) < 2 || call.Args[0].Lit() != "exec" {
		t.Fatalf("%q is not one exec", inner)
	}
	var argv []string
	for _, w := range call.Args[1:] {
		syntax.Walk(w, func(n syntax.Node) bool {
			switch n.(type) {
			case nil, *syntax.Word, *syntax.Lit, *syntax.DblQuoted:
				return true
			}
			t.Fatalf("%q: %T in a word, want literal text", inner, n)
			return false
		})
		fields, err := expand.Fields(nil, w)
		if err != nil || len(fields) != 1 {
			t.Fatalf("%q: word expands to %q (%v), want one field", inner, fields, err)
		}
		argv = append(argv, fields[0])
	}
	if argv[0] == "env" && len(argv) > 1 && strings.HasPrefix(argv[1], "SCREENDIR=") {
		argv = argv[2:]
	}
	return argv
}

func TestConsoleCommandParses(t *testing.T) {
	for _, name := range attachNames {
		for kind, c := range consoles(name) {
			cmd := consoleCommand(t, c)
			want, _ := wantArgv(c)
			if got := innerArgv(t, innerOf(t, cmd)); !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: %q runs %q, want %q", name, kind, cmd, got, want)
			}
		}
	}
}

// TestConsoleCommandLoginShells runs the console command the way sshd does,
// LOGIN_SHELL -c COMMAND, with each login shell jt supports: each must end
// in the same argv, with the same SCREENDIR.
func TestConsoleCommandLoginShells(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	show := `printf '[%s]' "$(basename "$0")" "$@"; printf ' SCREENDIR=%s\n' "${SCREENDIR-unset}"` + "\n"
	bin := fakeTools(t, dir, map[string]string{"tmux": show, "screen": show})
	for _, shell := range []string{"sh", "bash", "zsh", "tcsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel() // each shell's runs are its own: side by side
			path, err := exec.LookPath(shell)
			if err != nil {
				if shell == "sh" || shell == "bash" {
					t.Fatalf("no %s", shell)
				}
				t.Skipf("%s is not installed (apt install %s)", shell, shell)
			}
			for _, name := range attachNames {
				for kind, c := range consoles(name) {
					cmd := consoleCommand(t, c)
					run := exec.Command(path, "-c", cmd)
					run.Dir = home
					run.Env = []string{"HOME=" + home, "PATH=" + bin + ":/usr/bin:/bin", "LANG=C", "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home}
					out, err := run.CombinedOutput()
					if err != nil {
						t.Fatalf("%s -c %q: %v\n%s", shell, cmd, err, out)
					}
					argv, screenDir := wantArgv(c)
					want := "[" + strings.Join(argv, "][") + "] SCREENDIR=" + screenDir + "\n"
					if string(out) != want {
						t.Errorf("%s %s: %s -c %q printed %q, want %q", name, kind, shell, cmd, out, want)
					}
				}
			}
		})
	}
}

// TestConsoleCommandRefuses puts each hostile value in each field: the
// command is refused, or the value is plain enough to arrive as itself.
func TestConsoleCommandRefuses(t *testing.T) {
	for kind, base := range consoles("default") {
		for _, fl := range []string{"ID", "Socket", "ScreenDir"} {
			for _, v := range scripttest.Hostile {
				c := with(base, fl, v).(templates.Console)
				cmd, err := templates.ConsoleCommand(c)
				if err != nil {
					continue
				}
				inner := innerOf(t, cmd)
				if strings.Contains(inner, scripttest.Canary) {
					t.Errorf("%s %s=%.40q: hostile text in %q", kind, fl, v, cmd)
				}
				argv := innerArgv(t, inner)
				if want, _ := wantArgv(c); !reflect.DeepEqual(argv, want) {
					t.Errorf("%s %s=%.40q: %q runs %q, want %q", kind, fl, v, cmd, argv, want)
				}
			}
		}
	}
	for _, c := range []templates.Console{{}, {Mux: "none"}, {Mux: "tmux"}, {Mux: "screen", ScreenDir: "/x"}, {Mux: "other", ID: "jt-x"}} {
		if cmd, err := templates.ConsoleCommand(c); err == nil {
			t.Errorf("ConsoleCommand(%+v) = %q, want an error: there is no window", c, cmd)
		}
	}
}

func answer(lines ...string) []byte {
	return []byte("Welcome to the cluster\n@@JT-HELLO@@\n@@JT-SESSION@@\n" + strings.Join(lines, "\n") + "\n@@JT-END@@\n")
}

func TestParseAttach(t *testing.T) {
	for _, c := range []struct {
		out  []byte
		want templates.Console
	}{
		{answer("mux=tmux", "id=jt-a_b", "socket=jt-a.b"), templates.Console{Mux: "tmux", ID: "jt-a_b", Socket: "jt-a.b"}},
		{answer("mux=tmux", "id=jt-a_b"), templates.Console{Mux: "tmux", ID: "jt-a_b"}},
		{answer("mux=tmux"), templates.Console{Mux: "tmux"}},
		{answer("mux=tmux", "id=jt-a_b", "screendir=/ignored for tmux"), templates.Console{Mux: "tmux", ID: "jt-a_b"}},
		{answer("mux=screen", "id=123.jt-a.b"), templates.Console{Mux: "screen", ID: "123.jt-a.b"}},
		{answer("mux=screen", "id=123.jt-a.b", "screendir=/home/u/.local/state/jt/screen"), templates.Console{Mux: "screen", ID: "123.jt-a.b", ScreenDir: "/home/u/.local/state/jt/screen"}},
		{answer("mux=screen"), templates.Console{Mux: "screen"}},
		{answer("mux=none"), templates.Console{Mux: "none"}},
	} {
		got, err := templates.ParseAttach("gpu1", c.out, "a.b")
		if err != nil || got != c.want {
			t.Errorf("ParseAttach(%q) = %+v, %v; want %+v", c.out, got, err, c.want)
		}
	}
}

// TestParseAttachHostile: the answer comes from the remote, which may lie.
func TestParseAttachHostile(t *testing.T) {
	for _, out := range [][]byte{
		nil,
		[]byte("no markers at all\n"),
		[]byte("@@JT-SESSION@@\nmux=tmux\nid=jt-a.b\n"), // cut short
		[]byte("@@JT-ERROR@@\nmessage=x\n@@JT-END@@\n"),
		answer(),
		answer("mux=zellij", "id=jt-a.b"),
		answer("mux=tmux", "id=jt-other"),
		answer("mux=tmux", "id=jt-a.bc"),
		answer("mux=tmux", "id=jt-a"),
		answer("mux=tmux", "id=jt-a.b"), // tmux has no such session name
		answer("mux=tmux", "id=jt-a_b;touch pwned"),
		answer("mux=tmux", "id=-t"),
		answer("mux=tmux", "id=jt-a_b", "socket=../../tmp/x"),
		answer("mux=tmux", "id=jt-a_b", "socket=jt-a.b -x"),
		answer("mux=tmux", "id=jt-a_b", "socket=jt-a_b"),
		answer("mux=tmux", "id=jt-a_b", "socket=default"),
		answer("mux=screen", "id=jt-a.b"),
		answer("mux=screen", "id=123.jt-other"),
		answer("mux=screen", "id=123.jt-a.b.c"),
		answer("mux=screen", "id=-x.jt-a.b"),
		answer("mux=screen", "id=12345678901.jt-a.b"),
		answer("mux=screen", "id=1.jt-a.b", "socket=jt-a.b", "screendir=relative/dir"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=~/screen"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/home/u/../../etc"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/home/u/.."),
		answer("mux=screen", "id=1.jt-a.b", "screendir=$HOME/x"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/home/my dir"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/home/it's"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/home/u!x"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/home/u\\x"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/a:b"),
		answer("mux=screen", "id=1.jt-a.b", "screendir=/"+strings.Repeat("a", 2000)),
	} {
		if got, err := templates.ParseAttach("gpu1", out, "a.b"); err == nil {
			t.Errorf("ParseAttach(%q) = %+v, want an error", out, got)
		}
	}
}

// TestAttachScriptToConsole runs attach.sh against a fake tmux that knows
// session NAME on its own socket (spelt as tmux does, . made _), and the
// resulting console command with sh as the login shell: find, check, open,
// end to end without ssh.
func TestAttachScriptToConsole(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	name := uniqueName(t, "at.1")
	session := "jt-" + strings.ReplaceAll(name, ".", "_")
	sess := filepath.Join(sessionsDir(home), name)
	scripttest.WriteFiles(t, sess, map[string]string{"mux": "tmux\n"})
	bin := fakeTools(t, dir, map[string]string{"tmux": `case "$*" in
"-L jt-` + name + ` has-session -t =` + session + `") exit 0 ;;
*has-session*) exit 1 ;;
*) printf '[%s]' "$@"; echo ;;
esac
`})
	path := "PATH=" + bin + ":/usr/bin:/bin"
	r := scripttest.Run(t, home, render(t, templates.Attach{Name: name}), path)
	if r.Code != 0 {
		t.Fatalf("attach.sh: exit %d\n%s", r.Code, r.Stderr)
	}
	c, err := templates.ParseAttach("gpu1", []byte(r.Stdout), name)
	if err != nil {
		t.Fatalf("ParseAttach(%q): %v", r.Stdout, err)
	}
	cmd := consoleCommand(t, c)
	run := exec.Command("sh", "-c", cmd)
	run.Env = []string{"HOME=" + home, path}
	out, err := run.CombinedOutput()
	if want := "[-L][jt-" + name + "][attach-session][-t][=" + session + "]\n"; err != nil || string(out) != want {
		t.Errorf("sh -c %q: %v, printed %q, want %q", cmd, err, out, want)
	}
}
