package templates_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/visible"
)

// serverJSON is a runtime file with one field replaced by raw JSON text.
func serverJSON(field, raw string) string {
	f := map[string]string{
		"pid": "4242", "port": "0", "sock": `"/home/a/.local/state/jt/sessions/default/runtime/jupyter.sock"`,
		"token": `"abc123"`, "base_url": `"/"`, "password": "false", "notebook_dir": `"/home/a"`,
	}
	f[field] = raw
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range []string{"pid", "port", "sock", "token", "base_url", "password", "notebook_dir"} {
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(`"` + k + `": ` + f[k])
	}
	b.WriteString("}")
	return b.String()
}

func sessionAnswer(kv, js string) string {
	return "@@JT-SESSION@@\nstatus=started\nname=default\nnode=gpu1\nstate=running\npid=4242\n" + kv + "@@JT-JSON@@\n" + js + "\n@@JT-END@@\n"
}

func TestReadAcceptsRealAnswers(t *testing.T) {
	for _, out := range []string{openAnswer, sessionAnswer("", serverJSON("", ""))} {
		r, err := templates.Read("gpu1", templates.KindSession, []byte(out))
		if err != nil || len(r.Blocks) != 1 || r.Blocks[0].Server == nil {
			t.Errorf("a real answer was refused: %v\n%s", err, out)
		}
	}
	// A password server has no token.
	out := sessionAnswer("", serverJSON("token", `""`))
	out = strings.Replace(out, `"password": false`, `"password": true`, 1)
	if _, err := templates.Read("gpu1", templates.KindSession, []byte(out)); err != nil {
		t.Errorf("a password server without a token was refused: %v", err)
	}
}

func TestReadRefusesHostileValues(t *testing.T) {
	type tc struct {
		name, field, out string
	}
	var cases []tc
	server := func(name, field, key, raw string) {
		cases = append(cases, tc{name, field, sessionAnswer("", serverJSON(key, raw))})
	}
	value := func(name, field, kv string) {
		cases = append(cases, tc{name, field, sessionAnswer(kv, serverJSON("", ""))})
	}
	for _, sock := range []string{"${HOME}/j.sock", "/tmp/%u.sock", "/tmp/%d/j", "/tmp/a:b", "/tmp/a b", `/tmp/a\nb`, "~/j.sock", "j.sock", "/tmp/../etc/j", "/tmp/" + strings.Repeat("s", 200), `/tmp/\u001b[2J`} {
		server("sock "+sock, "a socket path", "sock", `"`+sock+`"`)
	}
	for _, u := range []string{"@127.0.0.1:17777/", "//127.0.0.1:17777/", "http://evil/", `/a\\b/`, "/a@b/", "/a//b/", "/../", "/a", "a/", "/%2e%2e/", "/a?x=/", "/a#/"} {
		server("base_url "+u, "a base_url", "base_url", `"`+u+`"`)
	}
	for _, tok := range []string{`a\" b'c`, "a b", "", strings.Repeat("t", 257), "tok\\nen", "tök"} {
		server("token "+tok, "a token", "token", `"`+tok+`"`)
	}
	for _, p := range []string{"70000", "-1", "65536"} {
		server("port "+p, "a port", "port", p)
	}
	cases = append(cases, tc{"port 0 without a socket", "a port", sessionAnswer("", strings.Replace(serverJSON("port", "0"), `"sock": "/home/a/.local/state/jt/sessions/default/runtime/jupyter.sock"`, `"sock": ""`, 1))})
	for _, p := range []string{"0", "-5", "99999999999"} {
		server("pid "+p, "a pid", "pid", p)
	}
	server("root dir with ESC", "a directory", "notebook_dir", `"/home/\u001b]0;x\u0007"`)
	for _, n := range []string{"/../../../../tmp/victim", "../x", "a b", ".x", ""} {
		value("name "+n, "a session name", "name="+n+"\n")
	}
	value("node with ESC", "a node name", "node=gpu1\x1b[31m\n")
	value("node with a space", "a node name", "node=gpu1 rm -rf\n")
	value("node with a slash", "a node name", "node=a/b\n")
	value("pid 0", "a pid", "pid=0\n")
	value("pid letters", "a pid", "pid=12x\n")
	value("runtime path", "a runtime file name", "runtime=../nbserver-1.json\n")
	value("dir with ESC", "a directory", "dir=/home/a\x1b[2J\n")
	value("log with CR", "a log path", "log=/home/a\r/log\n")
	value("mux unknown", "a multiplexer", "mux=zellij\n")

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := templates.Read("gpu1", templates.KindSession, []byte(c.out))
			if err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			if !templates.Refused(err) {
				t.Fatalf("err %v is not a refusal", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "gpu1 answered "+c.field+" jt will not use: ") {
				t.Errorf("message %q does not name the host and %s", msg, c.field)
			}
			if strings.ContainsFunc(msg, unicode.IsControl) {
				t.Errorf("message holds a control character: %q", msg)
			}
			if len(r.Blocks) != 0 {
				t.Errorf("blocks came back with the refusal")
			}
		})
	}
}

func TestReadRefusesBigAnswers(t *testing.T) {
	out := sessionAnswer("pad="+strings.Repeat("x", templates.MaxReply)+"\n", serverJSON("", ""))
	_, err := templates.Read("gpu1", templates.KindSession, []byte(out))
	if !templates.Refused(err) || !strings.Contains(err.Error(), "gpu1 answered an answer") {
		t.Errorf("a 1 MiB answer: %v", err)
	}
}

func TestReadDropsUncheckedKeys(t *testing.T) {
	r, err := templates.Read("gpu1", templates.KindSession, []byte(sessionAnswer("evil=$(x)\nurl=http://x/\n", serverJSON("", ""))))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"evil", "url"} {
		if _, ok := r.Blocks[0].Values[k]; ok {
			t.Errorf("key %s, which no grammar names, came through", k)
		}
	}
}

func TestReadMakesTextVisible(t *testing.T) {
	out := "@@JT-ERROR@@\nerror=bad\x1b]0;owned\x07 thing\x1b[2J\rjt: hint: run this\nhint=\x1b[1Ainstall\u009b it\n@@JT-LOG@@\n|line\x1b[31m red\tok\n@@JT-END@@\n"
	r, err := templates.Read("gpu1", templates.KindSession, []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	b := r.Blocks[0]
	for _, s := range append([]string{b.Values["error"], b.Values["hint"]}, b.Log...) {
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) {
			t.Errorf("control character left in %q", s)
		}
	}
	if want := `bad\x1b]0;owned\x07 thing\x1b[2J\x0djt: hint: run this`; b.Values["error"] != want {
		t.Errorf("error = %q, want %q", b.Values["error"], want)
	}
	if want := "line\\x1b[31m red\tok"; b.Log[0] != want {
		t.Errorf("log = %q, want %q", b.Log[0], want)
	}
}

func TestVisibleWriterKeepsNewlinesAndSplitRunes(t *testing.T) {
	var out bytes.Buffer
	w := &visible.Writer{W: &out}
	in := []byte("ä\x1b[2Jb\n\tc\xffé")
	for i := range in {
		w.Write(in[i : i+1]) // one byte at a time: runes arrive cut
	}
	w.Write([]byte{0xc3})
	w.Flush()
	if want := "ä\\x1b[2Jb\n\tc\\xffé\\xc3"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestParseQueueLineRefusesHostileFields(t *testing.T) {
	for _, l := range []string{
		"@@JT-QUEUE@@ 42;rm|PENDING|None|0||started",
		"@@JT-QUEUE@@ 42|PEND\x1bING|None|0||started",
		"@@JT-QUEUE@@ 42|RUNNING|None|0|node 7|started",
		"@@JT-QUEUE@@ 42|RUNNING|None|-3|node7|started",
		"@@JT-QUEUE@@ 42|RUNNING|None|3|node7|owned",
	} {
		if q, ok := templates.ParseQueueLine(l); ok {
			t.Errorf("%q read as %+v", l, q)
		}
	}
	q, ok := templates.ParseQueueLine("@@JT-QUEUE@@ 42|PENDING|Bad\x1b[2J|3||started")
	if !ok || q.Reason != `Bad\x1b[2J` {
		t.Errorf("reason not made visible: %+v %v", q, ok)
	}
}

// FuzzReadAnswer: whatever a host answers, the gate either refuses it or
// hands on only values that keep to their grammars.
func FuzzReadAnswer(f *testing.F) {
	f.Add([]byte(openAnswer), uint8(0))
	f.Add([]byte(sessionAnswer("", serverJSON("sock", `"/tmp/${HOME}"`))), uint8(0))
	f.Add([]byte("@@JT-ERROR@@\nerror=\x1b[2J\nhint=x\n@@JT-LOG@@\n|\x1b\n@@JT-END@@\n"), uint8(0))
	f.Add([]byte("@@JT-SESSION@@\njob=1\nname=a\nnodes=n[1-2]\nstate=RUNNING\n@@JT-END@@\n@@JT-DONE@@\n"), uint8(5))
	f.Fuzz(func(t *testing.T, out []byte, kind uint8) {
		r, err := templates.Read("gpu1", templates.Kind(kind%7), out)
		if err != nil {
			if len(r.Blocks) != 0 && templates.Refused(err) {
				t.Fatal("blocks came back with a refusal")
			}
			return
		}
		for _, b := range r.Blocks {
			for k, v := range b.Values {
				if strings.ContainsAny(v, "\n\r\x1b\x00") {
					t.Fatalf("%s=%q holds a control character", k, v)
				}
			}
			for _, l := range b.Log {
				if strings.ContainsAny(l, "\n\r\x1b\x00") {
					t.Fatalf("log line %q holds a control character", l)
				}
			}
			if s := b.Server; s != nil {
				if s.Sock != "" && templates.CheckSocketPath(s.Sock) != "" {
					t.Fatalf("socket path %q passed", s.Sock)
				}
				if templates.CheckBaseURL(s.BaseURL) != "" {
					t.Fatalf("base_url %q passed", s.BaseURL)
				}
				if s.Port < 0 || s.Port > 65535 || s.PID < 1 {
					t.Fatalf("port %d pid %d passed", s.Port, s.PID)
				}
				if strings.ContainsAny(s.Token, " '\"\n%$@/") {
					t.Fatalf("token %q passed", s.Token)
				}
			}
		}
	})
}

// A server's version is shown by jt ls: plain, or not at all.
func TestCheckVersion(t *testing.T) {
	for _, ok := range []string{"6.4.12", "2.15.0", "1.23.3", "4.0.0rc1", "2.0.0+local_1"} {
		if !templates.CheckVersion(ok) {
			t.Errorf("CheckVersion(%q) = false, want true", ok)
		}
	}
	for _, bad := range []string{"", "v2", "2.0 ", "2.0\x1b[31m", "$(touch x)", "2.0\n", strings.Repeat("1", 40), "-oProxyCommand=x"} {
		if templates.CheckVersion(bad) {
			t.Errorf("CheckVersion(%q) = true, want false", bad)
		}
	}
}

// A runtime file's version reaches jt ls only when it is plain; a hostile
// one is dropped, and the answer is still used.
func TestReadDropsHostileVersion(t *testing.T) {
	for raw, want := range map[string]string{`"2.15.0"`: "2.15.0", `"2.0\u001b[2J"`: "", `"$(touch x)"`: "", `"` + strings.Repeat("9", 100) + `"`: ""} {
		js := strings.Replace(serverJSON("", ""), "}", `, "version": `+raw+"}", 1)
		r, err := templates.Read("gpu1", templates.KindSession, []byte(sessionAnswer("", js)))
		if err != nil || len(r.Blocks) != 1 || r.Blocks[0].Server == nil {
			t.Fatalf("version %s: %v", raw, err)
		}
		if got := r.Blocks[0].Server.Version; got != want {
			t.Errorf("version %s read as %q, want %q", raw, got, want)
		}
	}
}
