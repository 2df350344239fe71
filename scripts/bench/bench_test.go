//go:build linux

package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	cp := "-F /b/ssh_config -o ControlPath=/r/jt/cm-%C -o ControlMaster=no -o BatchMode=yes -o ConnectTimeout=15 "
	for _, tc := range []struct{ argv, want string }{
		{cp + "-O check -- h01", callCheck},
		{cp + "-O forward -L 127.0.0.1:8888:/home/u/s.sock -- h01", callForward},
		{cp + "-O cancel -L 127.0.0.1:8888:127.0.0.1:8888 -- h01", callCancel},
		{cp + "-O exit -- h01", callExit},
		{"-F /b/ssh_config -o ControlPath=/r/jt/cm-%C -o ControlMaster=auto -o ControlPersist=yes -fN -- h01", callMaster},
		{cp + "-o ClearAllForwardings=yes -o RemoteCommand=none -T -- h01 exec /bin/sh -s", callScript},
		{cp + "-o ClearAllForwardings=yes -o RemoteCommand=none -T -- h01 exit 0", callPing},
		{cp + "-t -- h01 screen -r x", callOther},
	} {
		if got := classify(tc.argv); got != tc.want {
			t.Errorf("classify(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
	calls := []string{callCheck, callMaster, callScript, callForward, callPing, callExit}
	if got := roundTrips(calls); got != 3 {
		t.Errorf("roundTrips(%v) = %d, want 3 (master, script, ping)", calls, got)
	}
}

func TestUnion(t *testing.T) {
	for _, tc := range []struct {
		spans [][2]int64
		want  int64
	}{
		{nil, 0},
		{[][2]int64{{0, 10}}, 10},
		{[][2]int64{{20, 30}, {0, 10}}, 20},
		{[][2]int64{{0, 10}, {5, 15}, {12, 14}}, 15},
		{[][2]int64{{0, 10}, {10, 20}}, 20},
	} {
		if got := union(tc.spans); got != tc.want {
			t.Errorf("union(%v) = %d, want %d", tc.spans, got, tc.want)
		}
	}
}

// TestRelayKeepsBytesAndOrder sends 1 MB both ways through a delaying
// relay to an echo server and checks that every byte comes back in order
// and that a half-close is passed on.
func TestRelayKeepsBytesAndOrder(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	r, err := startRelay(echo.Addr().String(), 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 1<<20)
	rand.Read(want)
	go func() {
		for b := want; len(b) > 0; b = b[min(len(b), 3000):] {
			c.Write(b[:min(len(b), 3000)])
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c) // ends only if the echo's half-close came back
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("relay changed the stream: got %d bytes, want %d, equal prefix %d", len(got), len(want), prefix(got, want))
	}
}

func prefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
