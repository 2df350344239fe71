package templates_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/jt-sh/jt/templates"
)

func TestKernelScript(t *testing.T) {
	key := "a0b1c2d3-e4f5-4677-8899-aabbccddeeff"
	for _, sched := range []string{"", "slurm"} {
		s, err := templates.Render(templates.Kernel{Nonce: "0123abcd", Key: key, Scheme: "hmac-sha256", Timeout: 60,
			Scheduler: sched, Args: []string{"--time=1:00:00", "$(touch x)"}, Env: templates.Env{Venv: "~/v"}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-n", "-c", s).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: sh -n: %v\n%s", sched, err, out)
		}
		if strings.Count(s, key) != 1 || !strings.Contains(s, `'"`+key+`"'`) {
			t.Errorf("%q: the key is not once, single-quoted, in the script", sched)
		}
		if !strings.HasSuffix(s, "main; exit 0\n") {
			t.Errorf("%q: the script does not end with main; exit 0", sched)
		}
		if sched == "slurm" && !strings.Contains(s, `'$(touch x)'`) {
			t.Errorf("slurm: a submit option is not quoted")
		}
	}
	for _, bad := range []templates.Kernel{
		{Nonce: "0123abcd", Key: "a'b", Scheme: "hmac-sha256"},
		{Nonce: "0123abcd", Key: "", Scheme: "hmac-sha256"},
		{Nonce: "0123abcd", Key: "k", Scheme: "hmac-md5"},
		{Nonce: "../x", Key: "k", Scheme: "hmac-sha256"},
		{Nonce: "0123abcd", Key: "k", Scheme: "hmac-sha256", Scheduler: "sge"},
	} {
		if _, err := templates.Render(bad); err == nil {
			t.Errorf("Render(%+v) passed", bad)
		}
	}
}

func TestKernelAnswer(t *testing.T) {
	answer := func(dir string) []byte {
		return []byte("banner\n@@JT-SESSION@@\ndir=" + dir + "\npid=42\nnode=vm\n@@JT-END@@\n")
	}
	r, err := templates.Read("h", templates.KindKernel, answer("/home/u/.local/state/jt/kernels/ab"))
	if err != nil {
		t.Fatal(err)
	}
	if k := r.Blocks[0].Kernel(); k.Dir != "/home/u/.local/state/jt/kernels/ab" || k.PID != 42 || k.Node != "vm" {
		t.Fatalf("Kernel() = %+v", k)
	}
	for _, bad := range []string{"relative/dir", "/a/../b", "/a:b", "/a/%C", "/a/$HOME", "/~x", "/" + strings.Repeat("a", 100)} {
		if _, err := templates.Read("h", templates.KindKernel, answer(bad)); !templates.Refused(err) {
			t.Errorf("dir %q: %v; want refused", bad, err)
		}
	}
}
