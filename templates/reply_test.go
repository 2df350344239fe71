package templates_test

import (
	"strings"
	"testing"

	"github.com/jt-sh/jt/templates"
)

const openAnswer = `@@JT-SESSION@@
status=started
name=default
boot=0b6d5c8e-1111-2222-3333-444455556666
node=gpu1
log=/home/a/.local/state/jt/sessions/default/log
started=1700000000
mux=screen
dir=/home/a/proj
flavour=notebook
state=running
pid=4242
runtime=nbserver-4242.json
@@JT-JSON@@
{
  "base_url": "/",
  "hostname": "localhost",
  "notebook_dir": "/home/a/proj",
  "password": false,
  "pid": 4242,
  "port": 8888,
  "secure": false,
  "sock": "",
  "token": "abc",
  "url": "http://localhost:8888/",
  "version": "6.5.4"
}
@@JT-END@@
`

func TestParseReplyIgnoresNoise(t *testing.T) {
	noisy := "Welcome to gpu1!\nLast login: Mon\n@@JT-NOT-A-MARKER@@\nstatus=bogus\n" +
		openAnswer +
		"motd after\nstate=dead\n"
	r, err := templates.ParseReply([]byte(noisy))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blocks) != 1 {
		t.Fatalf("%d blocks, want 1", len(r.Blocks))
	}
	b := r.Blocks[0]
	if b.Error || r.Complete {
		t.Errorf("Error=%v Complete=%v", b.Error, r.Complete)
	}
	for k, want := range map[string]string{"status": "started", "name": "default", "state": "running", "pid": "4242", "runtime": "nbserver-4242.json", "dir": "/home/a/proj"} {
		if b.Values[k] != want {
			t.Errorf("%s=%q, want %q", k, b.Values[k], want)
		}
	}
	if len(b.Values) != 12 {
		t.Errorf("%d values, want 12 (noise leaked in?): %v", len(b.Values), b.Values)
	}
	s := b.Server
	if s == nil {
		t.Fatal("no server")
	}
	if s.PID != 4242 || s.Port != 8888 || s.Token != "abc" || s.BaseURL != "/" || s.Root() != "/home/a/proj" || s.Version != "6.5.4" {
		t.Errorf("server = %+v", *s)
	}
}

func TestParseReplyCRLF(t *testing.T) {
	r, err := templates.ParseReply([]byte(strings.ReplaceAll("banner\n"+openAnswer, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blocks) != 1 || r.Blocks[0].Values["pid"] != "4242" || r.Blocks[0].Server == nil || r.Blocks[0].Server.Token != "abc" {
		t.Errorf("CRLF answer misread: %+v", r)
	}
}

func TestParseReplyListing(t *testing.T) {
	out := `banner
@@JT-SESSION@@
name=a
state=dead
exit=1
@@JT-LOG@@
[I 12:00] Serving notebooks
key=value looking line

Traceback (most recent call last):
@@JT-END@@
noise between blocks
@@JT-SESSION@@
name=b
url=http://127.0.0.1:1/?token=x=y
state=running
@@JT-JSON@@
{"pid": 7, "sock": "/run/j.sock", "token": "t", "base_url": "/b/", "root_dir": "/srv"}
@@JT-END@@
@@JT-DONE@@
trailing noise
`
	r, err := templates.ParseReply([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Complete || len(r.Blocks) != 2 {
		t.Fatalf("Complete=%v, %d blocks", r.Complete, len(r.Blocks))
	}
	a, b := r.Blocks[0], r.Blocks[1]
	wantLog := []string{"[I 12:00] Serving notebooks", "key=value looking line", "", "Traceback (most recent call last):"}
	if strings.Join(a.Log, "\n") != strings.Join(wantLog, "\n") {
		t.Errorf("log = %q, want %q", a.Log, wantLog)
	}
	if _, ok := a.Values["key"]; ok {
		t.Error("a log line was read as a value")
	}
	if a.Server != nil || a.Values["exit"] != "1" {
		t.Errorf("dead block = %+v", a)
	}
	if b.Values["url"] != "http://127.0.0.1:1/?token=x=y" {
		t.Errorf("value with '=' cut: %q", b.Values["url"])
	}
	if b.Server == nil || b.Server.Sock != "/run/j.sock" || b.Server.Root() != "/srv" || b.Server.BaseURL != "/b/" {
		t.Errorf("server = %+v", b.Server)
	}
}

func TestParseReplyErrorBlock(t *testing.T) {
	r, err := templates.ParseReply([]byte("@@JT-ERROR@@\nerror=screen is not installed on gpu1\nhint=install it\n@@JT-LOG@@\nlast line\n@@JT-END@@\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Blocks) != 1 || !r.Blocks[0].Error || r.Blocks[0].Values["error"] != "screen is not installed on gpu1" || r.Blocks[0].Values["hint"] != "install it" || len(r.Blocks[0].Log) != 1 {
		t.Errorf("error block = %+v", r.Blocks)
	}
}

func TestParseReplyTruncated(t *testing.T) {
	for _, cut := range []string{"@@JT-JSON@@", "\"token\"", "pid=4242", "@@JT-END@@"} {
		i := strings.Index(openAnswer, cut)
		if _, err := templates.ParseReply([]byte(openAnswer[:i])); err == nil {
			t.Errorf("answer cut before %q parsed without error", cut)
		}
	}
	// A listing cut between blocks has no error but is not Complete.
	r, err := templates.ParseReply([]byte(openAnswer))
	if err != nil || r.Complete {
		t.Errorf("listing without DONE: Complete=%v err=%v", r.Complete, err)
	}
}

func TestParseReplyBadJSON(t *testing.T) {
	_, err := templates.ParseReply([]byte("@@JT-SESSION@@\nname=x\n@@JT-JSON@@\n{\"pid\": \"not a number\"}\n@@JT-END@@\n"))
	if err == nil {
		t.Error("unreadable server JSON parsed without error")
	}
}

func TestParseReplyEmpty(t *testing.T) {
	for _, out := range []string{"", "\n", "only a banner\n"} {
		r, err := templates.ParseReply([]byte(out))
		if err != nil || len(r.Blocks) != 0 || r.Complete {
			t.Errorf("%q: %+v, %v", out, r, err)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add([]byte(openAnswer))
	f.Add([]byte("@@JT-SESSION@@\n@@JT-JSON@@\n{}\n@@JT-LOG@@\nx\n@@JT-END@@\n@@JT-DONE@@\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		r, err := templates.ParseReply(out)
		if err != nil {
			return
		}
		for _, b := range r.Blocks {
			if b.Values == nil {
				t.Fatal("block without values map")
			}
		}
	})
}
