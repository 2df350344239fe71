package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/jt-sh/jt/kernelspec"
	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/visible"
)

func kernelCommand() *cli.Command {
	return &cli.Command{
		Name:  "kernel",
		Usage: "a remote Python kernel for the Jupyter clients on this machine (JupyterLab, VS Code, nbclient, papermill)",
		Description: `jt kernel install HOST writes a kernelspec jt-HOST in the local Jupyter
data directory: a client that starts it runs jt kernel run, which starts
ipykernel on HOST (in the profile's environment; with --slurm in a job on a
compute node) and carries its five channels over jt's ssh master.

Examples:
   jt kernel install gpu1
   jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=jt-gpu1 nb.ipynb
   jt kernel install --slurm --slurm-args '--time=1:00:00' --name cluster login1
   jt kernel ls
   jt kernel remove jt-gpu1`,
		Subcommands: []*cli.Command{kernelInstallCommand(), kernelRunCommand(), kernelLsCommand(), kernelRemoveCommand()},
	}
}

// kernelFlags are those jt kernel install passes on to jt kernel run.
func kernelFlags() []cli.Flag {
	return append(batchFlags(),
		&cli.DurationFlag{Name: "timeout", Value: 60 * time.Second, Usage: "how long to wait for the kernel (or its job) to start (`DURATION`)"})
}

func kernelInstallCommand() *cli.Command {
	return &cli.Command{
		Name:      "install",
		Usage:     "write a kernelspec that runs a kernel on HOST",
		ArgsUsage: "HOST",
		Description: `The kernelspec is named jt-HOST (--name K: jt-K) and lives in the Jupyter data
directory (JUPYTER_DATA_DIR, else ~/.local/share/jupyter, ~/Library/Jupyter
on macOS, %APPDATA%\jupyter on Windows). HOST's profile (venv, conda,
modules, setup) applies when the kernel starts. Installing again replaces it.`,
		Flags: append(kernelFlags(),
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "kernelspec `NAME` (jt- is added)", DefaultText: "HOST"},
			&cli.StringFlag{Name: "display-name", Usage: "the `NAME` clients show", DefaultText: "Python on HOST (jt)"}),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "kernel install")
			if err != nil {
				return err
			}
			if err := session.CheckHost(host); err != nil {
				return err
			}
			batch, err := batchSettings(c, d.Config, host)
			if err != nil {
				return err
			}
			if err := (session.KernelRequest{Host: host, Batch: batch, Timeout: c.Duration("timeout")}).Validate(); err != nil {
				return err
			}
			name, err := kernelspec.NameFor(host)
			if c.IsSet("name") {
				name, err = kernelspec.CheckName(c.String("name"))
			}
			if err != nil {
				return usageErrorf("%v", err)
			}
			display := c.String("display-name")
			if display == "" {
				display = "Python on " + host + " (jt)"
			}
			if err := validateDisplay(display); err != nil {
				return err
			}
			jt, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this jt: %w", err)
			}
			dataDir, err := kernelspec.DataDir()
			if err != nil {
				return err
			}
			args := []string{"kernel", "run", "-f", "{connection_file}"}
			if c.IsSet("ssh-config") {
				abs, err := filepath.Abs(c.String("ssh-config"))
				if err != nil {
					return err
				}
				args = append([]string{"--ssh-config", abs}, args...)
			}
			for _, f := range []string{"slurm", "slurm-args", "scheduler", "scheduler-args", "timeout"} {
				if c.IsSet(f) {
					args = append(args, "--"+f+"="+fmt.Sprint(c.Value(f)))
				}
			}
			spec := kernelspec.New(jt, append(args, "--", host), display, kernelspec.Origin{Host: host, Scheduler: batch.Scheduler})
			in, err := kernelspec.Install(dataDir, name, spec)
			if err != nil {
				return err
			}
			fmt.Fprintf(d.Stdout, "%s\t%s\n", in.Name, in.Dir)
			return nil
		}),
	}
}

func validateDisplay(s string) error {
	if s == "" || len(s) > 200 || visible.Text(s, 200) != s {
		return usageErrorf("--display-name must be one line of at most 200 printable characters")
	}
	return nil
}

func kernelRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a kernel on HOST for the client's connection file (what a jt kernelspec starts)",
		ArgsUsage: "HOST",
		Description: `Reads the client's connection file (tcp on 127.0.0.1, hmac-sha256), starts
ipykernel on HOST with a connection file of its own in a private directory
(its key sent over ssh's stdin, never on a command line), forwards the
client's five ports to the kernel's unix sockets and stays in the
foreground until the kernel shuts down; Ctrl-C, SIGTERM or jt's end stop
the kernel and remove its files.`,
		Flags: append(kernelFlags(),
			&cli.StringFlag{Name: "connection-file", Aliases: []string{"f"}, Usage: "the client's connection `FILE` (the kernelspec passes {connection_file})"}),
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			host, err := oneHost(c.Args().Slice(), "kernel run")
			if err != nil {
				return err
			}
			if err := session.CheckHost(host); err != nil {
				return err
			}
			if c.String("connection-file") == "" {
				return usageErrorf("kernel run needs the client's connection file: jt kernel run -f FILE HOST (a Jupyter client gives it; jt kernel install writes the kernelspec)")
			}
			conn, err := kernelspec.ReadConnection(c.String("connection-file"))
			if err != nil {
				return usageErrorf("%v", err)
			}
			o, err := openSettings(c, d.Config, host)
			if err != nil {
				return err
			}
			batch, err := batchSettings(c, d.Config, host)
			if err != nil {
				return err
			}
			return d.Engine.RunKernel(ctx, session.KernelRequest{Host: host, Conn: conn, Env: o.Env, Batch: batch, Timeout: c.Duration("timeout")})
		}),
	}
}

func kernelLsCommand() *cli.Command {
	return &cli.Command{
		Name:  "ls",
		Usage: "list jt's kernelspecs",
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			dataDir, err := kernelspec.DataDir()
			if err != nil {
				return err
			}
			all, err := kernelspec.List(dataDir)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(d.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tHOST\tSCHEDULER\tDISPLAY NAME")
			for _, k := range all {
				sched := k.Spec.Metadata.JT.Scheduler
				if sched == "" {
					sched = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", k.Name, visible.Text(k.Spec.Metadata.JT.Host, 200), sched, visible.Text(k.Spec.DisplayName, 200))
			}
			return w.Flush()
		}),
	}
}

func kernelRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Aliases:   []string{"rm"},
		Usage:     "remove one of jt's kernelspecs",
		ArgsUsage: "NAME",
		Action: action(func(ctx context.Context, c *cli.Context, d *Deps) error {
			if c.NArg() != 1 {
				return usageErrorf("kernel remove needs one NAME: jt kernel remove jt-HOST (jt kernel ls lists them)")
			}
			name, err := kernelspec.CheckName(c.Args().First())
			if err != nil {
				return usageErrorf("%v", err)
			}
			dataDir, err := kernelspec.DataDir()
			if err != nil {
				return err
			}
			return kernelspec.Remove(dataDir, name)
		}),
	}
}
