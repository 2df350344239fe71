//go:build unix

package state_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jt-sh/jt/state"
)

func session(host, name string, port int) state.Session {
	return state.Session{
		Host: host, Name: name, ControlPath: "/tmp/jt-0/cm-%C", LocalPort: port, Mode: "tcp",
		RemotePort: 8888, PID: 4242, Flavour: "lab", Mux: "screen", Dir: "/home/a/proj dir",
		Log: "/home/a/.local/state/jt/sessions/" + name + "/log", Node: "gpu1", BootID: "b00t",
		Token: "tok'\"\n=x", BaseURL: "/", Started: time.Unix(1700000000, 0).UTC(),
	}
}

func TestUpdateRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "jt")
	st := state.Store{Path: filepath.Join(dir, "state.toml")}
	want := []state.Session{session("gpu1", "default", 8888), session("alice@gpu2.example.org", "exp2", 9000)}
	want[1].Mode, want[1].RemotePort, want[1].RemoteSock = "socket", 0, "/home/a/.local/state/jt/sessions/exp2/runtime/jupyter.sock"
	want[1].Forwards = []state.Forward{{LocalPort: 6006, RemotePort: 6006}, {LocalPort: 9000, RemoteSock: "/tmp/dask.sock"}}
	err := st.Update(context.Background(), func(f *state.File) error {
		for _, s := range want {
			f.Put(s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm()&0o077 != 0 {
		t.Errorf("state dir mode %v (%v), want no access for others", di.Mode().Perm(), err)
	}
	f, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if f.SchemaVersion != state.SchemaVersion || len(f.Sessions) != 2 {
		t.Fatalf("loaded %+v", f)
	}
	for _, w := range want {
		got, ok := f.Find(w.Host, w.Name)
		if !ok {
			t.Fatalf("%s %s not found", w.Host, w.Name)
		}
		if !got.Started.Equal(w.Started) {
			t.Errorf("Started %v, want %v", got.Started, w.Started)
		}
		got.Started = w.Started
		if !reflect.DeepEqual(got, w) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, w)
		}
	}
	// No temporary files are left next to the state file.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "state.toml" && e.Name() != "state.toml.lock" {
			t.Errorf("left in the state dir: %s", e.Name())
		}
	}
}

func TestUpdateUmaskDoesNotWidenMode(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	st := state.Store{Path: filepath.Join(t.TempDir(), "state.toml")}
	if err := st.Update(context.Background(), func(f *state.File) error { f.Put(session("h", "n", 1)); return nil }); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(st.Path); fi.Mode().Perm() != 0o600 {
		t.Errorf("with umask 0 the state file is %v", fi.Mode().Perm())
	}
}

func TestPutRemove(t *testing.T) {
	var f state.File
	f.Put(session("b", "x", 1))
	f.Put(session("a", "y", 2))
	f.Put(session("a", "x", 3))
	f.Put(session("a", "x", 4)) // replaces
	if len(f.Sessions) != 3 {
		t.Fatalf("%d sessions", len(f.Sessions))
	}
	var order []string
	for _, s := range f.Sessions {
		order = append(order, fmt.Sprintf("%s/%s/%d", s.Host, s.Name, s.LocalPort))
	}
	if strings.Join(order, " ") != "a/x/4 a/y/2 b/x/1" {
		t.Errorf("order %v", order)
	}
	if !f.Remove("a", "y") || f.Remove("a", "y") || len(f.Sessions) != 2 {
		t.Errorf("Remove: %+v", f.Sessions)
	}
	if s, ok := f.Find("a", "x"); !ok || s.LocalPort != 4 {
		t.Errorf("Find(a, x) = %+v, %v", s, ok)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	st := state.Store{Path: filepath.Join(t.TempDir(), "state.toml"), LockTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				errs <- st.Update(context.Background(), func(f *state.File) error {
					f.Put(session(fmt.Sprintf("host%d", g), fmt.Sprintf("s%02d", i), 10000+g*100+i))
					return nil
				})
			}
		}()
	}
	// A reader never sees a partial file: sessions only get added, so the
	// count it sees never goes down (a truncate-then-write would show 0).
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		last := 0
		for {
			select {
			case <-stop:
				readerErr <- nil
				return
			default:
			}
			f, err := st.Load()
			if err != nil {
				readerErr <- err
				return
			}
			if len(f.Sessions) < last {
				readerErr <- fmt.Errorf("a reader saw %d sessions after %d", len(f.Sessions), last)
				return
			}
			last = len(f.Sessions)
		}
	}()
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := <-readerErr; err != nil {
		t.Error(err)
	}
	f, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sessions) != 40 {
		t.Errorf("%d sessions after 2×20 concurrent updates, want 40", len(f.Sessions))
	}
}

func TestUpdateRefusesNewerFile(t *testing.T) {
	for name, content := range map[string]string{
		"newer schema":        "schema_version = 99\n\n[[sessions]]\nhost = \"gpu1\"\nname = \"default\"\n",
		"unknown key":         "schema_version = 1\nfuture_thing = true\n\n[[sessions]]\nhost = \"gpu1\"\nname = \"default\"\n",
		"unknown session key": "schema_version = 1\n\n[[sessions]]\nhost = \"gpu1\"\nname = \"default\"\nremote_user = \"x\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			st := state.Store{Path: filepath.Join(t.TempDir(), "state.toml")}
			if err := os.WriteFile(st.Path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			called := false
			err := st.Update(context.Background(), func(f *state.File) error {
				called = true
				f.Put(session("h", "n", 1))
				return nil
			})
			if !errors.Is(err, state.ErrNewer) {
				t.Errorf("Update = %v, want ErrNewer", err)
			}
			if err != nil && !strings.Contains(err.Error(), st.Path) {
				t.Errorf("error does not name the file: %v", err)
			}
			if called {
				t.Error("the change ran on a file this jt cannot write")
			}
			if b, _ := os.ReadFile(st.Path); string(b) != content {
				t.Errorf("file changed:\n%s", b)
			}
		})
	}
}

// A damaged file is moved aside byte for byte, with a warning naming the
// hosts still readable in it, and jt goes on with an empty state.
func TestCorruptFileMovedAside(t *testing.T) {
	for _, via := range []string{"load", "update"} {
		t.Run(via, func(t *testing.T) {
			dir := t.TempDir()
			var warnings []string
			st := state.Store{
				Path: filepath.Join(dir, "state.toml"),
				Warn: func(m string) { warnings = append(warnings, m) },
				Now:  func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
			}
			content := "schema_version = 1\n[[sessions]]\nhost = \"gpu1\"\nname = \"a\"\n[[sessions]\nhost = \"gpu2\"\n\x00garbage"
			if err := os.WriteFile(st.Path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var err error
			if via == "load" {
				var f state.File
				f, err = st.Load()
				if len(f.Sessions) != 0 {
					t.Errorf("sessions from a damaged file: %+v", f.Sessions)
				}
			} else {
				err = st.Update(context.Background(), func(f *state.File) error {
					f.Put(state.Session{Host: "h", Name: "n"})
					return nil
				})
			}
			if err != nil {
				t.Fatalf("%s = %v, want it to go on", via, err)
			}
			aside := st.Path + ".corrupt-20261125T120000Z"
			if b, err := os.ReadFile(aside); err != nil || string(b) != content {
				t.Errorf("moved-aside file = %q, %v; want the damaged bytes", b, err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], aside) || !strings.Contains(warnings[0], "jt ls gpu1 gpu2") {
				t.Errorf("warnings = %q", warnings)
			}
			if via == "update" {
				f, err := st.Load()
				if err != nil || len(f.Sessions) != 1 || f.Sessions[0].Host != "h" {
					t.Errorf("after update: %+v, %v", f, err)
				}
			}
		})
	}
}

// A damaged file that says it is from a newer jt is left alone.
func TestDamagedNewerFileKept(t *testing.T) {
	st := state.Store{Path: filepath.Join(t.TempDir(), "state.toml")}
	content := "schema_version = 7\nnew_syntax = [[[\n"
	if err := os.WriteFile(st.Path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	err := st.Update(context.Background(), func(*state.File) error { return nil })
	if !errors.Is(err, state.ErrNewer) {
		t.Errorf("Update = %v, want ErrNewer", err)
	}
	if b, _ := os.ReadFile(st.Path); string(b) != content {
		t.Error("newer file was overwritten")
	}
}

func TestUpdateChangeErrorWritesNothing(t *testing.T) {
	st := state.Store{Path: filepath.Join(t.TempDir(), "state.toml")}
	boom := errors.New("boom")
	if err := st.Update(context.Background(), func(f *state.File) error { f.Put(session("h", "n", 1)); return boom }); !errors.Is(err, boom) {
		t.Errorf("Update = %v", err)
	}
	if _, err := os.Stat(st.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed change wrote the file: %v", err)
	}
}

func TestUpdateLockTimeout(t *testing.T) {
	st := state.Store{Path: filepath.Join(t.TempDir(), "state.toml"), LockTimeout: 100 * time.Millisecond}
	inner := make(chan error, 1)
	err := st.Update(context.Background(), func(*state.File) error {
		inner <- st.Update(context.Background(), func(*state.File) error { return nil })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-inner; err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("nested Update = %v, want a lock timeout", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	f, err := state.Store{Path: filepath.Join(t.TempDir(), "none.toml")}.Load()
	if err != nil || len(f.Sessions) != 0 || f.SchemaVersion != state.SchemaVersion {
		t.Errorf("Load of a missing file = %+v, %v", f, err)
	}
}

// TestWriteFileAtomicReadOnlyDir needs a directory the writer cannot write
// to. root ignores permissions, so as root the check runs in a child
// process (this test binary again) as nobody.
func TestWriteFileAtomicReadOnlyDir(t *testing.T) {
	if os.Getenv("JT_STATE_HELPER") != "" {
		t.Skip("helper process")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.toml")
	old := []byte("schema_version = 1\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		checkReadOnlyWrite(t, path, old)
		return
	}
	// As root: copy the test binary where nobody can run it, and run the
	// helper below as uid 65534 against a directory owned by root, mode 0755.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pub := t.TempDir()
	for d := pub; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	bin := filepath.Join(pub, "state.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestWriteFileAtomicHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "JT_STATE_HELPER="+path, "GOCOVERDIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestWriteFileAtomicHelper")) {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Errorf("old file changed to %q", got)
	}
}

func TestWriteFileAtomicHelper(t *testing.T) {
	path := os.Getenv("JT_STATE_HELPER")
	if path == "" {
		t.Skip("run by TestWriteFileAtomicReadOnlyDir")
	}
	if os.Geteuid() == 0 {
		t.Fatal("helper runs as root")
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkReadOnlyWrite(t, path, old)
}

func checkReadOnlyWrite(t *testing.T, path string, old []byte) {
	t.Helper()
	err := state.WriteFileAtomic(path, []byte("schema_version = 1\n# new\n"), 0o600)
	if err == nil {
		t.Fatal("WriteFileAtomic into a read-only directory succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Errorf("old file changed to %q", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory now holds %d entries", len(entries))
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A reader holding the old file keeps reading the old content: the new
	// file is a new inode, renamed over the old name.
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := state.WriteFileAtomic(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	held := make([]byte, 8)
	n, _ := r.Read(held)
	if string(held[:n]) != "old" {
		t.Errorf("open reader sees %q: the file was rewritten in place", held[:n])
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file holds %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
}

// A schema 1 file (a Slurm job in slurm_* keys) is read as schema 2, and
// rewritten as schema 2 on the next update.
func TestMigrateV1(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.toml")
	v1 := `schema_version = 1

[[sessions]]
  host = "login1"
  name = "default"
  control_path = "/tmp/cp"
  local_port = 8890
  mode = "tcp"
  remote_port = 8888
  pid = 42
  flavour = "notebook"
  mux = "slurm"
  dir = "/home/u"
  log = "/home/u/log"
  node = "c1"
  boot_id = ""
  token = "abc"
  base_url = "/"
  started = 2026-01-02T03:04:05Z
  remote_host = "10.0.0.2"
  slurm_job = "17"
  slurm_node = "c1"
  slurm_nonce = "ff00"
  slurm_limit = "1:00:00"
  slurm_end = 2026-01-02T04:04:05Z

[[sessions]]
  host = "gpu1"
  name = "default"
  control_path = "/tmp/cp"
  local_port = 8888
  mode = "socket"
  remote_sock = "/home/u/.jt/s"
  pid = 7
  flavour = "lab"
  mux = "screen"
  dir = "/home/u"
  log = "/home/u/log2"
  node = "gpu1"
  boot_id = "b"
  token = "def"
  base_url = "/"
  started = 2026-01-02T03:04:05Z

[[pending]]
  host = "gpu1"
  name = "x"
  nonce = "aa"
  pid = 1
  since = 2026-01-02T03:04:05Z
`
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	st := state.Store{Path: path}
	f, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sessions) != 2 || len(f.Pending) != 1 {
		t.Fatalf("read %d sessions, %d pending; want 2, 1", len(f.Sessions), len(f.Pending))
	}
	s, _ := f.Find("login1", "default")
	want := state.Job{Scheduler: "slurm", ID: "17", Node: "c1", Nonce: "ff00", Limit: "1:00:00", End: time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC)}
	if s.Job == nil || *s.Job != want || s.RemoteHost != "10.0.0.2" || s.Token != "abc" || !s.Batch() {
		t.Fatalf("migrated slurm session = %+v, job %+v", s, s.Job)
	}
	if p, _ := f.Find("gpu1", "default"); p.Job != nil || p.Batch() || p.RemoteSock != "/home/u/.jt/s" {
		t.Fatalf("plain session = %+v", p)
	}
	if err := st.Update(context.Background(), func(*state.File) error { return nil }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "schema_version = 2") || strings.Contains(string(b), "slurm_job") || !strings.Contains(string(b), `scheduler = "slurm"`) {
		t.Fatalf("rewritten file:\n%s", b)
	}
	again, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if s2, _ := again.Find("login1", "default"); s2.Job == nil || *s2.Job != want {
		t.Fatalf("after rewrite: %+v", s2.Job)
	}
}
