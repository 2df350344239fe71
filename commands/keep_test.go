package commands

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
)

func TestKeeperOptionsRoundTrip(t *testing.T) {
	o := openOpts()
	o.Dir, o.Port, o.Env = "~/proj dir", 9000, templates.Env{Setup: []string{"export A='b c'"}, Modules: []string{"cuda"}, Conda: "ml", Venv: "~/v"}
	o.Slurm = slurmOptions{Enabled: true, Args: []string{"--time=1:00:00"}, KeepQueued: true}
	want := o.request()
	req, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := keeperRequest(string(req))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("keeper request:\n got %+v\nwant %+v", got, want)
	}
	for _, req := range []string{"", "1", "{", `{"Host": "-oProxyCommand=x", "Name": "default"}`} {
		if _, err := keeperRequest(req); err == nil {
			t.Errorf("keeperRequest(%q) took it", req)
		}
	}
}

// The keeper's argv is built, not copied: whatever the user typed, it is
// the global settings and the hidden command, never open or --background.
func TestKeeperArgs(t *testing.T) {
	e := newTestEnv(t)
	if got := keeperArgs(e.d); !reflect.DeepEqual(got, []string{keeperCommandName}) {
		t.Errorf("keeperArgs = %q", got)
	}
	e.d.Engine.SSH.ConfigFile, e.d.Engine.SSH.NoMux = "/home/u/my ssh config", true
	want := []string{"--ssh-config", "/home/u/my ssh config", "--no-master", keeperCommandName}
	if got := keeperArgs(e.d); !reflect.DeepEqual(got, want) {
		t.Errorf("keeperArgs = %q, want %q", got, want)
	}
	// The hidden command must exist and read the global flags as flags.
	app := NewApp("test", "test")
	if app.Command(keeperCommandName) == nil {
		t.Fatalf("no %s command", keeperCommandName)
	}
	reordered := ReorderArgs(app, append([]string{"jt"}, want...))
	if !reflect.DeepEqual(reordered[1:], want) {
		t.Errorf("ReorderArgs moved the keeper's argv: %q", reordered)
	}
}

func TestKeeperStartsNoKeeper(t *testing.T) {
	e := newTestEnv(t)
	t.Setenv(keeperEnv, "1")
	err := keepInBackground(e.d, openOpts().request())
	if err == nil || !strings.Contains(err.Error(), "never starts another") {
		t.Fatalf("keepInBackground under a keeper: %v", err)
	}
	if _, err := os.Stat(e.d.Engine.KeeperFile("gpu1", "default", "pid")); err == nil {
		t.Error("a keeper under a keeper recorded a pid")
	}
}

func TestKeeperByHandIsRefused(t *testing.T) {
	t.Setenv(keeperEnv, "")
	app := NewApp("test", "test")
	app.Writer, app.ErrWriter = new(strings.Builder), new(strings.Builder)
	if err := app.Run([]string{"jt", keeperCommandName}); err == nil {
		t.Fatal("jt __keeper without options ran")
	}
}

func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func exited(cmd *exec.Cmd, within time.Duration) bool {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(within):
		return false
	}
}

// A pid file whose pid now names another process signals nothing.
func TestStopKeeperChecksIdentity(t *testing.T) {
	e := newTestEnv(t)
	path := e.d.Engine.KeeperFile("gpu1", "default", "pid")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	other := sleeper(t)
	pid := strconv.Itoa(other.Process.Pid)
	// A start that is not the sleeper's: the same boot, a second later
	// (10 ms ticks: this process and the sleeper may share one).
	boot, ticks, _ := strings.Cut(sshexec.ProcessStart(other.Process.Pid), "/")
	n, _ := strconv.ParseUint(ticks, 10, 64)
	for name, record := range map[string]string{
		"another start": pid + " " + boot + "/" + strconv.FormatUint(n+100, 10) + "\n",
		"no start":      pid + "\n",
	} {
		os.WriteFile(path, []byte(record), 0o600)
		e.d.Engine.StopKeeper("gpu1", "default")
		if other.ProcessState != nil || other.Process.Signal(syscall.Signal(0)) != nil {
			t.Fatalf("%s: stopKeeper signalled pid %s, which is not the keeper", name, pid)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: the stale pid file is left", name)
		}
	}

	// The recorded process itself is stopped.
	if err := sshexec.WritePIDFile(path, other.Process.Pid); err != nil {
		t.Fatal(err)
	}
	e.d.Engine.StopKeeper("gpu1", "default")
	if !exited(other, 5*time.Second) {
		t.Error("stopKeeper left the recorded keeper running")
	}
}
