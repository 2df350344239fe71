//go:build linux

package main

import (
	"net"
	"strconv"
	"sync"
	"time"
)

// relay is a userspace TCP relay that delays every chunk by delay in each
// direction, keeping order: this kernel has no netem qdisc, and everything
// jt does (logins, scripts, forwarded Jupyter traffic) rides on the ssh
// connection, so delaying that one TCP stream delays it all.
type relay struct {
	ln     net.Listener
	target string
	delay  time.Duration

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// startRelay listens on 127.0.0.1 (a port of the kernel's choice) and
// forwards each connection to target.
func startRelay(target string, delay time.Duration) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{ln: ln, target: target, delay: delay, conns: map[net.Conn]bool{}}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

// Port is the port the relay listens on.
func (r *relay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Addr is host:port of the relay.
func (r *relay) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port())) }

func (r *relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go r.handle(c)
	}
}

func (r *relay) track(c net.Conn, on bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil { // closed
		return false
	}
	if on {
		r.conns[c] = true
	} else {
		delete(r.conns, c)
	}
	return true
}

func (r *relay) handle(client net.Conn) {
	defer r.wg.Done()
	server, err := net.Dial("tcp", r.target)
	if err != nil {
		client.Close()
		return
	}
	if !r.track(client, true) || !r.track(server, true) {
		client.Close()
		server.Close()
		return
	}
	done := make(chan struct{}, 2)
	go r.pipe(server, client, done)
	go r.pipe(client, server, done)
	<-done
	<-done
	client.Close()
	server.Close()
	r.track(client, false)
	r.track(server, false)
}

// chunk is what one Read returned, and when it may be written on.
type chunk struct {
	due  time.Time
	data []byte
}

// pipe copies src to dst, each chunk delay after it was read. A reader
// goroutine stamps chunks into a FIFO queue, so a slow write never delays
// the reading (the link's latency stays delay, not delay plus the backlog)
// and order is kept. EOF is passed on as a half-close.
func (r *relay) pipe(dst, src net.Conn, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	queue := make(chan chunk, 4096)
	go func() {
		defer close(queue)
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				data := append([]byte(nil), buf[:n]...)
				queue <- chunk{due: time.Now().Add(r.delay), data: data}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range queue {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.data); err != nil {
			// The far end is gone: end both directions.
			src.Close()
			dst.Close()
			for range queue {
			}
			return
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// Close stops accepting and cuts every relayed connection.
func (r *relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
}
