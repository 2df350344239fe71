package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/desktop"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
)

// keeperEnv carries the open request (JSON) from the jt open --keep
// --background that starts a keeper to the keeper itself, which then sets
// it to "1": a mark on the keeper and on everything it runs.
const keeperEnv = "JT_KEEPER"

// keeperCommandName is the hidden command a keeper runs as. Its argv is
// built from the request, never copied from the jt open that started it.
const keeperCommandName = "__keeper"

// keeperCommand is the background keeper: jt open --keep without the
// first open (done in the foreground), without stdout (where the URL and
// its token would go) and without a browser.
func keeperCommand() *cli.Command {
	return &cli.Command{
		Name:   keeperCommandName,
		Usage:  "the background keeper started by jt open --keep --background",
		Hidden: true,
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			r, err := keeperRequest(os.Getenv(keeperEnv))
			if err != nil {
				return err
			}
			os.Setenv(keeperEnv, "1")
			defer d.Engine.DropKeeperFile(r.Host, r.Name)
			return d.Engine.Keep(ctx, session.KeepRequest{Open: r, Interval: 3 * time.Second, Background: true, Notify: desktop.Notify})
		}),
	}
}

// keeperRequest reads the request a keeper was started with.
func keeperRequest(req string) (session.OpenRequest, error) {
	var r session.OpenRequest
	if req == "" || req == "1" {
		return r, usageErrorf("%s is started by jt open --keep --background, not by hand", keeperCommandName)
	}
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		return r, fmt.Errorf("read the keeper's options: %w", err)
	}
	return r, r.Validate()
}

// keeperArgs is the keeper's argv after the program: the global settings
// this jt runs with, then the hidden command.
func keeperArgs(d *Deps) []string {
	var args []string
	if c := d.Engine.SSH; c.ConfigFile != "" {
		args = append(args, "--ssh-config", c.ConfigFile)
	}
	if d.Engine.SSH.NoMux {
		args = append(args, "--no-master")
	}
	return append(args, keeperCommandName)
}

// keepInBackground starts a keeper for the session just opened, detached,
// its stderr to a 0600 log: the open already happened here, with the
// terminal at hand for any password, so the keeper starts from a working
// tunnel.
func keepInBackground(d *Deps, r session.OpenRequest) error {
	if os.Getenv(keeperEnv) != "" {
		return fmt.Errorf("this jt runs under a keeper (%s is set), and a keeper never starts another", keeperEnv)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find jt itself: %w", err)
	}
	req, err := json.Marshal(r)
	if err != nil {
		return err
	}
	e := d.Engine
	e.StopKeeper(r.Host, r.Name)
	logPath := e.KeeperFile(r.Host, r.Name, "log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(self, keeperArgs(d)...)
	cmd.Env = append(withoutVar(os.Environ(), keeperEnv), keeperEnv+"="+string(req))
	cmd.Stderr = logFile // stdin and stdout: the null device
	cmd.SysProcAttr = detachedAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the keeper: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	if err := sshexec.WritePIDFile(e.KeeperFile(r.Host, r.Name, "pid"), pid); err != nil {
		d.warn("could not record the keeper's pid (%v): jt close cannot stop it; end pid %d yourself", err, pid)
	}
	d.warn("keeping session %s on %s open from the background (pid %d, log %s); jt close %s stops it", r.Name, r.Host, pid, logPath, r.Host)
	return nil
}

// withoutVar is env without the variable name.
func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	return out
}
