package commands

// jt open --slurm: Jupyter as a Slurm batch job on a compute node, reached
// through the login node's master (-L 127.0.0.1:LP:NODE-ADDRESS:PORT). The
// login node is HOST; the job's files live in the user's home, which the
// compute nodes share: ~/.local/state/jt/slurm/NAME/NONCE/.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/urfave/cli/v2"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/jt-sh/jt/config"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// slurmOptions are jt open's Slurm settings.
type slurmOptions struct {
	Enabled    bool
	Args       []string // sbatch options, one word each
	KeepQueued bool     // Ctrl-C while queued leaves the job in the queue
}

// Row states of jt ls for Slurm sessions.
const (
	StateQueued   = "queued"
	StateJobEnded = "job ended"
)

func slurmFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "slurm", Usage: "HOST is a Slurm login node: run Jupyter as a batch job on a compute node (sbatch), and forward to it"},
		&cli.StringFlag{Name: "slurm-args", Usage: "sbatch `OPTIONS` as shell words, e.g. '--partition=gpu --time=2:00:00 --gres=gpu:1 -c 4' (implies --slurm)"},
		&cli.BoolFlag{Name: "keep-queued", Usage: "with --slurm: Ctrl-C while the job waits in the queue leaves it queued (jt open --slurm reattaches later)"},
	}
}

// slurmSettings reads --slurm, --slurm-args and --keep-queued, else the
// profile's (or [defaults]') slurm and slurm_args.
func slurmSettings(c *cli.Context, cfg *config.File, host string) (slurmOptions, error) {
	var o slurmOptions
	profile, _ := cfg.Profile(host)
	var defaults config.Table
	if cfg != nil {
		defaults = cfg.Defaults
	}
	for _, t := range []config.Table{defaults, profile} {
		if v, ok := t["slurm"]; ok {
			o.Enabled, _ = v.V.(bool)
		}
		if v, ok := t["slurm_args"]; ok {
			o.Args, _ = v.V.([]string)
		}
	}
	if c.IsSet("slurm") {
		o.Enabled = c.Bool("slurm")
	}
	if c.IsSet("slurm-args") {
		args, err := splitSlurmArgs(c.String("slurm-args"))
		if err != nil {
			return o, err
		}
		o.Args = args
		if !c.IsSet("slurm") {
			o.Enabled = true
		}
	}
	o.KeepQueued = c.Bool("keep-queued")
	if o.KeepQueued && !o.Enabled {
		return o, usageErrorf("--keep-queued goes with --slurm")
	}
	return o, validSlurmArgs(o.Args)
}

// splitSlurmArgs splits --slurm-args into words as a POSIX shell would,
// quotes and backslashes included, but never expands anything: a $, a
// backquote or a glob stays what it is or is refused.
func splitSlurmArgs(s string) ([]string, error) {
	if strings.ContainsAny(s, "\x00") {
		return nil, usageErrorf("--slurm-args contains a NUL byte")
	}
	var words []string
	for w, err := range syntax.NewParser().WordsSeq(strings.NewReader(s)) {
		if err != nil {
			return nil, usageErrorf("--slurm-args %s: %v (quote it as for a shell)", sshexec.Printable(s), err)
		}
		if !literalWord(w) {
			return nil, usageErrorf("--slurm-args: %s would need the shell to expand it; jt passes options as they are written: write the value itself", sshexec.Printable(wordText(s, w)))
		}
		f, err := expand.Fields(nil, w)
		if err != nil || len(f) != 1 {
			return nil, usageErrorf("--slurm-args: cannot read %s as one word", sshexec.Printable(wordText(s, w)))
		}
		words = append(words, f[0])
	}
	return words, nil
}

// literalWord reports whether w is only text and quotes: no parameter,
// command or arithmetic expansion, no globbing pattern, no tilde.
func literalWord(w *syntax.Word) bool {
	for i, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			if i == 0 && strings.HasPrefix(p.Value, "~") {
				return false
			}
			if strings.ContainsAny(unescaped(p.Value), "*?[") {
				return false
			}
		case *syntax.SglQuoted:
			if p.Dollar {
				return false
			}
		case *syntax.DblQuoted:
			if p.Dollar {
				return false
			}
			for _, q := range p.Parts {
				if _, ok := q.(*syntax.Lit); !ok {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// unescaped drops backslash-escaped characters, which are literal.
func unescaped(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func wordText(src string, w *syntax.Word) string {
	start, end := int(w.Pos().Offset()), int(w.End().Offset())
	if start < 0 || end > len(src) || start > end {
		return "a word"
	}
	return src[start:end]
}

// jtOwnedSbatch are sbatch options jt sets itself (name, comment, output)
// or that would replace its job script.
var jtOwnedSbatch = []string{"-J", "--job-name", "--comment", "-o", "--output", "--wrap", "--parsable", "--open-mode"}

// validSlurmArgs checks sbatch options: each one line, each an option or
// the value of the option before it (a stray word would be read by sbatch
// as the job script), none of jt's own.
func validSlurmArgs(args []string) error {
	valueNext := false
	for _, a := range args {
		if strings.ContainsAny(a, "\x00\n\r") {
			return usageErrorf("--slurm-args: %s contains a newline", sshexec.Printable(a))
		}
		if len(a) > 4096 {
			return usageErrorf("--slurm-args: a word is %d bytes long, more than 4096", len(a))
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if !valueNext {
				return usageErrorf("--slurm-args: %s is not an option; write options like --partition=gpu or -p gpu", sshexec.Printable(a))
			}
			valueNext = false
			continue
		}
		if a == "--" {
			return usageErrorf("--slurm-args: -- would end sbatch's options; leave it out")
		}
		name, _, hasValue := strings.Cut(a, "=")
		for _, own := range jtOwnedSbatch {
			if name == own || (len(own) == 2 && strings.HasPrefix(a, own)) {
				return usageErrorf("--slurm-args: jt sets %s itself (job name jt-NAME, its comment and output file); leave it out", own)
			}
		}
		// "-p gpu" and "--partition gpu" take the next word; "-pgpu",
		// "--partition=gpu" and flags such as --exclusive may not.
		valueNext = !hasValue && (strings.HasPrefix(a, "--") || len(a) == 2)
	}
	return nil
}

// runSlurmOpen is jt open --slurm: reattach to the session's job or submit
// one, wait while it is queued, forward to the node, probe, record.
func runSlurmOpen(ctx context.Context, d *Deps, o openOptions) error {
	rec, known, err := lookup(d, o.Host, o.Name)
	if err != nil {
		return err
	}
	if known && rec.SlurmJob == "" && rec.PID > 0 {
		return usageErrorf("session %s on %s runs on the login node, not in Slurm: jt close --kill --name %s %s first, or choose another --name", o.Name, o.Host, o.Name, o.Host)
	}
	if known && rec.Token != "" && rec.LocalPort > 0 {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := probe(pctx, d, rec)
		cancel()
		if err == nil {
			return finishOpen(d, o, rec, "warm", "")
		}
	}
	// The wait in the queue may be long: it holds this session's lock, and
	// the host's only while the master is made (slurmSteps), so that other
	// sessions of the host, and jt close, go on meanwhile.
	unlock, err := lockSession(ctx, d, o.Host, o.Name, o.Timeout+30*time.Second)
	if err != nil {
		return err
	}
	defer unlock()

	nonce, err := addPending(ctx, d, o.Host, o.Name)
	if err != nil {
		return err
	}
	var u undoer
	relay := &queueRelay{d: d, host: o.Host}
	sess, status, err := slurmSteps(ctx, d, o, rec, known, nonce, &u, relay)
	if err != nil {
		if ctx.Err() != nil {
			u.run(d, "interrupted")
		} else if relay.lastJob() != "" && !relay.ended {
			// This open's job must not hold a node that jt cannot use;
			// a job found queued or running is left alone (another nonce).
			u.run(d, "failed")
		} else {
			exitIdleMaster(context.Background(), d, o.Host)
		}
		dropPending(d, nonce)
		return err
	}
	if err := recordOpened(ctx, d, sess, nonce); err != nil {
		return err
	}
	if status == "started" || status == "running" {
		until := "no time limit"
		if !sess.SlurmEnd.IsZero() {
			until = "until " + sess.SlurmEnd.Local().Format("15:04 Mon 2 Jan") + " (limit " + sess.SlurmLimit + ")"
		}
		d.progress("job %s runs on %s, %s", sess.SlurmJob, sess.SlurmNode, until)
	}
	return finishOpen(d, o, sess, status, "")
}

// slurmSteps connects, runs the waiting script (relaying its queue lines),
// forwards to the node and probes, registering the undo of each step.
func slurmSteps(ctx context.Context, d *Deps, o openOptions, rec state.Session, known bool, nonce string, u *undoer, relay *queueRelay) (state.Session, string, error) {
	d.progress("connecting to %s", o.Host)
	if d.SSH.NoMux {
		noMuxNotice(d)
	}
	unlockHost, err := lockHost(ctx, d, o.Host, o.Timeout+30*time.Second)
	if err != nil {
		return state.Session{}, "", err
	}
	d, started, err := ensureMaster(ctx, d, o.Host)
	if err == nil {
		cleanPending(ctx, d, o.Host, o.Name)
	}
	unlockHost()
	if err != nil {
		return state.Session{}, "", err
	}
	if started {
		u.push(func(ctx context.Context) { exitIdleMaster(ctx, d, o.Host) })
	}
	// Registered before the script runs: the interrupt may come while
	// sbatch submits. Only the job with this open's nonce is touched.
	u.push(func(uctx context.Context) {
		keep := o.Slurm.KeepQueued && ctx.Err() != nil
		b, err := cancelSlurm(uctx, d, o.Host, o.Name, nonce, keep)
		last := relay.lastLine()
		switch {
		case err != nil:
			d.warn("could not cancel the job of session %s on %s: %v; see squeue --name jt-%s there", o.Name, o.Host, err, o.Name)
		case keep && last.Job != "":
			d.warn("job %s stays in the queue: jt open --slurm --name %s %s reattaches to it, jt close --kill --name %s %s cancels it", last.Job, o.Name, o.Host, o.Name, o.Host)
		case strings.TrimSpace(b.Values["jobs"]) != "":
			d.warn("cancelled job %s", strings.TrimSpace(b.Values["jobs"]))
		case last.Job != "" && last.Status == "running":
			d.warn("job %s was queued before this jt open: it stays (jt close --kill --name %s %s cancels it)", last.Job, o.Name, o.Host)
		}
	})
	sess, status, err := waitForJob(ctx, d, o, nonce, relay)
	if err != nil {
		return sess, status, err
	}
	if err := forward(ctx, d, o, rec, known && rec.SlurmJob != "", &sess); err != nil {
		return sess, status, err
	}
	fw := slurmForward(sess)
	u.push(func(ctx context.Context) { d.SSH.CancelForward(ctx, o.Host, fw) })
	d.progress("waiting for Jupyter on %s to answer through the tunnel", sess.SlurmNode)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = probeUntil(pctx, d, sess)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return sess, status, ctx.Err()
		}
		return sess, status, hinted(fmt.Errorf("jupyter runs in job %s on %s (%s:%d) but the tunnel through %s does not reach it: %w", sess.SlurmJob, sess.SlurmNode, sess.RemoteHost, sess.RemotePort, o.Host, err),
			"can "+o.Host+" connect to "+sess.RemoteHost+":"+strconv.Itoa(sess.RemotePort)+"? (sshd's AllowTcpForwarding, a firewall between login and compute nodes)")
	}
	return sess, status, nil
}

// lockSession serialises jt opens of one session, so that two of them
// submit one job.
func lockSession(ctx context.Context, d *Deps, host, name string, timeout time.Duration) (func(), error) {
	sum := sha256.Sum256([]byte(host + "\x00" + name))
	l := flock.New(filepath.Join(d.LocalDir, "lock-session-"+hex.EncodeToString(sum[:8])))
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := l.TryLockContext(lctx, 25*time.Millisecond)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("another jt open of session %s on %s is running (waited %v); try again", name, host, timeout)
	}
	return func() { l.Unlock() }, nil
}

func slurmForward(s state.Session) sshexec.Forward {
	return sshexec.Forward{LocalPort: s.LocalPort, RemoteHost: s.RemoteHost, RemotePort: s.RemotePort, PID: s.ForwardPID}
}

// waitForJob runs slurm_open.sh: one long-running script on the login node
// that submits (or finds) the job and polls squeue there, printing a queue
// line on each change, and answers once Jupyter is ready.
func waitForJob(ctx context.Context, d *Deps, o openOptions, nonce string, relay *queueRelay) (state.Session, string, error) {
	var none state.Session
	job, err := templates.RenderSlurm(templates.SlurmJob{
		Name: o.Name, Nonce: nonce, Dir: o.Dir, Flavour: o.Flavour, Command: o.Command, Port: o.Port, Env: o.Env,
	})
	if err != nil {
		return none, "", err
	}
	script, err := templates.RenderSlurm(templates.SlurmOpen{
		Name: o.Name, Nonce: nonce, Args: o.Slurm.Args, Job: job,
		Timeout: int((o.Timeout + time.Second - 1) / time.Second),
	})
	if err != nil {
		return none, "", err
	}
	d.progress("looking for job jt-%s on %s, or submitting it", o.Name, o.Host)
	runErr := d.SSH.StreamScript(ctx, o.Host, strings.NewReader(script), relay)
	relay.flush()
	if ctx.Err() != nil {
		return none, "", ctx.Err()
	}
	reply, perr := templates.Read(o.Host, templates.KindSlurmOpen, relay.rest.Bytes())
	if templates.Refused(perr) {
		return none, "", perr
	}
	if runErr != nil && (perr != nil || len(reply.Blocks) == 0) {
		return none, "", sshHinted(fmt.Errorf("run jt's Slurm script on %s: %w", o.Host, runErr), o.Host)
	}
	if perr != nil {
		return none, "", fmt.Errorf("read the answer from %s: %w", o.Host, perr)
	}
	if len(reply.Blocks) == 0 {
		return none, "", fmt.Errorf("no answer from jt's Slurm script on %s (is /bin/sh there a POSIX shell?)", o.Host)
	}
	b := reply.Blocks[0]
	if b.Error {
		relay.ended = b.Values["ended"] == "yes"
		return none, "", &HintError{Err: errors.New(b.Values["error"]), Hint: b.Values["hint"], Detail: b.Log}
	}
	sess, err := slurmSession(o.Host, o.Name, d.SSH.ControlPath(), b, d.Now())
	if err != nil {
		return none, "", err
	}
	if sess.Flavour == "" {
		sess.Flavour = o.Flavour
	}
	if w := templates.KernelWarning(b); w != "" {
		d.warn("%s: %s", o.Host, w)
	}
	return sess, b.Values["status"], nil
}

// slurmSession turns the answer of slurm_open.sh (checked by
// templates.Read) about session name into a state record.
func slurmSession(host, name, controlPath string, b templates.Block, now time.Time) (state.Session, error) {
	v := b.Values
	if b.Server == nil {
		return state.Session{}, fmt.Errorf("%s answered without Jupyter's runtime file for job %s", host, v["job"])
	}
	if v["name"] != name {
		return state.Session{}, &templates.AnswerError{Host: host, Field: "a session name", Value: v["name"], Why: "jt asked about session " + name}
	}
	if v["job"] == "" {
		return state.Session{}, fmt.Errorf("%s answered no job id for session %s", host, name)
	}
	port, err := strconv.Atoi(v["port"])
	if err != nil || port <= 0 || port > 65535 {
		port = b.Server.Port
	}
	addr := v["addr"]
	if net.ParseIP(addr) == nil {
		return state.Session{}, fmt.Errorf("job %s on %s answered an unusable node address %s", v["job"], host, sshexec.Printable(addr))
	}
	s := state.Session{
		Host:        host,
		Name:        name,
		ControlPath: controlPath,
		Mode:        "tcp",
		RemoteHost:  addr,
		RemotePort:  port,
		PID:         b.Server.PID,
		Flavour:     flavourOf(v["runtime"]),
		Mux:         "slurm",
		Dir:         v["dir"],
		Log:         v["log"],
		Node:        v["node"],
		Token:       b.Server.Token,
		BaseURL:     b.Server.BaseURL,
		SlurmJob:    v["job"],
		SlurmNode:   v["node"],
		SlurmNonce:  v["nonce"],
		SlurmLimit:  v["limit"],
	}
	if s.Dir == "" {
		s.Dir = b.Server.Root()
	}
	if t, err := strconv.ParseInt(v["started"], 10, 64); err == nil {
		s.Started = time.Unix(t, 0).UTC()
	}
	if left, ok := slurmDuration(v["left"]); ok {
		s.SlurmEnd = now.Add(left).UTC().Truncate(time.Second)
	}
	return s, nil
}

// queueRelay receives slurm_open.sh's output as it comes: queue lines
// become progress on stderr, the rest is kept for ParseReply.
type queueRelay struct {
	d    *Deps
	host string
	mu   sync.Mutex
	line []byte
	rest bytes.Buffer
	last templates.QueueLine
	seen bool
	// ended is set when the script answered that the job is over: there
	// is nothing left to cancel.
	ended bool
}

func (r *queueRelay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range p {
		if c != '\n' {
			r.line = append(r.line, c)
			continue
		}
		r.handle(string(r.line))
		r.line = r.line[:0]
	}
	return len(p), nil
}

func (r *queueRelay) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.line) > 0 {
		r.handle(string(r.line))
		r.line = nil
	}
}

func (r *queueRelay) handle(line string) {
	q, ok := templates.ParseQueueLine(line)
	if !ok {
		r.rest.WriteString(line)
		r.rest.WriteByte('\n')
		return
	}
	changed := !r.seen || q.State != r.last.State || q.Reason != r.last.Reason || q.Job != r.last.Job
	r.last, r.seen = q, true
	// A change always shows (the user needs the job id); the passing of
	// time only on a terminal.
	msg := fmt.Sprintf("job %s on %s: %s", plain(q.Job), r.host, plain(q.State))
	if q.Reason != "" && q.Reason != "None" {
		msg += " (" + plain(q.Reason) + ")"
	}
	if q.State == "RUNNING" && q.Nodes != "" {
		msg += " on " + plain(q.Nodes) + ", waiting for Jupyter"
	} else {
		msg += ", " + (time.Duration(q.Elapsed) * time.Second).String() + " waiting"
	}
	if changed {
		r.d.warn("%s", msg)
	} else {
		r.d.progress("%s", msg)
	}
}

func (r *queueRelay) lastJob() string { return r.lastLine().Job }

func (r *queueRelay) lastLine() templates.QueueLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

var _ io.Writer = (*queueRelay)(nil)

// cancelSlurm runs slurm_cancel.sh: with a nonce, the job that the jt open
// with that nonce submitted (keep: only stop its waiting script); without,
// every job of the session, and its files.
func cancelSlurm(ctx context.Context, d *Deps, host, name, nonce string, keep bool) (templates.Block, error) {
	script, err := templates.RenderSlurm(templates.SlurmCancel{Name: name, Nonce: nonce, KeepJob: keep})
	if err != nil {
		return templates.Block{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	res, runErr := d.SSH.RunScript(cctx, host, strings.NewReader(script))
	reply, perr := templates.Read(host, templates.KindSlurmCancel, res.Stdout)
	if templates.Refused(perr) {
		return templates.Block{}, perr
	}
	if len(reply.Blocks) == 0 {
		if runErr == nil {
			runErr = errors.New("no answer")
		}
		return templates.Block{}, sshHinted(fmt.Errorf("cancel the job of %s on %s: %w", name, host, runErr), host)
	}
	return reply.Blocks[0], nil
}

// closeSlurm is jt close --kill of a Slurm session: scancel its jobs, wait
// until they have left the queue, remove their files, drop the record.
func closeSlurm(ctx context.Context, d *Deps, s state.Session) error {
	d, _, err := ensureMaster(ctx, d, s.Host)
	if err != nil {
		return err
	}
	b, err := cancelSlurm(ctx, d, s.Host, s.Name, "", false)
	if err != nil {
		return err
	}
	jobs := strings.TrimSpace(b.Values["jobs"])
	switch b.Values["state"] {
	case "cancelled":
		fmt.Fprintf(d.Stderr, "jt: %s %s: cancelled job %s and removed its files\n", s.Host, s.Name, jobs)
	case "stuck":
		return fmt.Errorf("%s %s: scancel %s, but job %s is still in the queue; see squeue there", s.Host, s.Name, jobs, strings.TrimSpace(b.Values["stuck"]))
	case "noslurm":
		fmt.Fprintf(d.Stderr, "jt: %s %s: no Slurm commands on %s; nothing to cancel\n", s.Host, s.Name, s.Host)
	default:
		fmt.Fprintf(d.Stderr, "jt: %s %s: no job was queued or running; removed what was left\n", s.Host, s.Name)
	}
	return d.Store.Update(ctx, func(f *state.File) error {
		if cur, ok := f.Find(s.Host, s.Name); ok && cur.SlurmJob != "" {
			f.Remove(s.Host, s.Name)
		}
		return nil
	})
}

// checkHosts is jt ls for one host: Slurm sessions are asked of squeue,
// the others of the host's session directories.
func checkHosts(ctx context.Context, d *Deps, host string, recorded []state.Session, discover bool, lines int, timeout time.Duration) []row {
	var plain, slurm []state.Session
	for _, s := range recorded {
		if s.SlurmJob != "" {
			slurm = append(slurm, s)
		} else {
			plain = append(plain, s)
		}
	}
	var rows []row
	if len(plain) > 0 || discover {
		rows = checkHost(ctx, d, host, plain, discover, lines, timeout)
	}
	if len(slurm) > 0 || discover {
		srows := checkSlurmHost(ctx, d, host, slurm, discover, timeout)
		if len(srows) > 0 && len(rows) == 1 && rows[0].Name == "" {
			rows = nil // the host's "unreachable" row: the Slurm rows say it
		}
		rows = append(rows, srows...)
	}
	return rows
}

// slurmLive is what jt ls adds to a Slurm session's row, from squeue.
type slurmLive struct {
	JobState  string `json:"job_state,omitempty"`  // RUNNING, PENDING, TIMEOUT, CANCELLED…
	JobReason string `json:"job_reason,omitempty"` // Slurm's reason: Priority, Resources, TimeLimit…
	TimeLeft  string `json:"time_left,omitempty"`  // of a running job, e.g. "59m10s", or "unlimited"
}

// checkSlurmHost decides the live state of host's Slurm sessions: up when
// the tunnel answers, else what squeue says of the job.
func checkSlurmHost(ctx context.Context, d *Deps, host string, recorded []state.Session, discover bool, timeout time.Duration) []row {
	now := d.Now()
	rows := make([]row, len(recorded))
	allUp := true
	for i, s := range recorded {
		rows[i] = row{Session: s, Recorded: true}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if s.LocalPort > 0 && probe(pctx, d, s) == nil {
			rows[i].State = StateUp
			rows[i].slurmLive = slurmLive{JobState: "RUNNING", TimeLeft: timeLeft(s.SlurmEnd, now)}
			if s.SlurmLimit == "UNLIMITED" {
				rows[i].TimeLeft = "unlimited"
			}
		} else {
			allUp = false
		}
		cancel()
	}
	if allUp && !discover {
		return rows
	}
	jobs := make([]string, 0, len(recorded))
	for _, s := range recorded {
		jobs = append(jobs, s.SlurmJob)
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	blocks, err := slurmJobs(hctx, d, host, jobs)
	if err != nil {
		if discover && len(recorded) == 0 {
			return nil // not a Slurm host, or not reachable: checkHost says so
		}
		msg := err.Error()
		if errors.Is(hctx.Err(), context.DeadlineExceeded) {
			msg = fmt.Sprintf("no answer within %v", timeout)
		}
		for i := range rows {
			if rows[i].State != StateUp {
				rows[i].State, rows[i].Error = StateUnreachable, msg
			}
		}
		return rows
	}
	byJob := map[string]templates.Block{}
	for _, b := range blocks {
		byJob[b.Values["job"]] = b
	}
	known := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		known[r.SlurmJob] = true
		if r.State == StateUp {
			continue
		}
		b, ok := byJob[r.SlurmJob]
		// The same job id with another nonce is another job: ids restart
		// when a cluster's state is wiped.
		if ok && b.Values["nonce"] != "" && b.Values["nonce"] != r.SlurmNonce {
			ok = false
		}
		st, reason := b.Values["state"], b.Values["reason"]
		switch {
		case ok && st == "RUNNING":
			r.State = StateTunnelDown
			if b.Server != nil {
				r.PID = b.Server.PID
			}
			r.slurmLive = slurmLive{JobState: st, TimeLeft: squeueLeft(b.Values["left"])}
		case ok && isQueued(st):
			r.State = StateQueued
			r.slurmLive = slurmLive{JobState: st, JobReason: reason}
		case ok && st != "gone":
			r.State = StateJobEnded
			r.slurmLive = slurmLive{JobState: st, JobReason: reason}
		default:
			r.State = StateJobEnded
			r.slurmLive = slurmLive{JobReason: "no longer known to Slurm"}
		}
	}
	if discover {
		for _, b := range blocks {
			v := b.Values
			st := v["state"]
			if v["name"] == "" || known[v["job"]] || (st != "RUNNING" && !isQueued(st)) {
				continue
			}
			r := row{Session: state.Session{Host: host, Name: v["name"], Mux: "slurm", SlurmJob: v["job"], SlurmNode: v["nodes"], Node: v["nodes"], SlurmNonce: v["nonce"], SlurmLimit: v["limit"]}}
			if st == "RUNNING" {
				r.State = StateTunnelDown
				r.RemoteHost = v["info_addr"]
				r.RemotePort, _ = strconv.Atoi(v["info_port"])
				r.Dir = v["info_dir"]
				if b.Server != nil {
					r.PID = b.Server.PID
				}
				if t, err := strconv.ParseInt(v["info_started"], 10, 64); err == nil {
					r.Started = time.Unix(t, 0).UTC()
				}
				r.slurmLive = slurmLive{JobState: st, TimeLeft: squeueLeft(v["left"])}
			} else {
				r.State = StateQueued
				r.slurmLive = slurmLive{JobState: st, JobReason: v["reason"]}
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func isQueued(state string) bool {
	switch state {
	case "PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED":
		return true
	}
	return false
}

// slurmJobs runs slurm_status.sh on host.
func slurmJobs(ctx context.Context, d *Deps, host string, jobs []string) ([]templates.Block, error) {
	script, err := templates.RenderSlurm(templates.SlurmStatus{Jobs: jobs})
	if err != nil {
		return nil, err
	}
	blocks, err := listing(ctx, d, host, templates.KindSlurmStatus, script)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 1 && blocks[0].Error {
		return nil, errors.New(blocks[0].Values["error"])
	}
	return blocks, nil
}

// jobColumn is jt ls's JOB column: "12 RUNNING 59m10s left",
// "12 PENDING (Priority)", "12 TIMEOUT (TimeLimit)".
func jobColumn(r row) string {
	if r.SlurmJob == "" {
		return "-"
	}
	s := r.SlurmJob
	if r.JobState != "" {
		s += " " + r.JobState
	}
	if r.JobReason != "" && r.JobReason != "None" {
		s += " (" + r.JobReason + ")"
	}
	switch r.TimeLeft {
	case "":
	case "unlimited":
		s += " no time limit"
	default:
		s += " " + r.TimeLeft + " left"
	}
	return s
}

// remoteColumn is where a Slurm session's Jupyter listens: NODE:PORT.
func remoteColumn(r row) string {
	node := r.SlurmNode
	if node == "" {
		node = r.RemoteHost
	}
	if node == "" || r.RemotePort == 0 {
		return "-"
	}
	return node + ":" + strconv.Itoa(r.RemotePort)
}

// squeueLeft turns squeue's time left into jt's way of writing it.
func squeueLeft(s string) string {
	if d, ok := slurmDuration(s); ok {
		return d.String()
	}
	if s == "UNLIMITED" {
		return "unlimited"
	}
	return ""
}

// timeLeft is the time from now to end, or "" without an end.
func timeLeft(end, now time.Time) string {
	if end.IsZero() {
		return ""
	}
	return max(end.Sub(now), 0).Round(time.Second).String()
}

// slurmDuration reads Slurm's time format: [DAYS-]HOURS:MINUTES:SECONDS,
// MINUTES:SECONDS or MINUTES; not UNLIMITED, NOT_SET or INVALID.
func slurmDuration(s string) (time.Duration, bool) {
	days := 0
	if d, rest, ok := strings.Cut(s, "-"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, false
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 || s == "" {
		return 0, false
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, false
		}
		nums[i] = n
	}
	var h, m, sec int
	switch len(nums) {
	case 1:
		m = nums[0]
		if days > 0 {
			h, m = nums[0], 0 // DAYS-HOURS
		}
	case 2:
		m, sec = nums[0], nums[1]
		if days > 0 {
			h, m, sec = nums[0], nums[1], 0 // DAYS-HOURS:MINUTES
		}
	case 3:
		h, m, sec = nums[0], nums[1], nums[2]
	}
	return time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, true
}

func anySlurm(rows []row) bool {
	for _, r := range rows {
		if r.SlurmJob != "" {
			return true
		}
	}
	return false
}

// closeUnrecordedSlurm cancels the jobs of a session jt has no record of
// (queued by an interrupted jt open --slurm --keep-queued, or from another
// machine) and reports whether there were any.
func closeUnrecordedSlurm(ctx context.Context, d *Deps, s state.Session) bool {
	b, err := cancelSlurm(ctx, d, s.Host, s.Name, "", false)
	jobs := strings.TrimSpace(b.Values["jobs"])
	if err != nil || jobs == "" {
		return false
	}
	fmt.Fprintf(d.Stderr, "jt: %s %s: cancelled job %s and removed its files\n", s.Host, s.Name, jobs)
	return true
}

// plain keeps what a remote answered from moving the terminal: control
// characters become '?'.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
