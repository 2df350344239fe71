package commands

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jt-sh/jt/session"
	"github.com/jt-sh/jt/sshexec"
)

// TestSquatterProcess is not a test: run by squatter, it listens on
// JT_SQUAT_PORT in a process of its own and writes what it receives to
// JT_SQUAT_LOG.
func TestSquatterProcess(t *testing.T) {
	port := os.Getenv("JT_SQUAT_PORT")
	if port == "" {
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		os.Exit(3)
	}
	log, _ := os.OpenFile(os.Getenv("JT_SQUAT_LOG"), os.O_WRONLY|os.O_APPEND, 0)
	os.Stdout.WriteString("ready\n")
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(0)
		}
		log.WriteString("accept\n")
		b := make([]byte, 4096)
		n, _ := c.Read(b)
		log.Write(b[:n])
		c.Close()
	}
}

// squatter starts another process of this user listening on 127.0.0.1:port
// and returns a function that reads what it received.
func squatter(t *testing.T, port int) func() string {
	t.Helper()
	logPath := t.TempDir() + "/log"
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSquatterProcess$")
	cmd.Env = append(os.Environ(), "JT_SQUAT_PORT="+strconv.Itoa(port), "JT_SQUAT_LOG="+logPath)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the squatter on port %d did not start: %q", port, line)
	}
	return func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
}

// A tunnel dropped and another program took its local port: ls says so
// and open moves the tunnel, and that program is never sent the token.
func TestPortTakenAfterTunnelDrop(t *testing.T) {
	e, lp := openedEnv(t)
	e.ssh.dropForwards() // the master lives on; its forward is gone
	got := squatter(t, lp)

	// The idle-master check finds no tunnel of its own that answers.
	e.d.Engine.ExitIdleMaster(context.Background(), "gpu1")
	if k := e.ssh.Kinds(); !slices.Contains(k, "exit") {
		t.Errorf("the idle master was kept: ssh calls %q", k)
	}

	e.ssh.script = func(script string) (sshexec.Result, error) {
		if strings.Contains(script, "@@JT-DONE@@") {
			return sshexec.Result{Stdout: []byte(strings.Replace(openAnswer, "status=started\n", "", 1) + "@@JT-DONE@@\n")}, nil
		}
		return sshexec.Result{Stdout: []byte(openAnswer)}, nil
	}
	if err := runLs(context.Background(), e.d, lsOptions{JSON: true, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	var rows []row
	if err := json.Unmarshal(e.stdout.Bytes(), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("ls --json: %v: %s", err, e.stdout)
	}
	if rows[0].State != session.StatePortTaken || rows[0].URL != "" {
		t.Errorf("ls: state %q, url %q; want %q and no URL", rows[0].State, rows[0].URL, session.StatePortTaken)
	}

	e.stdout.Reset()
	if err := runOpen(context.Background(), e.d, openOpts()); err != nil {
		t.Fatalf("open: %v\n%s", err, e.stderr)
	}
	nlp := localPortOf(t, e.stdout.String())
	if nlp == lp {
		t.Errorf("open kept port %d, which another program holds", lp)
	}
	if want := "127.0.0.1:" + strconv.Itoa(lp) + " is taken by another program"; !strings.Contains(e.stderr.String(), want) {
		t.Errorf("open does not say %q:\n%s", want, e.stderr)
	}

	if s := got(); s != "" {
		t.Errorf("the program on port %d received:\n%q", lp, s)
	}
}
