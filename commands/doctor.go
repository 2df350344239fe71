package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/templates"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check what jt open HOST needs, locally and on HOST, with a fix for each problem",
		ArgsUsage: "HOST",
		Description: `Locally: the ssh client, its ControlMaster support and the control socket's
path length, what ssh makes of HOST (ssh -G), and the login (through jt's
master; ssh may ask for a password). On HOST, in one round trip: the login
shell and /bin/sh, jt's directory, the profile's environment setup (run as
jt open runs it, before the other checks), screen and tmux, the Jupyter
flavours and their versions, and unix-socket support.

Each check prints one line, "ok", "warn" (jt copes) or "FAIL", and a fix.
The exit status is 1 when something would stop jt open. Flags are those of
jt open, to check what open would do with them.

Examples:
   jt doctor gpu
   jt doctor --console tmux --lab gpu1`,
		Flags: settingFlags(),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "doctor")
			if err != nil {
				return err
			}
			o, err := openSettings(c, d.Config, host)
			if err != nil {
				return err
			}
			mapLocalHome(d, &o)
			if err := o.validate(); err != nil {
				return err
			}
			return runDoctor(ctx, d, o)
		}),
	}
}

// report prints checks as they come and counts the failures.
type report struct {
	d      *Deps
	failed []string
}

func (r *report) add(name, status, msg, fix string, log []string) {
	mark := map[string]string{"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[status]
	if mark == "" {
		mark = "FAIL"
	}
	fmt.Fprintf(r.d.Stdout, "%s %s\n", mark, msg)
	if status != "ok" && fix != "" {
		fmt.Fprintf(r.d.Stdout, "     fix: %s\n", fix)
	}
	for _, l := range log {
		fmt.Fprintf(r.d.Stdout, "     | %s\n", l)
	}
	if mark == "FAIL" {
		r.failed = append(r.failed, name)
	}
}

func (r *report) err(host string) error {
	if len(r.failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d check(s) failed (%s): jt open %s would not work", len(r.failed), strings.Join(r.failed, ", "), host)
}

// minOpenSSH is the oldest client jt works with: -O forward to a unix
// socket (streamlocal forwarding) came in OpenSSH 6.7.
const minMajor, minMinor = 6, 7

func runDoctor(ctx context.Context, d *Deps, o openOptions) error {
	r := &report{d: d}
	host := o.Host

	// The local ssh client.
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	version, err := d.SSH.Version(vctx)
	cancel()
	if err != nil {
		r.add("ssh", "fail", "ssh client: "+err.Error(), "install OpenSSH (Debian: apt install openssh-client), or point JT_SSH at it", nil)
		return r.err(host)
	}
	major, minor, isOpenSSH := sshexec.OpenSSHVersion(version)
	switch {
	case !isOpenSSH:
		r.add("ssh", "fail", "ssh client is not OpenSSH: "+version, "install OpenSSH, or point JT_SSH at it", nil)
	case major < minMajor || major == minMajor && minor < minMinor:
		r.add("ssh", "fail", fmt.Sprintf("ssh client %s is older than OpenSSH %d.%d", version, minMajor, minMinor), "install a newer OpenSSH client", nil)
	case d.SSH.NoMux:
		r.add("ssh", "ok", "ssh client "+version+"; without ControlMaster (--no-mux): every step logs in by itself", "", nil)
	default:
		r.add("ssh", "ok", "ssh client "+version+" (ControlMaster, forwards to unix sockets)", "", nil)
	}

	// What ssh makes of the destination, and the control socket's length.
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cfg, err := d.SSH.Resolve(gctx, host)
	cancel()
	if err != nil {
		r.add("config", "fail", "ssh cannot read its configuration for "+d.SSH.Dest(host)+": "+err.Error(), "fix ~/.ssh/config (ssh -G "+d.SSH.Dest(host)+" shows the error)", nil)
		return r.err(host)
	}
	msg := fmt.Sprintf("ssh goes to %s@%s port %s", cfg["user"], cfg["hostname"], cfg["port"])
	if j := cfg["proxyjump"]; j != "" && j != "none" {
		msg += " via " + j
	}
	if d.SSH.Dest(host) != host {
		msg += " (profile " + host + ": " + d.SSH.Dest(host) + ")"
	}
	r.add("config", "ok", msg, "", nil)
	if !d.SSH.NoMux {
		cp := cfg["controlpath"]
		n, limit := len(cp), sshexec.ControlPathMax()
		if n > limit {
			r.add("controlpath", "fail", fmt.Sprintf("control socket path %s is %d bytes, more than the %d a unix socket allows", cp, n, limit), "set XDG_RUNTIME_DIR to a shorter directory", nil)
			return r.err(host)
		}
		r.add("controlpath", "ok", fmt.Sprintf("control socket %s (%d of %d bytes)", cp, n, limit), "", nil)
	}

	// Reachability and authentication, through the master (it may ask).
	// Without one, the script below is the login.
	loginFailed := func(err error) error {
		fix := sshHint(err, d.SSH.Dest(host))
		if fix == "" {
			fix = "run ssh " + d.SSH.Dest(host) + " to see why it does not log in"
		}
		r.add("login", "fail", "cannot log in to "+d.SSH.Dest(host)+": "+strings.TrimSpace(err.Error()), fix, nil)
		return r.err(host)
	}
	if !d.SSH.NoMux {
		var started bool
		d, started, err = ensureMaster(ctx, d, host)
		if err != nil {
			return loginFailed(err)
		}
		if started {
			defer exitIdleMaster(context.Background(), d, host)
		}
		r.add("login", "ok", "logged in to "+d.SSH.Dest(host)+" as "+cfg["user"], "", nil)
	}

	// Everything on the host, in one script.
	script, err := templates.Render(templates.Doctor{Name: o.Name, Mux: o.Mux, Flavour: o.Flavour, Command: o.Command, Env: o.Env})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	res, runErr := d.SSH.RunScript(sctx, host, strings.NewReader(script))
	cancel()
	reply, perr := templates.Read(host, templates.KindDoctor, res.Stdout)
	if templates.Refused(perr) {
		r.add("remote", "fail", perr.Error(), "the host answered what jt's check script never prints: is it the machine you mean?", nil)
		return r.err(host)
	}
	if runErr != nil && len(reply.Blocks) == 0 && d.SSH.NoMux {
		return loginFailed(runErr)
	}
	if runErr != nil && len(reply.Blocks) == 0 {
		r.add("remote", "fail", "jt's check script did not run on "+host+": "+runErr.Error(), "run ssh "+d.SSH.Dest(host)+" /bin/sh -c true to see why", nil)
		return r.err(host)
	}
	for _, b := range reply.Blocks {
		v := b.Values
		r.add(v["check"], v["status"], v["msg"], v["fix"], b.Log)
	}
	if perr != nil || !reply.Complete {
		r.add("remote", "fail", "the check script on "+host+" stopped early", "see the last check above (does a setup line run exit?)", nil)
	}
	if noise := beforeFirstMarker(res.Stdout); noise != "" {
		r.add("banner", "ok", fmt.Sprintf("the login prints text on stdout (%s); jt ignores it, but scp and rsync may not", sshexec.Printable(noise)), "", nil)
	}
	return r.err(host)
}

// beforeFirstMarker is what the remote login printed before jt's answer.
func beforeFirstMarker(out []byte) string {
	s := string(out)
	if i := strings.Index(s, "@@JT-"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
