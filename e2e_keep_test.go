package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jt open --keep --background: the open happens in the foreground, then a
// keeper restores the tunnel from the background whenever it drops, until
// jt close stops it.
func TestE2EKeepBackground(t *testing.T) {
	e := newEnv(t)
	e.opened[[2]string{hostA, "kb"}] = true
	stdout, stderr := e.jt("open", "--keep", "--background", "--no-browser", "--name", "kb", hostA)
	u := strings.TrimSpace(stdout)
	mustAnswer(t, u)
	m := regexp.MustCompile(`from the background \(pid ([0-9]+), log ([^ ,)]+)\)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("jt open --keep --background did not name its keeper: %q", stderr)
	}
	keeper, _ := strconv.Atoi(m[1])
	if _, err := os.Stat("/proc/" + strconv.Itoa(keeper)); err != nil {
		t.Fatalf("keeper %d is not running", keeper)
	}
	f, err := e.loadState()
	if err != nil || len(f.Sessions) != 1 {
		t.Fatalf("state: %+v, %v", f, err)
	}
	server := f.Sessions[0].PID

	// The link drops (the master ends): the keeper brings the same URL back.
	e.exitMaster(hostA)
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, err := getStatus(u)
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the keeper did not restore %s within 60 s (last: %d, %v)", u, code, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if f, err := e.loadState(); err != nil || len(f.Sessions) != 1 || f.Sessions[0].PID != server {
		t.Errorf("after the keeper's repair: %+v, %v; want the same server %d", f, err, server)
	}

	// jt close stops the keeper, which then reopens nothing.
	e.jt("close", "--name", "kb", hostA)
	waitDead(t, keeper)
	time.Sleep(4 * time.Second) // longer than the keeper's interval
	if code, err := getStatus(u); err == nil {
		t.Errorf("after jt close the URL answers again (%d): something reopened it", code)
	}
	if !remoteAlive(t, hostA, server) {
		t.Errorf("jt close (without --kill) stopped the server %d", server)
	}
}
