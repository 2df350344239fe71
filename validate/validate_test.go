package validate_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/jt-sh/jt/validate"
)

// tenK is a 10 kB value: no message may echo it whole.
var tenK = strings.Repeat("a", 10<<10)

// maxMessage bounds an error message: a hostile value is shown shortened.
const maxMessage = 400

// checkErr fails unless err is nil exactly when ok, and a message is short
// and contains each of want.
func checkErr(t *testing.T, what string, err error, ok bool, want ...string) {
	t.Helper()
	if ok {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	if err == nil {
		t.Errorf("%s: accepted, want an error", what)
		return
	}
	msg := err.Error()
	if len(msg) > maxMessage {
		t.Errorf("%s: message is %d bytes long: %.80s…", what, len(msg), msg)
	}
	if strings.ContainsAny(msg, "\x00\n\r") {
		t.Errorf("%s: message %q contains a NUL or newline", what, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: message %q does not contain %q", what, msg, w)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"a", true},
		{"exp2", true},
		{"A_b-1.2", true},
		{"_x", true},
		{"0", true},
		{strings.Repeat("n", 64), true},
		{strings.Repeat("n", 65), false},
		{tenK, false},
		{"", false},
		{"-oProxyCommand=x", false},
		{"-", false},
		{".hidden", false},
		{"..", false},
		{"$(touch x)", false},
		{"`touch x`", false},
		{"a'b", false},
		{`a"b`, false},
		{"a\nb", false},
		{"a\n", false}, // a regexp $ would let a trailing newline through
		{"a\x00b", false},
		{"a b", false},
		{" a", false},
		{"~user", false},
		{"*", false},
		{"a?", false},
		{"[ab]", false},
		{"a/b", false},
		{"a\\b", false},
		{"é", false},
	}
	for _, tt := range tests {
		err := validate.Name(tt.name)
		checkErr(t, "Name("+quote(tt.name)+")", err, tt.ok, "session name ", "not valid")
		if got := validate.IsName(tt.name); got != tt.ok {
			t.Errorf("IsName(%s) = %v, want %v", quote(tt.name), got, tt.ok)
		}
	}
}

func TestHost(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
		want string // in the message
	}{
		{"gpu1", true, ""},
		{"alice@gpu1.example.org", true, ""},
		{"ssh://alice@gpu1:2222", true, ""},
		{"[::1]", true, ""},
		{"fe80::1%eth0", true, ""},
		{"a_b-c.d", true, ""},
		{strings.Repeat("h", 255), true, ""},
		{strings.Repeat("h", 256), false, "256 bytes long"},
		{tenK, false, "10240 bytes long"},
		{"", false, "empty host"},
		{"-oProxyCommand=x", false, "starts with '-'"},
		{"alice@-oProxyCommand=x", false, "contains '='"},
		{"alice@-oProxyJump", false, "host name or one starting with '-'"},
		{"-@h", false, "starts with '-'"},
		{"@h", false, "empty user"},
		{"alice@", false, "empty host name"},
		{"a@b@c", false, "more than one '@'"},
		{"$(touch x)", false, "contains"},
		{"`touch x`", false, "contains"},
		{"h'", false, "contains"},
		{`h"`, false, "contains"},
		{"h\nx", false, "contains"},
		{"h\x00", false, "contains"},
		{"h x", false, "contains"},
		{"~user", false, "contains"},
		{"h*", false, "contains"},
		{"h?", false, "contains"},
		{"h;id", false, "contains"},
	}
	for _, tt := range tests {
		checkErr(t, "Host("+quote(tt.host)+")", validate.Host(tt.host), tt.ok, tt.want)
	}
}

func TestPort(t *testing.T) {
	tests := []struct {
		port int
		ok   bool
	}{
		{0, true}, // choose for me
		{1, true},
		{22, true},
		{8888, true},
		{65535, true},
		{65536, false},
		{-1, false},
		{1 << 31, false},
		{-1 << 31, false},
	}
	for _, tt := range tests {
		checkErr(t, "Port", validate.Port(tt.port), tt.ok, "out of range", "1-65535")
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		s    string
		ok   bool
		want string
	}{
		// OneLine is only about lines and length: shell syntax is the
		// quoting's business, not its.
		{"", true, ""},
		{"jupyter lab --ServerApp.iopub_data_rate_limit=1e10", true, ""},
		{"-oProxyCommand=x", true, ""},
		{"$(touch x)", true, ""},
		{"`touch x`", true, ""},
		{`'"`, true, ""},
		{"a b\tc", true, ""},
		{"~user", true, ""},
		{"*", true, ""},
		{strings.Repeat("x", validate.MaxValue), true, ""},
		{strings.Repeat("x", validate.MaxValue+1), false, "is 4097 bytes long, more than 4096"},
		{tenK, false, "is 10240 bytes long"},
		{"a\nb", false, `"a\nb" contains a NUL or newline`},
		{"a\n", false, "newline"},
		{"a\rb", false, "newline"},
		{"a\x00b", false, "NUL"},
		{tenK + "\n", false, "newline"},
	}
	for _, tt := range tests {
		checkErr(t, "OneLine("+quote(tt.s)+")", validate.OneLine(tt.s), tt.ok, tt.want)
	}
}

func TestRemotePath(t *testing.T) {
	tests := []struct {
		dir   string
		ok    bool
		tilde bool // the error is ErrTildeUser
	}{
		{"~", true, false},
		{"~/", true, false},
		{"~/projects/thesis", true, false},
		{"/tmp", true, false},
		{"relative/dir", true, false},
		{"a b", true, false},
		{"/tmp/~user", true, false}, // not at the start: no tilde expansion
		{"$(touch x)", true, false}, // quoted where it is used
		{"~user", false, true},
		{"~user/x", false, true},
		{"~root", false, true},
		{"~~", false, true},
		{"~-", false, true},
		{"~/a\nb", false, false},
		{"/a\x00", false, false},
		{"/" + tenK, false, false},
	}
	for _, tt := range tests {
		err := validate.RemotePath(tt.dir)
		checkErr(t, "RemotePath("+quote(tt.dir)+")", err, tt.ok)
		if got := errors.Is(err, validate.ErrTildeUser); got != tt.tilde {
			t.Errorf("RemotePath(%s): errors.Is(ErrTildeUser) = %v, want %v (%v)", quote(tt.dir), got, tt.tilde, err)
		}
	}
}

func TestOneOf(t *testing.T) {
	tests := []struct {
		s       string
		allowed []string
		ok      bool
		suggest string // the suggestion in the message, or "" for none
	}{
		{"lab", validate.Flavours, true, ""},
		{"notebook", validate.Flavours, true, ""},
		{"none", validate.Consoles, true, ""},
		{"lb", validate.Flavours, false, "lab"},
		{"LAB", validate.Flavours, false, "lab"}, // case counts for OneOf, not for Suggest
		{"lab ", validate.Flavours, false, "lab"},
		{"scren", validate.Consoles, false, "screen"},
		{"tmux\n", validate.Consoles, false, "tmux"},
		{"", validate.Flavours, false, ""},
		{"-oProxyCommand=x", validate.Consoles, false, ""},
		{"$(touch x)", validate.Consoles, false, ""},
		{"screen\x00", validate.Consoles, false, "screen"},
		{tenK, validate.Flavours, false, ""},
		{"lab", nil, false, ""},
	}
	for _, tt := range tests {
		err := validate.OneOf(tt.s, tt.allowed)
		what := "OneOf(" + quote(tt.s) + ")"
		checkErr(t, what, err, tt.ok, "is not one of "+strings.Join(tt.allowed, ", "))
		if err == nil {
			continue
		}
		if tt.suggest != "" && !strings.HasSuffix(err.Error(), ` (did you mean "`+tt.suggest+`"?)`) {
			t.Errorf("%s: %q does not suggest %q", what, err, tt.suggest)
		}
		if tt.suggest == "" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%s: %q suggests something", what, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		got        string
		candidates []string
		want       string
	}{
		{"prot", []string{"port", "host"}, ` (did you mean "port"?)`},
		{"slurm-args", []string{"slurm_args"}, ` (did you mean "slurm_args"?)`}, // '-' and '_' do not count
		{"local-port", []string{"local-ports", "local_port"}, ` (did you mean "local_port"?)`},
		{"SLURM_ARGS", []string{"slurm_args"}, ` (did you mean "slurm_args"?)`}, // nor case
		{"hots", []string{"host", "hosts"}, ` (did you mean "hosts"?)`},
		{"tcq", []string{"tmp", "tcp"}, ` (did you mean "tcp"?)`},
		{"tmq", []string{"tmp", "tcp"}, ` (did you mean "tmp"?)`},
		{"tap", []string{"tmp", "tcp"}, ` (did you mean "tmp"?)`}, // a tie: the first
		{"xyz", []string{"tmp", "tcp"}, ""},                       // 3 edits
		{"ab", []string{"xy"}, ""},                                // 2 edits of a short word
		{"abc", []string{"axy"}, ""},                              // 2 edits, still short
		{"abcd", []string{"abxy"}, ` (did you mean "abxy"?)`},     // 2 edits of 4 letters
		{"abcdef", []string{"xyzdef"}, ""},                        // 3 edits
		{"console", []string{"console"}, ` (did you mean "console"?)`},
		{"", []string{"abc"}, ""},
		{"port", nil, ""},
		{tenK, []string{"port"}, ""},
		{"-oProxyCommand=x", []string{"port", "host"}, ""},
		{"$(touch x)", []string{"port"}, ""},
		{`"port"`, []string{"port"}, ` (did you mean "port"?)`},
		{"port\n", []string{"port"}, ` (did you mean "port"?)`},
	}
	for _, tt := range tests {
		if got := validate.Suggest(tt.got, tt.candidates); got != tt.want {
			t.Errorf("Suggest(%s, %q) = %q, want %q", quote(tt.got), tt.candidates, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 1},
		{"", "abc", 3},
		{"abc", "abc", 0},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"port", "prot", 2},
		{"lab", "lb", 1},
		{"é", "e", 2}, // bytes, not runes
		{"a\x00b", "ab", 1},
		{"$(touch x)", "touch", 5},
		{tenK, "", len(tenK)},
		{"", tenK, len(tenK)},
		{tenK[:1000], tenK[:1000] + "b", 1},
	}
	for _, tt := range tests {
		if got := validate.EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%s, %s) = %d, want %d", quote(tt.a), quote(tt.b), got, tt.want)
		}
		if got := validate.EditDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("EditDistance(%s, %s) = %d, want %d (it is symmetric)", quote(tt.b), quote(tt.a), got, tt.want)
		}
	}
}

func TestUsageError(t *testing.T) {
	err := validate.Usagef("--dir %s", "x")
	var ue *validate.UsageError
	if !errors.As(err, &ue) || ue.Msg != "--dir x" || err.Error() != "--dir x" {
		t.Errorf("Usagef = %#v", err)
	}
}

// quote shows a test value shortened, as messages do.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}
