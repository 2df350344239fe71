package commands

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/validate"
)

// TestOpenRefusesHostileInput: every value below is refused as a usage
// error before jt runs ssh, takes a lock or touches the state file.
func TestOpenRefusesHostileInput(t *testing.T) {
	pwned := pwnedBefore()
	type tc struct {
		name string
		edit func(*openOptions)
	}
	cases := []tc{
		{"host ProxyCommand", func(o *openOptions) { o.Host = "-oProxyCommand=touch /tmp/pwned" }},
		{"host semicolon", func(o *openOptions) { o.Host = "a;touch /tmp/pwned" }},
		{"host command substitution", func(o *openOptions) { o.Host = "$(touch /tmp/pwned)" }},
		{"host backticks", func(o *openOptions) { o.Host = "`touch /tmp/pwned`" }},
		{"host newline", func(o *openOptions) { o.Host = "gpu1\n-oProxyCommand=touch /tmp/pwned" }},
		{"host empty", func(o *openOptions) { o.Host = "" }},
		{"host user@-x", func(o *openOptions) { o.Host = "user@-x" }},
		{"host 10 kB", func(o *openOptions) { o.Host = strings.Repeat("a", 10<<10) }},
		{"name ../x", func(o *openOptions) { o.Name = "../x" }},
		{"name -x", func(o *openOptions) { o.Name = "-x" }},
		{"name .x", func(o *openOptions) { o.Name = ".x" }},
		{"name a b", func(o *openOptions) { o.Name = "a b" }},
		{"name empty", func(o *openOptions) { o.Name = "" }},
		{"name 65 chars", func(o *openOptions) { o.Name = strings.Repeat("n", 65) }},
		{"name slash", func(o *openOptions) { o.Name = "a/b" }},
		{"name quote", func(o *openOptions) { o.Name = "a'b" }},
		{"name command substitution", func(o *openOptions) { o.Name = "$(touch /tmp/pwned)" }},
		{"name newline", func(o *openOptions) { o.Name = "a\nb" }},
		{"name unicode", func(o *openOptions) { o.Name = "nötebook" }},
		{"port -1", func(o *openOptions) { o.Port = -1 }},
		{"port 70000", func(o *openOptions) { o.Port = 70000 }},
		{"local port -1", func(o *openOptions) { o.LocalPort = -1 }},
		{"local port 70000", func(o *openOptions) { o.LocalPort = 70000 }},
		{"dir newline", func(o *openOptions) { o.Dir = "/tmp\ntouch /tmp/pwned" }},
		{"dir carriage return", func(o *openOptions) { o.Dir = "/tmp\r" }},
		{"dir NUL", func(o *openOptions) { o.Dir = "/tmp\x00/x" }},
		{"dir ~bob", func(o *openOptions) { o.Dir = "~bob/x" }},
		{"dir 5 kB", func(o *openOptions) { o.Dir = "/" + strings.Repeat("d", 5000) }},
		{"cmd newline", func(o *openOptions) { o.Command = "jupyter lab\ntouch /tmp/pwned" }},
		{"cmd NUL", func(o *openOptions) { o.Command = "jupyter\x00lab" }},
		{"mux hostile", func(o *openOptions) { o.Mux = "screen\ntouch /tmp/pwned" }},
		{"mux unknown", func(o *openOptions) { o.Mux = "zellij" }},
		{"timeout 0", func(o *openOptions) { o.Timeout = 0 }},
		{"timeout negative", func(o *openOptions) { o.Timeout = -time.Second }},
	}
	if os.Geteuid() != 0 {
		cases = append(cases, tc{"local port 80", func(o *openOptions) { o.LocalPort = 80 }})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t)
			o := openOpts()
			c.edit(&o)
			err := runOpen(context.Background(), e.d, o)
			checkRefused(t, e, err)

			// The same with a state file in place: its bytes stay as they were.
			e = newTestEnv(t)
			if err := e.d.Engine.Store.Update(context.Background(), func(f *state.File) error {
				f.Put(state.Session{Host: "gpu1", Name: "default", LocalPort: 1, PID: 7, Token: "t"})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(e.d.Engine.Store.Path)
			if err != nil {
				t.Fatal(err)
			}
			checkRefused(t, e, runOpen(context.Background(), e.d, o), before)
		})
	}
	if !pwned {
		if _, err := os.Stat("/tmp/pwned"); err == nil {
			t.Fatal("/tmp/pwned exists: a hostile value was run")
		}
	}
}

// checkRefused checks a usage error that left no trace: no ssh run, no
// lock taken, nothing printed, and the state file absent or, when before
// is given, holding exactly those bytes.
func checkRefused(t *testing.T, e *testEnv, err error, before ...[]byte) {
	t.Helper()
	var u *validate.UsageError
	if !errors.As(err, &u) {
		t.Fatalf("err = %T %v, want *validate.UsageError", err, err)
	}
	msg := err.Error()
	if msg == "" || strings.ContainsAny(msg, "\n\r\x00") {
		t.Errorf("message is not one line: %q", msg)
	}
	if len(msg) > 400 {
		t.Errorf("message is %d bytes long: %.100q…", len(msg), msg)
	}
	if k := e.ssh.Kinds(); len(k) != 0 {
		t.Errorf("ssh ran %d times: %q", len(k), k)
	}
	if len(before) > 0 {
		if now, err := os.ReadFile(e.d.Engine.Store.Path); err != nil || !bytes.Equal(now, before[0]) {
			t.Errorf("state file changed (%v):\n%s", err, now)
		}
	} else if _, err := os.Stat(e.d.Engine.Store.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file touched: %v", err)
	}
	if entries, _ := os.ReadDir(e.d.LocalDir); len(entries) != 0 {
		t.Errorf("local dir holds %d entries (a lock was taken?)", len(entries))
	}
	if e.stdout.Len() != 0 {
		t.Errorf("stdout: %q", e.stdout)
	}
}

func TestLsCloseRefuseHostileInput(t *testing.T) {
	pwned := pwnedBefore()
	hosts := []string{"-oProxyCommand=touch /tmp/pwned", "a;touch /tmp/pwned", "$(touch /tmp/pwned)", "a b", "user@-x"}
	for _, h := range hosts {
		t.Run("ls "+h, func(t *testing.T) {
			e := newTestEnv(t)
			checkRefused(t, e, runLs(context.Background(), e.d, lsOptions{Hosts: []string{"gpu1", h}, Timeout: time.Second}))
		})
		t.Run("close "+h, func(t *testing.T) {
			e := newTestEnv(t)
			checkRefused(t, e, runClose(context.Background(), e.d, closeOptions{Host: h, Name: "default", Kill: true, Timeout: time.Second}))
		})
	}
	for _, n := range []string{"../x", "-x", ".x", "a b", strings.Repeat("n", 65), "$(touch /tmp/pwned)"} {
		t.Run("close name "+n, func(t *testing.T) {
			e := newTestEnv(t)
			checkRefused(t, e, runClose(context.Background(), e.d, closeOptions{Host: "gpu1", Name: n, Kill: true, Timeout: time.Second}))
		})
	}
	t.Run("ls logs -1", func(t *testing.T) {
		e := newTestEnv(t)
		checkRefused(t, e, runLs(context.Background(), e.d, lsOptions{LogLines: -1, Timeout: time.Second}))
	})
	if !pwned {
		if _, err := os.Stat("/tmp/pwned"); err == nil {
			t.Fatal("/tmp/pwned exists: a hostile value was run")
		}
	}
}
