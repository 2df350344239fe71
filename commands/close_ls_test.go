package commands

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/validate"
)

// openedEnv is an env in which jt open gpu1 has run: master, forward and
// state record exist.
func openedEnv(t *testing.T) (*testEnv, int) {
	t.Helper()
	e := newTestEnv(t)
	if err := runOpen(context.Background(), e.d, openOpts()); err != nil {
		t.Fatalf("open: %v", err)
	}
	lp := localPortOf(t, e.stdout.String())
	e.ssh.Reset()
	e.stdout.Reset()
	e.stderr.Reset()
	return e, lp
}

// without drops the master housekeeping calls, which depend on whether the
// master was found alive.
func without(kinds []string, drop ...string) []string {
	return slices.DeleteFunc(kinds, func(k string) bool { return slices.Contains(drop, k) })
}

func TestCloseKeepsServer(t *testing.T) {
	e, lp := openedEnv(t)
	if err := runClose(context.Background(), e.d, closeOptions{Host: "gpu1", Name: "default", Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	calls := e.ssh.Calls()
	if got, want := e.ssh.Kinds(), []string{"cancel", "exit"}; !slices.Equal(got, want) {
		t.Fatalf("close made %q, want %q", got, want)
	}
	checkArgv(t, calls, "gpu1")
	if spec := calls[0].Args[slices.Index(calls[0].Args, "-L")+1]; spec != "127.0.0.1:"+strconv.Itoa(lp)+":127.0.0.1:8888" {
		t.Errorf("cancelled %q", spec)
	}
	f, _ := e.d.Engine.Store.Load()
	s, ok := f.Find("gpu1", "default")
	if !ok || s.LocalPort != 0 || s.PID != 4242 {
		t.Errorf("after close the record is %+v, %v; want it kept without a local port", s, ok)
	}
	if !strings.Contains(e.stderr.String(), "keeps running") {
		t.Errorf("stderr %q", e.stderr)
	}
	if e.stdout.Len() != 0 {
		t.Errorf("stdout %q", e.stdout)
	}
}

func TestCloseKill(t *testing.T) {
	e, _ := openedEnv(t)
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "name='default'") || !strings.Contains(script, "stop_server") {
			t.Errorf("not close.sh: %.200q", script)
		}
		return sshexec.Result{Stdout: []byte("@@JT-SESSION@@\nname=default\nstate=stopped\npid=4242\n@@JT-END@@\n")}, nil
	}
	if err := runClose(context.Background(), e.d, closeOptions{Host: "gpu1", Name: "default", Kill: true, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	checkArgv(t, e.ssh.Calls(), "gpu1")
	if got, want := without(e.ssh.Kinds(), "check", "ping", "master"), []string{"cancel", "script", "exit"}; !slices.Equal(got, want) {
		t.Errorf("close --kill made %q, want %q (besides master checks)", e.ssh.Kinds(), want)
	}
	f, _ := e.d.Engine.Store.Load()
	if _, ok := f.Find("gpu1", "default"); ok {
		t.Error("the record survived close --kill")
	}
	if !strings.Contains(e.stderr.String(), "stopped jupyter (pid 4242)") {
		t.Errorf("stderr %q", e.stderr)
	}
}

func TestCloseNothingRecorded(t *testing.T) {
	e := newTestEnv(t)
	if err := runClose(context.Background(), e.d, closeOptions{All: true, Name: "default", Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	if k := e.ssh.Kinds(); len(k) != 0 {
		t.Errorf("close --all with no sessions ran ssh: %q", k)
	}
	if !strings.Contains(e.stderr.String(), "nothing to close") {
		t.Errorf("stderr %q", e.stderr)
	}
	// Without HOST and without exactly one session, jt cannot guess.
	err := runClose(context.Background(), e.d, closeOptions{Name: "default", Timeout: time.Second})
	var u *validate.UsageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "HOST") {
		t.Errorf("close without HOST = %v, want a usage error", err)
	}
}

func TestLsUpAsksTheHostOnce(t *testing.T) {
	e, lp := openedEnv(t)
	if err := runLs(context.Background(), e.d, lsOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// The master's pid is asked for (-O check, answered locally), to prove
	// the listener is its own; the server listens on TCP on the host, so
	// the host vouches for it before the token goes there.
	vouchedOnce(t, e.ssh.Calls(), "default")
	lines := strings.Split(strings.TrimSpace(e.stdout.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "HOST") {
		t.Fatalf("ls printed %q", e.stdout)
	}
	row := strings.Fields(lines[1])
	if row[0] != "gpu1" || row[1] != "default" || row[2] != "up" || row[3] != "gpu1" || row[4] != "http://127.0.0.1:"+strconv.Itoa(lp)+"/" || row[6] != "4242" {
		t.Errorf("row %q", row)
	}
	if strings.Contains(e.stdout.String(), "abc") {
		t.Error("the table shows the token")
	}
}

func TestLsTunnelDown(t *testing.T) {
	e, _ := openedEnv(t)
	e.ssh.dropForwards()
	e.ssh.script = func(script string) (sshexec.Result, error) {
		if !strings.Contains(script, "@@JT-DONE@@") {
			t.Errorf("not list.sh: %.200q", script)
		}
		ans := strings.Replace(openAnswer, "status=started\n", "", 1) + "@@JT-DONE@@\n"
		return sshexec.Result{Stdout: []byte(ans)}, nil
	}
	if err := runLs(context.Background(), e.d, lsOptions{JSON: true, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if got := e.ssh.Kinds(); !slices.Equal(got, []string{"script"}) {
		t.Errorf("ls made %q, want one script run", got)
	}
	checkArgv(t, e.ssh.Calls(), "gpu1")
	var rows []map[string]any
	if err := json.Unmarshal(e.stdout.Bytes(), &rows); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, e.stdout)
	}
	if len(rows) != 1 || rows[0]["state"] != session.StateTunnelDown || rows[0]["host"] != "gpu1" || rows[0]["url"] != nil {
		t.Errorf("rows %v", rows)
	}
	if _, ok := rows[0]["token"]; ok {
		t.Error("ls --json shows the token")
	}
}

func TestLsUnreachable(t *testing.T) {
	e, _ := openedEnv(t)
	e.ssh.dropForwards()
	e.ssh.script = func(string) (sshexec.Result, error) {
		return fail(nil, 255, "ssh: connect to host gpu1 port 22: Connection refused", sshexec.ErrUnreachable)
	}
	if err := runLs(context.Background(), e.d, lsOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.stdout.String(), session.StateUnreachable) || !strings.Contains(e.stderr.String(), "Connection refused") {
		t.Errorf("stdout %q stderr %q", e.stdout, e.stderr)
	}
}
