package e2e

import (
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
)

// A local program on [::1]:PORT (a browser resolving localhost to ::1
// would reach it) never gets jt's traffic: jt binds and prints 127.0.0.1.
func TestE2ELocalIPv6PortTaken(t *testing.T) {
	e := newEnv(t)
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer l.Close()
	var hits atomic.Int32
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	port := l.Addr().(*net.TCPAddr).Port

	r := e.open(hostA, "v6", "--local-port", strconv.Itoa(port))
	if r.LocalPort != port {
		t.Fatalf("local port %d, want %d (127.0.0.1:%d is free)", r.LocalPort, port, port)
	}
	if want := "http://127.0.0.1:" + strconv.Itoa(port) + "/"; len(r.URL) < len(want) || r.URL[:len(want)] != want {
		t.Errorf("URL %s, want it on %s", r.URL, want)
	}
	mustAnswer(t, r.URL)
	if runKernel(t, r.URL) != "2" {
		t.Error("kernel through the tunnel did not answer 2")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the program on [::1]:%d got %d requests", port, n)
	}
}
