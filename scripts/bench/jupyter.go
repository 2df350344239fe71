//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// remotePATH is what a login shell of a box user has (Debian's default).
const remotePATH = "/usr/local/bin:/usr/bin:/bin"

// jupyterFloor measures Jupyter's own start-to-ready time on the "remote"
// (the box users live on this machine): exec `jupyter notebook` as the
// test user and poll /api from here until it answers 200; then how long
// it takes to exit on SIGTERM. No ssh, screen or script is involved: these
// are the floors jt's cold open and close --kill cannot go below.
func jupyterFloor(ctx context.Context, userName, logPath string) (start, stop time.Duration, err error) {
	u, err := user.Lookup(userName)
	if err != nil {
		return 0, 0, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	bin, err := lookPathIn("jupyter", remotePATH)
	if err != nil {
		return 0, 0, err
	}
	port, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, 0, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "notebook", "--no-browser", "--ip=127.0.0.1", "--port="+strconv.Itoa(port), "--port-retries=0")
	cmd.Dir = u.HomeDir
	cmd.Env = []string{"HOME=" + u.HomeDir, "USER=" + userName, "LOGNAME=" + userName, "PATH=" + remotePATH, "LANG=C.UTF-8", "SHELL=/bin/bash"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Setpgid: true}
	cmd.Stdout, cmd.Stderr = logf, logf
	exited := make(chan error, 1)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	go func() { exited <- cmd.Wait() }()

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/api"
	deadline := time.Now().Add(60 * time.Second)
	for !get200(ctx, url) {
		select {
		case err := <-exited:
			return 0, 0, fmt.Errorf("jupyter exited before it was ready (%v); see %s", err, logPath)
		case <-ctx.Done():
			stopGroup(cmd.Process.Pid, exited)
			return 0, 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stopGroup(cmd.Process.Pid, exited)
			return 0, 0, fmt.Errorf("jupyter not ready on port %d after 60s; see %s", port, logPath)
		}
	}
	start = time.Since(t0)
	t1 := time.Now()
	if !stopGroup(cmd.Process.Pid, exited) {
		return start, 0, fmt.Errorf("jupyter ignored SIGTERM for 10s; see %s", logPath)
	}
	return start, time.Since(t1), nil
}

// stopGroup ends the process group of pid (SIGTERM, then SIGKILL) and
// waits for its leader; false if SIGKILL was needed.
func stopGroup(pid int, exited chan error) bool {
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(10 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
		return false
	}
}

// lookPathIn finds name in a PATH-style list of directories.
func lookPathIn(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in %s", name, path)
}
