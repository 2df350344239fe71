// Package state is jt's record of the sessions it opened: a TOML file,
// read and written under a lock and replaced atomically. It is a record,
// not the truth: commands confirm every entry with the host before trusting it.
package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gofrs/flock"
)

// SchemaVersion is the version of the file this jt writes. Version 1 kept
// a Slurm job in slurm_* keys of the session; version 2 keeps any batch
// scheduler's job in the session's job table. Older files are read and
// migrated (see migrate.go).
const SchemaVersion = 2

// Session is one Jupyter server jt knows of.
type Session struct {
	Host        string `toml:"host" json:"host"`
	Name        string `toml:"name" json:"name"`
	ControlPath string `toml:"control_path" json:"control_path"`
	LocalPort   int    `toml:"local_port" json:"local_port"`
	Mode        string `toml:"mode" json:"mode"` // "tcp" or "socket"
	RemotePort  int    `toml:"remote_port,omitempty" json:"remote_port,omitempty"`
	RemoteSock  string `toml:"remote_sock,omitempty" json:"remote_sock,omitempty"`
	PID         int    `toml:"pid" json:"pid"`
	Flavour     string `toml:"flavour" json:"flavour"`
	// Version is the server's name and version, as its runtime file says:
	// "notebook 6.4.12", "jupyter_server 2.15.0" (lab runs on the latter).
	Version string `toml:"version,omitempty" json:"version,omitempty"`
	Mux     string `toml:"mux" json:"mux"`
	Dir     string `toml:"dir" json:"dir"`
	Log     string `toml:"log" json:"log"`
	// Node is the machine the server runs on (uname -n there): for a
	// plain session the host itself, or another login node of the same
	// home behind a round-robin name; for a batch session its job's node.
	Node    string    `toml:"node" json:"node"`
	BootID  string    `toml:"boot_id" json:"-"`
	Token   string    `toml:"token" json:"-"`
	BaseURL string    `toml:"base_url" json:"base_url"`
	Started time.Time `toml:"started" json:"started"`
	// Transport is "direct" for a session opened without a ControlMaster:
	// its forward is then an ssh process of its own, ForwardPID.
	Transport      string    `toml:"transport,omitempty" json:"transport,omitempty"`
	ForwardPID     int       `toml:"forward_pid,omitempty" json:"forward_pid,omitempty"`
	ForwardStarted time.Time `toml:"forward_started,omitempty" json:"forward_started,omitzero"`
	// RemoteHost is where the tunnel leads when it is not the host itself:
	// the compute node of a batch job (its address).
	RemoteHost string `toml:"remote_host,omitempty" json:"remote_host,omitempty"`
	// Job is set for a batch session: Jupyter runs as a job on a compute
	// node, and Host is the login node the tunnel goes through.
	Job *Job `toml:"job,omitempty" json:"job,omitempty"`
	// Forwards are the session's extra tunnels (jt forward), through the
	// same master, to other ports or sockets of the host (or the node).
	Forwards []Forward `toml:"forwards,omitempty" json:"forwards,omitempty"`
	// Exposure says who can reach a batch session's server: "private" (a
	// unix socket in a 0700 directory on the node, reached by ssh to the
	// node) or "token-only" (TCP on the node's address: anyone on the
	// cluster's network, with the token).
	Exposure string `toml:"exposure,omitempty" json:"exposure,omitempty"`
	// IdleSeconds is the session's jt open --idle: its host runs jt's
	// idle watcher, whose verdict jt ls reads. 0: no watcher.
	IdleSeconds int `toml:"idle_seconds,omitempty" json:"idle_seconds,omitempty"`
	// Hop is, for a plain session on another login node than the one the
	// host's name reached (Node), the control path of jt's ssh master to
	// that node through the login's master, which holds its tunnel; "":
	// the tunnel rides the login's master. (A batch session's is Job.Hop.)
	Hop string `toml:"hop,omitempty" json:"-"`
}

// Forward is an extra tunnel of a session: 127.0.0.1:LocalPort to a port
// of the session's host (a batch session: its node), or a unix socket there.
type Forward struct {
	LocalPort  int    `toml:"local_port" json:"local_port"`
	RemotePort int    `toml:"remote_port,omitempty" json:"remote_port,omitempty"`
	RemoteSock string `toml:"remote_sock,omitempty" json:"remote_sock,omitempty"`
	// At is where on a batch session's node a port forward leads, as the
	// user's program listens: "" on the node's loopback (127.0.0.1), or
	// AtNodeAddress, the address of whichever node the job runs on now.
	// Never an address: a job that moved must not lead to its old node.
	At string `toml:"at,omitempty" json:"at,omitempty"`
	// RemoteHost is the node's address as jt before At recorded it; read
	// as AtNodeAddress (see Norm), never written again.
	RemoteHost string `toml:"remote_host,omitempty" json:"-"`
}

// AtNodeAddress is Forward.At of a forward to the node's own address.
const AtNodeAddress = "node-address"

// Norm is f as this jt records it: an address an older jt recorded
// becomes AtNodeAddress.
func (f Forward) Norm() Forward {
	if f.RemoteHost != "" {
		f.At, f.RemoteHost = AtNodeAddress, ""
	}
	return f
}

// Remote is where f leads, as the user wrote it: a port or a socket path.
func (f Forward) Remote() string {
	if f.RemoteSock != "" {
		return f.RemoteSock
	}
	return strconv.Itoa(f.RemotePort)
}

// Job is a batch scheduler's job that runs a session's Jupyter.
type Job struct {
	Scheduler string `toml:"scheduler" json:"scheduler"` // "slurm"
	ID        string `toml:"id" json:"id"`
	Node      string `toml:"node,omitempty" json:"node,omitempty"`
	// Addr is the node's network address as the job found it: what the
	// login node reaches (jt forward to a port of the node).
	Addr string `toml:"addr,omitempty" json:"-"`
	// Nonce marks the job as this session's (a comment jt gives it): job
	// ids restart when a cluster's state is wiped.
	Nonce string    `toml:"nonce,omitempty" json:"-"`
	Limit string    `toml:"limit,omitempty" json:"limit,omitempty"` // as the scheduler writes it
	End   time.Time `toml:"end,omitempty" json:"end,omitzero"`      // zero without a limit
	// Hop is the control path of jt's own ssh master to the node, which
	// holds the tunnel to a private socket there; "" when the tunnel goes
	// through the login node's master.
	Hop string `toml:"hop,omitempty" json:"-"`
}

// Batch reports whether s runs as a batch job.
func (s Session) Batch() bool { return s.Job != nil && s.Job.ID != "" }

// Key identifies a session: one server per name per host.
func (s Session) Key() string { return s.Host + "\x00" + s.Name }

// Pending is a jt open in progress. A record left behind means that open
// was killed; the next jt command undoes what it may have started.
type Pending struct {
	Host  string    `toml:"host"`
	Name  string    `toml:"name"`
	Nonce string    `toml:"nonce"`
	PID   int       `toml:"pid"` // of the local jt
	Since time.Time `toml:"since"`
}

// File is the whole state file.
type File struct {
	SchemaVersion int       `toml:"schema_version"`
	Sessions      []Session `toml:"sessions"`
	Pending       []Pending `toml:"pending,omitempty"`
}

// RemovePending drops the pending record with nonce.
func (f *File) RemovePending(nonce string) {
	for i, p := range f.Pending {
		if p.Nonce == nonce {
			f.Pending = append(f.Pending[:i], f.Pending[i+1:]...)
			return
		}
	}
}

// Find returns the session for host and name.
func (f *File) Find(host, name string) (Session, bool) {
	for _, s := range f.Sessions {
		if s.Host == host && s.Name == name {
			return s, true
		}
	}
	return Session{}, false
}

// Put adds or replaces the session with the same host and name.
func (f *File) Put(s Session) {
	for i := range f.Sessions {
		if f.Sessions[i].Key() == s.Key() {
			f.Sessions[i] = s
			return
		}
	}
	f.Sessions = append(f.Sessions, s)
	sort.SliceStable(f.Sessions, func(i, j int) bool {
		if f.Sessions[i].Host != f.Sessions[j].Host {
			return f.Sessions[i].Host < f.Sessions[j].Host
		}
		return f.Sessions[i].Name < f.Sessions[j].Name
	})
}

// Remove deletes the session for host and name, reporting whether it was there.
func (f *File) Remove(host, name string) bool {
	for i, s := range f.Sessions {
		if s.Host == host && s.Name == name {
			f.Sessions = append(f.Sessions[:i], f.Sessions[i+1:]...)
			return true
		}
	}
	return false
}

// ErrNewer means the file was written by a newer jt (or has keys this one
// does not know): it is read but never overwritten.
var ErrNewer = errors.New("state file from a newer jt")

// Store is the state file at Path.
type Store struct {
	Path        string
	LockTimeout time.Duration
	// Warn, if set, is told when a corrupt file was moved aside.
	Warn func(msg string)
	// Now stamps the name of a corrupt file moved aside.
	Now func() time.Time
}

// CorruptError is a state file that is not valid TOML (or not jt's shape).
type CorruptError struct {
	Path  string
	Err   error
	Hosts []string // host names still readable in it, to rediscover from
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is damaged: %v", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Load reads the file; a missing file is an empty state. A damaged file is
// moved aside (see Update) and read as empty.
func (st Store) Load() (File, error) {
	f, _, err := st.load()
	var corrupt *CorruptError
	if errors.As(err, &corrupt) {
		unlock, lerr := st.lock(context.Background())
		if lerr != nil {
			return File{SchemaVersion: SchemaVersion}, nil
		}
		defer unlock()
		if f, _, err = st.load(); errors.As(err, &corrupt) {
			st.moveAside(corrupt)
			return File{SchemaVersion: SchemaVersion}, nil
		}
	}
	return f, err
}

// moveAside keeps a damaged file as state.toml.corrupt-TIME, so that jt can
// go on and nothing of it is lost. The caller holds the lock.
func (st Store) moveAside(c *CorruptError) {
	now := time.Now
	if st.Now != nil {
		now = st.Now
	}
	aside := st.Path + ".corrupt-" + now().UTC().Format("20060102T150405Z")
	// Never over an earlier damaged file: a name already taken gets -2, -3…
	for i := 2; i < 100; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = st.Path + ".corrupt-" + now().UTC().Format("20060102T150405Z") + "-" + strconv.Itoa(i)
	}
	if err := os.Rename(st.Path, aside); err != nil {
		return
	}
	if st.Warn != nil {
		msg := fmt.Sprintf("the state file was damaged (%v); moved it to %s and started afresh", c.Err, aside)
		if len(c.Hosts) > 0 {
			msg += "; find your sessions again with: jt ls " + strings.Join(c.Hosts, " ")
		}
		st.Warn(msg)
	}
}

var (
	schemaRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*schema_version\s*=\s*([0-9]+)`) })
	hostRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*host\s*=\s*"([A-Za-z0-9._@:\[\]%/-]+)"`) })
)

// salvage reads what it can of a damaged file: its schema version and the
// hosts it names.
func salvage(b []byte) (version int, hosts []string) {
	if m := schemaRE().FindSubmatch(b); m != nil {
		version, _ = strconv.Atoi(string(m[1]))
	}
	seen := map[string]bool{}
	for _, m := range hostRE().FindAllSubmatch(b, -1) {
		if h := string(m[1]); !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	sort.Strings(hosts)
	return version, hosts
}

func (st Store) load() (File, bool, error) {
	var f File
	b, err := os.ReadFile(st.Path)
	if errors.Is(err, os.ErrNotExist) {
		return File{SchemaVersion: SchemaVersion}, true, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("read state: %w", err)
	}
	md, err := decode(b, &f)
	if err != nil {
		version, hosts := salvage(b)
		if version > SchemaVersion {
			return f, false, fmt.Errorf("%w: %s has schema_version %d, this jt knows %d; upgrade jt", ErrNewer, st.Path, version, SchemaVersion)
		}
		return File{SchemaVersion: SchemaVersion}, false, &CorruptError{Path: st.Path, Err: err, Hosts: hosts}
	}
	if f.SchemaVersion > SchemaVersion {
		return f, false, fmt.Errorf("%w: %s has schema_version %d, this jt knows %d; upgrade jt", ErrNewer, st.Path, f.SchemaVersion, SchemaVersion)
	}
	if u := md.Undecoded(); len(u) > 0 {
		keys := make([]string, len(u))
		for i, k := range u {
			keys[i] = k.String()
		}
		return f, false, fmt.Errorf("%w: %s has keys this jt does not know (%s); upgrade jt", ErrNewer, st.Path, strings.Join(keys, ", "))
	}
	if f.SchemaVersion == 0 {
		f.SchemaVersion = SchemaVersion
	}
	return f, true, nil
}

// Update reads, changes and atomically rewrites the file under its lock.
func (st Store) Update(ctx context.Context, change func(*File) error) error {
	if err := os.MkdirAll(filepath.Dir(st.Path), 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	unlock, err := st.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	f, _, err := st.load()
	var corrupt *CorruptError
	if errors.As(err, &corrupt) {
		st.moveAside(corrupt)
		f, err = File{SchemaVersion: SchemaVersion}, nil
	}
	if err != nil {
		return err
	}
	if err := change(&f); err != nil {
		return err
	}
	f.SchemaVersion = SchemaVersion
	var b bytes.Buffer
	b.WriteString("# jt's record of its Jupyter sessions. jt rewrites this file; edits may be lost.\n")
	if err := toml.NewEncoder(&b).Encode(f); err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return WriteFileAtomic(st.Path, b.Bytes(), 0o600)
}

// lock takes the state file's lock, waiting at most LockTimeout.
func (st Store) lock(ctx context.Context) (func(), error) {
	l := flock.New(st.Path + ".lock")
	timeout := st.LockTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := l.TryLockContext(lctx, 20*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("state file %s is locked by another jt (waited %v); try again, or look for a hung jt", st.Path, timeout)
	}
	return func() { l.Unlock() }, nil
}

// WriteFileAtomic replaces path with data: a temporary file in the same
// directory, fsync, rename, fsync of the directory. A failure leaves the
// old file as it was.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, noSpace(err, dir))
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(noSpace(err, dir))
	}
	if err := tmp.Sync(); err != nil {
		return fail(noSpace(err, dir))
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// noSpace says what to do about a full disk; the old file is untouched.
func noSpace(err error, dir string) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w (the disk holding %s is full; free some space: the previous state file is kept as it was)", err, dir)
	}
	return err
}
