package sshexec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// The kernel's TCP tables (/proc/net/tcp and tcp6) are costly to read:
// the kernel writes a line for every socket of the network namespace, and
// jt ls proves the listener of every session it checks, side by side. The
// checks that run at once share reads: each caller gets a read that began
// after it asked (never an older one: a forward made just before must be
// in it), and callers that ask while a read runs share the next one.

// tcpTables batches the reads of one proc root.
type tcpTables struct {
	mu      sync.Mutex
	running bool
	next    *tableRead // the read that starts when the running one ends
}

// tableRead is one read of both tables, shared by the callers that wait
// on done.
type tableRead struct {
	done    chan struct{}
	callers int // how many wait for it
	ls      []tcpListener
	err     error
}

var (
	tablesMu sync.Mutex
	tables   = map[string]*tcpTables{}
	// readTables reads the tables (a test makes it wait).
	readTables = readTCPTables
)

// tcpListenersNow is every listening TCP socket, from a read of the
// kernel's tables that began after the call.
func tcpListenersNow() ([]tcpListener, error) {
	tablesMu.Lock()
	t := tables[procRoot]
	if t == nil {
		t = &tcpTables{}
		tables[procRoot] = t
	}
	root := procRoot
	tablesMu.Unlock()

	t.mu.Lock()
	if t.next == nil {
		t.next = &tableRead{done: make(chan struct{})}
	}
	r := t.next
	r.callers++
	if !t.running {
		t.running, t.next = true, nil
		t.mu.Unlock()
		t.read(root, r)
	} else {
		t.mu.Unlock()
	}
	<-r.done
	return r.ls, r.err
}

// read makes read r, then starts the one that callers who came meanwhile
// wait for.
func (t *tcpTables) read(root string, r *tableRead) {
	r.ls, r.err = readTables(root)
	close(r.done)
	t.mu.Lock()
	defer t.mu.Unlock()
	next := t.next
	t.next = nil
	if next == nil {
		t.running = false
		return
	}
	go t.read(root, next)
}

// readTCPTables reads and parses /proc/net/tcp and tcp6 under root.
func readTCPTables(root string) ([]tcpListener, error) {
	var all []tcpListener
	for _, name := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(filepath.Join(root, "net", name))
		if errors.Is(err, os.ErrNotExist) && name == "tcp6" {
			continue // IPv6 disabled
		}
		if err != nil {
			return nil, err
		}
		ls, err := parseNetTCP(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, ls...)
	}
	return all, nil
}
