package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

type openOptions struct {
	Host      string
	Name      string
	Dir       string
	Flavour   string // "notebook", "server" or "lab"
	Command   string // --cmd, overrides Flavour
	Port      int    // remote; 0 = first free from 8888
	LocalPort int    // 0 = the remote port if free, else the next free one
	Timeout   time.Duration
	Mux       string
	TCP       bool // listen on a TCP port instead of a private unix socket
	NoBrowser bool
	JSON      bool
	Env       templates.Env // set up on the host before Jupyter starts
	Keep      bool          // stay and restore the tunnel when it drops
	quiet     bool          // print nothing on success (jt open --keep's repairs)
	Slurm     slurmOptions  // --slurm: Jupyter as a batch job on a compute node (slurm.go)
}

func openCommand() *cli.Command {
	return &cli.Command{
		Name:      "open",
		Usage:     "start (or reattach to) a Jupyter server on HOST and open it in the local browser",
		ArgsUsage: "HOST",
		Description: `HOST is a profile from jt's config file (jt hosts lists them; jt config show
HOST shows its settings), or anything ssh accepts: an alias from ~/.ssh/config,
user@host or an address; your ssh config (User, Port, ProxyJump, IdentityFile…)
applies. Flags you give override the profile, which overrides [defaults].
jt logs in once (ssh asks for passwords and 2FA itself), sets the profile's
environment up (setup lines, modules, conda, venv), starts Jupyter in a
detached screen (or tmux) session named jt-NAME, forwards it to 127.0.0.1 and
prints the URL. If the session already runs, jt reattaches to it instead.

Examples:
   jt open gpu1
   jt open --lab --dir ~/proj gpu1
   jt open --name exp2 --port 9000 --no-browser alice@login.example.org`,
		Flags: append(append(settingFlags(), slurmFlags()...),
			&cli.BoolFlag{Name: "no-browser", Usage: "print the URL, do not open a browser"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of the URL"},
			&cli.BoolFlag{Name: "keep", Usage: "stay in the foreground and restore the tunnel whenever it drops (like autossh), until Ctrl-C"},
			&cli.BoolFlag{Name: "background", Usage: "with --keep: keep the tunnel from the background instead (jt close stops it)"},
		),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "open")
			if err != nil {
				return err
			}
			// Flags the user set, then the profile HOST (if it is one), then
			// [defaults], then jt's own values.
			o, err := openSettings(c, d.Config, host)
			if err != nil {
				return err
			}
			mapLocalHome(d, &o)
			o.NoBrowser, o.JSON, o.Keep = c.Bool("no-browser"), c.Bool("json"), c.Bool("keep")
			if o.Slurm, err = slurmSettings(c, d.Config, host); err != nil {
				return err
			}
			if c.Bool("background") && !o.Keep {
				return usageErrorf("--background goes with --keep")
			}
			if err := runOpen(ctx, d, o); err != nil || !o.Keep {
				return err
			}
			if c.Bool("background") {
				return keepInBackground(d, o)
			}
			return keepOpen(ctx, d, o, 3*time.Second)
		}),
	}
}

func (o openOptions) validate() error {
	if err := validHost(o.Host); err != nil {
		return err
	}
	if err := validName(o.Name); err != nil {
		return err
	}
	if err := validDir(o.Dir); err != nil {
		return err
	}
	if err := validCommand(o.Command); err != nil {
		return err
	}
	if err := validPort("port", o.Port, false); err != nil {
		return err
	}
	if err := validPort("local-port", o.LocalPort, true); err != nil {
		return err
	}
	switch o.Mux {
	case "auto", "screen", "tmux", "none":
	default:
		return usageErrorf("--console %s is not known: use auto, screen, tmux or none", sshexec.Printable(o.Mux))
	}
	if o.Timeout <= 0 {
		return usageErrorf("--timeout must be positive, like 60s or 2m")
	}
	return nil
}

// openResult is what jt open prints with --json.
type openResult struct {
	URL        string    `json:"url"`
	Host       string    `json:"host"`
	Name       string    `json:"name"`
	Status     string    `json:"status"` // started, running (reattached) or warm
	LocalPort  int       `json:"local_port"`
	RemotePort int       `json:"remote_port,omitempty"`
	PID        int       `json:"pid"`
	Flavour    string    `json:"flavour"`
	Dir        string    `json:"dir"`
	Node       string    `json:"node"`
	Started    time.Time `json:"started"`
	SlurmJob   string    `json:"slurm_job,omitempty"`
	SlurmNode  string    `json:"slurm_node,omitempty"`
	// Fallback says why the server listens on TCP though a private unix
	// socket was asked for; empty when nothing fell back.
	Fallback string `json:"fallback,omitempty"`
}

func runOpen(ctx context.Context, d *Deps, o openOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.Slurm.Enabled {
		return runSlurmOpen(ctx, d, o)
	}
	rec, known, err := lookup(d, o.Host, o.Name)
	if err != nil {
		return err
	}
	if known && rec.SlurmJob != "" {
		return usageErrorf("session %s on %s is Slurm job %s: jt open --slurm reattaches to it (jt close --kill ends it; or choose another --name)", o.Name, o.Host, rec.SlurmJob)
	}
	// Warm: the recorded tunnel answers with the recorded token, so master,
	// forward and server are all up and ours. No ssh needed.
	if known && answers(ctx, d, rec) {
		return finishOpen(d, o, rec, "warm", "")
	}

	unlock, err := lockHost(ctx, d, o.Host, o.Timeout+30*time.Second)
	if err != nil {
		return err
	}
	defer unlock()
	cleanPending(ctx, d, o.Host, o.Name)
	// Another jt may have opened this session while we waited for the lock.
	if rec, known, err = lookup(d, o.Host, o.Name); err != nil {
		return err
	}
	if known && answers(ctx, d, rec) {
		return finishOpen(d, o, rec, "warm", "")
	}

	// Until the session is recorded, a pending record lets the next jt
	// undo this open if it is killed; Ctrl-C undoes it right here.
	nonce, err := addPending(ctx, d, o.Host, o.Name)
	if err != nil {
		return err
	}
	var u undoer
	sess, status, fallback, err := openSteps(ctx, d, o, rec, known, nonce, &u)
	if err != nil {
		if ctx.Err() != nil {
			u.run(d, "interrupted")
		}
		dropPending(d, nonce)
		return err
	}
	if err := recordOpened(ctx, d, sess, nonce); err != nil {
		return err
	}
	return finishOpen(d, o, sess, status, fallback)
}

// answers reports whether a recorded session's tunnel answers (with its
// token, when the server has one).
func answers(ctx context.Context, d *Deps, s state.Session) bool {
	if s.LocalPort == 0 {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return probe(pctx, d, s) == nil
}

// undoer collects how to take back each step of an open, newest first.
type undoer struct{ steps []func(context.Context) }

func (u *undoer) push(f func(context.Context)) { u.steps = append(u.steps, f) }

// run undoes in reverse order, with time of its own: the command's context
// is already cancelled.
func (u *undoer) run(d *Deps, why string) {
	if len(u.steps) == 0 {
		return
	}
	d.warn("%s: undoing what this jt open started", why)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(u.steps) - 1; i >= 0; i-- {
		u.steps[i](ctx)
	}
}

// noMuxNotice tells a user without a key agent what no multiplexing costs.
func noMuxNotice(d *Deps) {
	if d.Progress && os.Getenv("SSH_AUTH_SOCK") == "" {
		d.warn("without a master connection each step logs in again, and may ask for your password each time; a key with ssh-agent avoids that (ssh-keygen, ssh-copy-id HOST, ssh-add)")
	}
}

// addPending records that an open of host/name is under way, under a new
// nonce that marks what it starts; see cleanPending.
func addPending(ctx context.Context, d *Deps, host, name string) (string, error) {
	nonce := newNonce()
	return nonce, d.Store.Update(ctx, func(f *state.File) error {
		f.Pending = append(f.Pending, state.Pending{Host: host, Name: name, Nonce: nonce, PID: os.Getpid(), Since: d.Now().UTC()})
		return nil
	})
}

// recordOpened records an opened session in place of its pending record.
func recordOpened(ctx context.Context, d *Deps, sess state.Session, nonce string) error {
	return d.Store.Update(ctx, func(f *state.File) error {
		f.Put(sess)
		f.RemovePending(nonce)
		return nil
	})
}

// dropPending removes the pending record of an open that ended without a
// session (its undo, if any, has run); it works after a Ctrl-C too.
func dropPending(d *Deps, nonce string) {
	d.Store.Update(context.Background(), func(f *state.File) error { f.RemovePending(nonce); return nil })
}

func newNonce() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// openSteps connects, finds or starts the server, forwards and probes,
// registering the undo of each step that changes something. It also says
// why the server listens on TCP, when it does though a socket was asked for.
func openSteps(ctx context.Context, d *Deps, o openOptions, rec state.Session, known bool, nonce string, u *undoer) (sess state.Session, status, fallback string, err error) {
	d.progress("connecting to %s", o.Host)
	if d.SSH.NoMux {
		noMuxNotice(d)
	}
	d, started, err := ensureMaster(ctx, d, o.Host)
	if started {
		// Also when interrupted while ssh was logging in: it may have left
		// a master behind. runOpen holds the host's lock.
		u.push(func(ctx context.Context) { exitIdleMasterLocked(ctx, d, o.Host) })
	}
	if err != nil {
		return state.Session{}, "", "", err
	}
	// Registered before the script runs: an interrupt may come while the
	// server starts. The remote side stops it only if this open started it.
	u.push(func(ctx context.Context) { killRemote(ctx, d, o.Host, o.Name, nonce, 20*time.Second) })
	sess, status, fallback, err = findOrStart(ctx, d, o, nonce)
	if err != nil {
		return sess, status, "", err
	}
	if err := forward(ctx, d, o, rec, known, &sess); err != nil {
		return sess, status, "", err
	}
	lp := sess.LocalPort
	u.push(func(ctx context.Context) {
		d.SSH.CancelForward(ctx, o.Host, sshexec.Forward{LocalPort: lp, RemotePort: sess.RemotePort, RemoteSock: sess.RemoteSock, PID: sess.ForwardPID})
	})
	d.progress("waiting for Jupyter to answer through the tunnel")
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = probeUntil(pctx, d, sess)
	cancel()
	if err != nil && ctx.Err() == nil && sess.Mode == "socket" && status == "started" && !o.TCP {
		// Forwards to unix sockets fail only when used: sshd may forbid
		// them (AllowStreamLocalForwarding no), or Jupyter is slow to
		// serve. Start over on TCP, and say why, here and in --json.
		fallback = fmt.Sprintf("the tunnel to Jupyter's unix socket gave no answer within 15s (%v): does sshd forbid stream-local forwarding, or is Jupyter slow to serve?", err)
		d.warn("%s: %s; falling back to TCP on 127.0.0.1", o.Host, fallback)
		d.SSH.CancelForward(ctx, o.Host, sshexec.Forward{LocalPort: lp, RemoteSock: sess.RemoteSock, PID: sess.ForwardPID})
		if _, kerr := killRemote(ctx, d, o.Host, o.Name, nonce, 30*time.Second); kerr != nil {
			return sess, status, fallback, kerr
		}
		o.TCP = true
		if sess, status, _, err = findOrStart(ctx, d, o, nonce); err != nil {
			return sess, status, fallback, err
		}
		if err = forward(ctx, d, o, rec, false, &sess); err != nil {
			return sess, status, fallback, err
		}
		u.push(func(ctx context.Context) {
			d.SSH.CancelForward(ctx, o.Host, sshexec.Forward{LocalPort: sess.LocalPort, RemotePort: sess.RemotePort, PID: sess.ForwardPID})
		})
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = probeUntil(pctx, d, sess)
		cancel()
	}
	if err != nil {
		if ctx.Err() != nil {
			return sess, status, fallback, ctx.Err()
		}
		return sess, status, fallback, hinted(err, "the server runs on "+o.Host+" (pid "+strconv.Itoa(sess.PID)+") but the tunnel does not reach it; see jt logs "+o.Host)
	}
	return sess, status, fallback, nil
}

// cleanPending undoes the opens of host that were killed before they
// finished (their pending record remains). One for name is only dropped:
// the caller is about to open it and adopts whatever it started.
func cleanPending(ctx context.Context, d *Deps, host, name string) {
	f, err := d.Store.Load()
	if err != nil {
		return
	}
	for _, p := range f.Pending {
		if p.Host != host || (processAlive(p.PID) && d.Now().Sub(p.Since) < time.Hour) {
			continue // another host, or that jt still runs
		}
		if p.Name != name {
			d.warn("undoing an interrupted jt open of %s on %s", p.Name, p.Host)
			if _, err := killRemote(ctx, d, p.Host, p.Name, p.Nonce, 20*time.Second); err != nil {
				continue
			}
		}
		d.Store.Update(ctx, func(f *state.File) error { f.RemovePending(p.Nonce); return nil })
	}
}

// findOrStart runs open.sh on the host: one round trip that finds the
// session's server or starts it and waits, on the host, until it is ready.
func findOrStart(ctx context.Context, d *Deps, o openOptions, nonce string) (sess state.Session, status, fallback string, err error) {
	mode := "socket"
	if o.TCP || o.Port != 0 {
		mode = "tcp"
	}
	script, err := templates.Render(templates.Open{
		Name: o.Name, Dir: o.Dir, Flavour: o.Flavour, Command: o.Command, Port: o.Port,
		Mode: mode, Timeout: int((o.Timeout + time.Second - 1) / time.Second), Mux: o.Mux, Nonce: nonce, Env: o.Env,
	})
	if err != nil {
		return state.Session{}, "", "", err
	}
	d.progress("finding or starting Jupyter (session %s) on %s", o.Name, o.Host)
	sctx, cancel := context.WithTimeout(ctx, o.Timeout+20*time.Second)
	res, runErr := runScript(sctx, d, o.Host, script)
	cancel()
	reply, perr := templates.Read(o.Host, templates.KindSession, res.Stdout)
	var none state.Session
	if templates.Refused(perr) {
		return none, "", "", perr
	}
	if runErr != nil && (perr != nil || len(reply.Blocks) == 0) {
		return none, "", "", sshHinted(fmt.Errorf("run jt's script on %s: %w", o.Host, runErr), o.Host)
	}
	if perr != nil {
		return none, "", "", fmt.Errorf("read the answer from %s: %w", o.Host, perr)
	}
	if len(reply.Blocks) == 0 {
		err := fmt.Errorf("no answer from jt's script on %s (is /bin/sh there a POSIX shell?)", o.Host)
		if len(o.Env.Setup) > 0 {
			// bash as /bin/sh keeps the setup's redirection when a setup line exits.
			return none, "", "", hinted(err, "does a setup line of the profile run exit? jt doctor "+o.Host+" runs the setup and shows its output")
		}
		return none, "", "", err
	}
	b := reply.Blocks[0]
	if b.Error {
		return none, "", "", &HintError{Err: errors.New(b.Values["error"]), Hint: b.Values["hint"], Detail: b.Log}
	}
	sess, err = sessionFromBlock(o.Host, o.Name, d.SSH.ControlPath(), b)
	if err != nil {
		return none, "", "", err
	}
	status = b.Values["status"]
	if mode == "socket" && sess.Mode == "tcp" && status == "started" {
		fallback = b.Values["fallback"]
		if fallback == "" {
			fallback = "this jupyter ignored --sock"
		}
		d.warn("%s: %s; the server listens on TCP 127.0.0.1:%d instead", o.Host, fallback, sess.RemotePort)
	}
	if w := templates.KernelWarning(b); w != "" {
		d.warn("%s: %s", o.Host, w)
	}
	return sess, status, fallback, nil
}

// killRemote stops a session's server and removes its remote files; with
// a nonce, only if the jt open with that nonce started it.
func killRemote(ctx context.Context, d *Deps, host, name, nonce string, timeout time.Duration) (templates.Block, error) {
	script, err := templates.Render(templates.Close{Name: name, Nonce: nonce})
	if err != nil {
		return templates.Block{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, runErr := runScript(cctx, d, host, script)
	reply, perr := templates.Read(host, templates.KindClose, res.Stdout)
	if templates.Refused(perr) {
		return templates.Block{}, perr
	}
	if len(reply.Blocks) == 0 {
		if runErr == nil {
			runErr = errors.New("no answer")
		}
		return templates.Block{}, sshHinted(fmt.Errorf("stop %s on %s: %w", name, host, runErr), host)
	}
	return reply.Blocks[0], nil
}

// lookup finds the recorded session, if any.
func lookup(d *Deps, host, name string) (state.Session, bool, error) {
	f, err := d.Store.Load()
	if err != nil {
		return state.Session{}, false, err
	}
	s, ok := f.Find(host, name)
	return s, ok, nil
}

// lockHost serialises jt commands that change one host's master and
// servers, so two concurrent opens make one master and one server.
func lockHost(ctx context.Context, d *Deps, host string, timeout time.Duration) (func(), error) {
	// By destination: a profile and its host share a master and a remote user.
	sum := sha256.Sum256([]byte(d.SSH.Dest(host)))
	l := flock.New(filepath.Join(d.LocalDir, "lock-"+hex.EncodeToString(sum[:8])))
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := l.TryLockContext(lctx, 25*time.Millisecond)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("another jt is working on %s (waited %v); try again", host, timeout)
	}
	return func() { l.Unlock() }, nil
}

// runScript runs a script over host's master. A master that looks alive
// but whose link is dead shows as a script that says nothing at all: jt
// then replaces the master and tries once more.
func runScript(ctx context.Context, d *Deps, host, script string) (sshexec.Result, error) {
	res, err := d.SSH.RunScript(ctx, host, strings.NewReader(script))
	if !errors.Is(err, sshexec.ErrNoAnswer) || d.SSH.NoMux || ctx.Err() != nil {
		return res, err
	}
	d.warn("%s does not answer through the open connection; connecting again", host)
	mres, merr := d.SSH.ReplaceMaster(ctx, host)
	if merr != nil {
		return res, merr
	}
	if msg := strings.TrimSpace(string(mres.Stderr)); msg != "" {
		fmt.Fprintln(d.Stderr, msg)
	}
	return d.SSH.RunScript(ctx, host, strings.NewReader(script))
}

var loginMu sync.Mutex

// ensureMaster reuses or starts the master for host, showing what ssh
// said, and reports whether it started one. It returns the Deps to go on
// with: d itself, or where ssh cannot keep a master, a copy whose client
// logs in for each step (d is shared, and never changed).
func ensureMaster(ctx context.Context, d *Deps, host string) (*Deps, bool, error) {
	// One login at a time: ssh may ask on the terminal (password, 2FA,
	// host key), and two prompts at once cannot be answered.
	loginMu.Lock()
	started, res, err := d.SSH.EnsureMaster(ctx, host)
	loginMu.Unlock()
	if err != nil && ctx.Err() != nil {
		return d, started, err
	}
	if err != nil && sshexec.MuxUnsupported(err) {
		d.warn("ssh cannot keep a master connection here (%v); going on without one", err)
		dd := d.direct()
		noMuxNotice(dd)
		return dd, false, nil
	}
	if err != nil {
		return d, false, sshHinted(err, host)
	}
	if started {
		if msg := strings.TrimSpace(string(res.Stderr)); msg != "" {
			fmt.Fprintln(d.Stderr, msg)
		}
	}
	return d, started, nil
}

// sessionFromBlock turns the remote answer (checked by templates.Read)
// about session name into a state record. The name is jt's own: an answer
// about another session is refused.
func sessionFromBlock(host, name, controlPath string, b templates.Block) (state.Session, error) {
	if b.Server == nil {
		return state.Session{}, fmt.Errorf("%s answered without server details", host)
	}
	v := b.Values
	if v["name"] != name {
		return state.Session{}, &templates.AnswerError{Host: host, Field: "a session name", Value: v["name"], Why: "jt asked about session " + name}
	}
	s := state.Session{
		Host:        host,
		Name:        name,
		ControlPath: controlPath,
		PID:         b.Server.PID,
		Mux:         v["mux"],
		Dir:         v["dir"],
		Log:         v["log"],
		Node:        v["node"],
		BootID:      v["boot"],
		Token:       b.Server.Token,
		BaseURL:     b.Server.BaseURL,
		Flavour:     v["flavour"],
	}
	if s.Flavour == "" || s.Flavour == "custom" {
		s.Flavour = flavourOf(v["runtime"])
	}
	if b.Server.Sock != "" {
		s.Mode, s.RemoteSock = "socket", b.Server.Sock
	} else {
		s.Mode, s.RemotePort = "tcp", b.Server.Port
	}
	if s.Dir == "" {
		s.Dir = b.Server.Root()
	}
	if t, err := strconv.ParseInt(v["started"], 10, 64); err == nil {
		s.Started = time.Unix(t, 0).UTC()
	}
	return s, nil
}

// flavourOf names the server family from its runtime file name.
func flavourOf(runtimeFile string) string {
	switch {
	case strings.HasPrefix(runtimeFile, "nbserver-"):
		return "notebook"
	case strings.HasPrefix(runtimeFile, "jpserver-"):
		return "server"
	}
	return ""
}

// forward adds the tunnel: the requested local port, or the recorded one
// (so the user's URL keeps its port), or the remote port, or the next free
// port after it. It sets s.LocalPort and, without a master, the forward's
// own ssh process.
func forward(ctx context.Context, d *Deps, o openOptions, rec state.Session, known bool, s *state.Session) error {
	fw := sshexec.Forward{RemoteHost: s.RemoteHost, RemotePort: s.RemotePort, RemoteSock: s.RemoteSock}
	if d.SSH.NoMux {
		s.Transport = "direct"
	}
	want := o.LocalPort
	mine := 0 // a local port the master may already hold for this session
	if known && rec.LocalPort > 0 {
		old := sshexec.Forward{LocalPort: rec.LocalPort, RemoteHost: rec.RemoteHost, RemotePort: rec.RemotePort, RemoteSock: rec.RemoteSock, PID: rec.ForwardPID}
		same := old.RemoteHost == fw.RemoteHost && old.RemotePort == fw.RemotePort && old.RemoteSock == fw.RemoteSock
		if same && d.SSH.NoMux && (want == 0 || want == rec.LocalPort) {
			// The recorded tunnel's own ssh may still run: keep it, once
			// proved to be the one holding the port.
			if pid := d.SSH.ForwardPID(o.Host, old); pid > 0 && d.SSH.ListenerOwned(ctx, o.Host, rec.LocalPort, pid, rec.ForwardStarted) == nil {
				s.LocalPort, s.ForwardPID, s.ForwardStarted = rec.LocalPort, pid, rec.ForwardStarted
				return nil
			}
		}
		if !same {
			// The server changed: its old forward must not outlive it
			// (another server may later take the old remote port).
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			d.clientFor(rec).CancelForward(cctx, o.Host, old)
			cancel()
		}
		if want == 0 || want == rec.LocalPort {
			want, mine = rec.LocalPort, rec.LocalPort
		}
	}
	if want == 0 {
		want = s.RemotePort
		if want == 0 {
			want = 8888
		}
	}
	for tries, lp := 0, want; tries < 1000 && lp <= 65535; tries, lp = tries+1, lp+1 {
		// A port held by this master for this session is not free, but an
		// identical forward may be added again (ssh answers 0).
		if (lp != mine || d.SSH.NoMux) && !sshexec.LocalPortFree(lp) {
			if o.LocalPort != 0 {
				return usageErrorf("local port %d is in use: choose another with --local-port, or leave it out", lp)
			}
			continue
		}
		fw.LocalPort = lp
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		pid, err := d.SSH.AddForwardPID(fctx, o.Host, fw)
		cancel()
		if err == nil {
			if mine > 0 && lp != mine {
				d.warn("127.0.0.1:%d is taken by another program; the tunnel moves to 127.0.0.1:%d", mine, lp)
			}
			s.LocalPort, s.ForwardPID = lp, pid
			if pid > 0 {
				s.ForwardStarted = d.Now().UTC()
			}
			return nil
		}
		if !errors.Is(err, sshexec.ErrForwardRefused) {
			return sshHinted(fmt.Errorf("forward 127.0.0.1:%d to %s: %w", lp, o.Host, err), o.Host)
		}
		if o.LocalPort != 0 {
			return usageErrorf("local port %d is in use: choose another with --local-port, or leave it out", lp)
		}
	}
	return fmt.Errorf("no free local port from %d", want)
}

func finishOpen(d *Deps, o openOptions, s state.Session, status, fallback string) error {
	url := jupyterURL(s.LocalPort, s.BaseURL, s.Token)
	if o.quiet {
		return nil
	}
	if o.JSON {
		enc := json.NewEncoder(d.Stdout)
		if err := enc.Encode(openResult{
			URL: url, Host: s.Host, Name: s.Name, Status: status, LocalPort: s.LocalPort,
			RemotePort: s.RemotePort, PID: s.PID, Flavour: s.Flavour, Dir: s.Dir, Node: s.Node, Started: s.Started,
			SlurmJob: s.SlurmJob, SlurmNode: s.SlurmNode, Fallback: fallback,
		}); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(d.Stdout, url)
	}
	switch status {
	case "started":
		d.progress("started %s (pid %d) on %s, session %s", s.Flavour, s.PID, s.Host, s.Name)
	case "running":
		d.progress("reattached to %s (pid %d) on %s, session %s", s.Flavour, s.PID, s.Host, s.Name)
	}
	if o.NoBrowser || d.Browser == nil {
		return nil
	}
	page, err := redirectFile(d.LocalDir, s.Name, url)
	if err == nil {
		err = d.Browser(page)
	}
	if err != nil && !errors.Is(err, errNoDisplay) {
		d.warn("could not open a browser (%v); open the URL above yourself", err)
	}
	return nil
}
