package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jt-sh/jt/scheduler"
	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/visible"
)

// Check is one line of jt doctor.
type Check struct {
	ID     string // "ssh", "config", "login", or the remote check's name
	Status string // "ok", "warn" or "fail"
	Msg    string
	Fix    string
	Log    []string
}

// minOpenSSH is the oldest client jt works with: -O forward to a unix
// socket (streamlocal forwarding) came in OpenSSH 6.7.
const minMajor, minMinor = 6, 7

// doctor runs jt doctor's checks, telling each to its report as it comes.
type doctor struct {
	e      *Engine
	host   string
	report func(Check)
	failed []string
}

func (d *doctor) add(id, status, msg, fix string, log []string) {
	d.report(Check{ID: id, Status: status, Msg: msg, Fix: fix, Log: log})
	if status != "ok" && status != "warn" {
		d.failed = append(d.failed, id)
	}
}

func (d *doctor) err() error {
	if len(d.failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d check(s) failed (%s): jt open %s would not work", len(d.failed), strings.Join(d.failed, ", "), d.host)
}

// Doctor checks what jt open r would need, locally and on the host, and
// returns an error when something would stop it.
func (e *Engine) Doctor(ctx context.Context, r OpenRequest, report func(Check)) error {
	if err := r.Validate(); err != nil {
		return err
	}
	d := &doctor{e: e, host: r.Host, report: report}
	cfg, ok := d.local(ctx)
	if !ok {
		return d.err()
	}
	if !e.SSH.NoMux {
		ee, started, err := e.ensureMaster(ctx, r.Host)
		if err != nil {
			d.loginFailed(err)
			return d.err()
		}
		if started {
			defer ee.ExitIdleMaster(context.Background(), r.Host)
		}
		d.e = ee
		d.add("login", "ok", "logged in to "+e.SSH.Dest(r.Host)+" as "+cfg["user"], "", nil)
	}
	d.remote(ctx, r)
	if r.Batch.Scheduler != "" {
		d.scheduler(ctx, r.Batch)
		d.nodeSSH(r)
	}
	return d.err()
}

// scheduler runs the checks of the batch scheduler the session would use.
func (d *doctor) scheduler(ctx context.Context, b BatchOptions) {
	sch, err := scheduler.Named(b.Scheduler)
	if err != nil {
		d.add("scheduler", "fail", err.Error(), "", nil)
		return
	}
	c, ok := sch.(scheduler.Checker)
	if !ok {
		d.add("scheduler", "ok", "jt has no checks of "+sch.Title()+" yet: jt open shows what the cluster says", "", nil)
		return
	}
	script, err := c.Checks(b.Args)
	if err != nil {
		d.add("scheduler", "fail", err.Error(), "", nil)
		return
	}
	reply, _, err := d.e.remote(ctx, remoteCall{host: d.host, kind: script.Kind, script: script.Text, timeout: time.Minute, listing: true})
	if templates.Refused(err) {
		d.add("scheduler", "fail", err.Error(), "the host answered what jt's check script never prints: is it the machine you mean?", nil)
		return
	}
	for _, blk := range reply.Blocks {
		c := blk.Doctor()
		d.add(c.Check, c.Status, c.Msg, c.Fix, blk.Log)
	}
	if err != nil {
		d.add("scheduler", "fail", "the "+sch.Title()+" checks on "+d.host+" stopped early: "+err.Error(), "run jt doctor again; see ssh "+d.e.SSH.Dest(d.host)+" qstat", nil)
	}
}

// local checks the ssh client and what it makes of the destination; false
// when going on makes no sense.
func (d *doctor) local(ctx context.Context) (map[string]string, bool) {
	e, host := d.e, d.host
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	version, err := e.SSH.Version(vctx)
	cancel()
	if err != nil {
		d.add("ssh", "fail", "ssh client: "+err.Error(), "install OpenSSH (Debian: apt install openssh-client), or point JT_SSH at it", nil)
		return nil, false
	}
	major, minor, isOpenSSH := sshexec.OpenSSHVersion(version)
	switch {
	case !isOpenSSH:
		d.add("ssh", "fail", "ssh client is not OpenSSH: "+version, "install OpenSSH, or point JT_SSH at it", nil)
	case major < minMajor || major == minMajor && minor < minMinor:
		d.add("ssh", "fail", fmt.Sprintf("ssh client %s is older than OpenSSH %d.%d", version, minMajor, minMinor), "install a newer OpenSSH client", nil)
	case e.SSH.NoMux:
		d.add("ssh", "ok", "ssh client "+version+"; without ControlMaster (--no-mux): every step logs in by itself", "", nil)
	default:
		d.add("ssh", "ok", "ssh client "+version+" (ControlMaster, forwards to unix sockets)", "", nil)
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cfg, err := e.SSH.Resolve(gctx, host)
	cancel()
	if err != nil {
		d.add("config", "fail", "ssh cannot read its configuration for "+e.SSH.Dest(host)+": "+err.Error(), "fix ~/.ssh/config (ssh -G "+e.SSH.Dest(host)+" shows the error)", nil)
		return nil, false
	}
	msg := fmt.Sprintf("ssh goes to %s@%s port %s", cfg["user"], cfg["hostname"], cfg["port"])
	if j := cfg["proxyjump"]; j != "" && j != "none" {
		msg += " via " + j
	}
	if e.SSH.Dest(host) != host {
		msg += " (profile " + host + ": " + e.SSH.Dest(host) + ")"
	}
	d.add("config", "ok", msg, "", nil)
	if e.SSH.NoMux {
		return cfg, true
	}
	cp := cfg["controlpath"]
	n, limit := len(cp), sshexec.ControlPathMax()
	if n > limit {
		d.add("controlpath", "fail", fmt.Sprintf("control socket path %s is %d bytes, more than the %d a unix socket allows", cp, n, limit), "set XDG_RUNTIME_DIR to a shorter directory", nil)
		return nil, false
	}
	d.add("controlpath", "ok", fmt.Sprintf("control socket %s (%d of %d bytes)", cp, n, limit), "", nil)
	return cfg, true
}

// loginFailed is the check of a login that did not work.
func (d *doctor) loginFailed(err error) {
	dest := d.e.SSH.Dest(d.host)
	fix := SSHHint(err, dest)
	if fix == "" {
		fix = "run ssh " + dest + " to see why it does not log in"
	}
	d.add("login", "fail", "cannot log in to "+dest+": "+strings.TrimSpace(err.Error()), fix, nil)
}

// remote runs every check on the host, in one script (without a master,
// that script is the login).
func (d *doctor) remote(ctx context.Context, r OpenRequest) {
	e, host := d.e, d.host
	script, err := templates.Render(templates.Doctor{Name: r.Name, Mux: r.Console, Flavour: r.Flavour, Command: r.Command, Env: r.Env})
	if err != nil {
		d.add("remote", "fail", err.Error(), "", nil)
		return
	}
	reply, out, err := e.remote(ctx, remoteCall{host: host, kind: templates.KindDoctor, script: script, timeout: 2 * time.Minute, listing: true})
	switch {
	case templates.Refused(err):
		d.add("remote", "fail", err.Error(), "the host answered what jt's check script never prints: is it the machine you mean?", nil)
		return
	case err != nil && len(reply.Blocks) == 0 && e.SSH.NoMux && !errors.Is(err, errIncomplete):
		d.loginFailed(err)
		return
	case err != nil && len(reply.Blocks) == 0 && !errors.Is(err, errIncomplete):
		d.add("remote", "fail", "jt's check script did not run on "+host+": "+err.Error(), "run ssh "+e.SSH.Dest(host)+" /bin/sh -c true to see why", nil)
		return
	}
	for _, b := range reply.Blocks {
		c := b.Doctor()
		d.add(c.Check, c.Status, c.Msg, c.Fix, b.Log)
	}
	if err != nil {
		d.add("remote", "fail", "the check script on "+host+" stopped early", "see the last check above (does a setup line run exit?)", nil)
	}
	if noise := templates.Noise(out); noise != "" {
		d.add("banner", "ok", fmt.Sprintf("the login prints text on stdout (%s); jt ignores it, but scp and rsync may not", visible.Quote(noise)), "", nil)
	}
}

// nodeSSH says what a job's private server needs of the site: jt can only
// try it once a job runs on a node.
func (d *doctor) nodeSSH(r OpenRequest) {
	msg := "a job's server is private (a unix socket on the node, exposure private) when jt can ssh to the job's node through " + r.Host +
		" (riding this login, asking nothing): users may ssh to the nodes where their jobs run (pam_slurm_adopt or the like), the nodes' sshd takes your key from the shared home, and " +
		r.Host + " knows the nodes' host keys (/etc/ssh/ssh_known_hosts, or your ~/.ssh/known_hosts there); jt tries it at each jt open"
	if r.Batch.Private {
		d.add("node-ssh", "ok", msg+"; private = true: where it fails, jt open fails", "", nil)
		return
	}
	d.add("node-ssh", "ok", msg+", and where it fails falls back to TCP on the node with the token (exposure token-only)", "", nil)
}
