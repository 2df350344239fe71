package sshexec

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Callers that ask while a read of the TCP tables runs share the next
// read, never the running one (it began before they asked).
func TestTCPTablesShareOnlyLaterReads(t *testing.T) {
	newFakeProc(t, "", "")
	var mu sync.Mutex
	reads := 0
	release := []chan struct{}{make(chan struct{}), make(chan struct{})}
	started := make(chan int, 2)
	old := readTables
	readTables = func(string) ([]tcpListener, error) {
		mu.Lock()
		n := reads
		reads++
		mu.Unlock()
		started <- n
		<-release[n]
		return []tcpListener{{Port: 1000 + n}}, nil
	}
	t.Cleanup(func() { readTables = old })

	got := make([]int, 4)
	var wg sync.WaitGroup
	ask := func(i int) {
		defer wg.Done()
		ls, err := tcpListenersNow()
		if err != nil || len(ls) != 1 {
			t.Errorf("caller %d: %v, %v", i, ls, err)
			return
		}
		got[i] = ls[0].Port
	}
	wg.Add(1)
	go ask(0)
	if n := <-started; n != 0 {
		t.Fatalf("first read is #%d", n)
	}
	// Three callers while read #0 runs.
	for i := 1; i < 4; i++ {
		wg.Add(1)
		go ask(i)
	}
	waitFor(t, func() bool {
		tablesMu.Lock()
		tt := tables[procRoot]
		tablesMu.Unlock()
		tt.mu.Lock()
		defer tt.mu.Unlock()
		return tt.next != nil && tt.next.callers == 3
	})
	close(release[0])
	if n := <-started; n != 1 {
		t.Fatalf("second read is #%d", n)
	}
	close(release[1])
	wg.Wait()
	if want := []int{1000, 1001, 1001, 1001}; !slices.Equal(got, want) {
		t.Errorf("callers got reads %v, want %v (no caller takes a read begun before it asked)", got, want)
	}
	if reads != 2 {
		t.Errorf("%d reads, want 2", reads)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
