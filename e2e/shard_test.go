package e2e

// Parallel runs: scripts/e2e starts several processes of this package's
// test binary side by side, the workers of one run. Each worker has a slot
// (JT_E2E_SLOT, 1…9), and with it unix users, an sshd and a lock of its
// own, so that workers never see each other's sessions; the tests are
// dealt out as they come (JT_E2E_CLAIMS: the first worker to reach a test
// runs it, the others skip it). What the workers share — the Slurm and
// Grid Engine clusters, the Debian 13 host's fixed users — is taken by
// one test at a time (groupLock). Without JT_E2E_SLOT the package runs
// as it always did: slot 0, the plain user names, every test.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gofrs/flock"
)

// slot is this process's worker slot; 0 outside a parallel run.
var slot = func() int {
	v := os.Getenv("JT_E2E_SLOT")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 9 {
		panic(fmt.Sprintf("JT_E2E_SLOT=%q: want 0-9", v))
	}
	return n
}()

// slotUser is the unix user name base stands for in this slot.
func slotUser(base string) string {
	if slot == 0 {
		return base
	}
	return base + "x" + strconv.Itoa(slot)
}

// slotLockPath is the lock this slot's users are reset under.
func slotLockPath() string {
	if slot == 0 {
		return e2eLockPath
	}
	return fmt.Sprintf("/tmp/jt-e2e-slot%d.lock", slot)
}

var claims struct {
	mu   sync.Mutex
	mine map[string]bool // top-level test → this worker runs it
}

// topName is the top-level test t belongs to.
func topName(t *testing.T) string {
	top, _, _ := strings.Cut(t.Name(), "/")
	return top
}

// claim skips t when another worker of the run took its top-level test
// first. Outside a parallel run every test is this process's.
func claim(t *testing.T) {
	t.Helper()
	claimIn(t, "")
}

// claimIn is claim for a test of a shared resource group: the group's
// tests go to the first worker that reaches one (its owner), so that the
// others pass them by instead of waiting for the group's lock (groupLock,
// which still keeps any two of them apart).
func claimIn(t *testing.T, group string) {
	t.Helper()
	dir := os.Getenv("JT_E2E_CLAIMS")
	if dir == "" {
		return
	}
	top := topName(t)
	claims.mu.Lock()
	mine, seen := claims.mine[top]
	if !seen {
		var err error
		mine, err = takeClaim(dir, top, group)
		if err != nil {
			claims.mu.Unlock()
			t.Fatalf("claim %s: %v", top, err)
		}
		if claims.mine == nil {
			claims.mine = map[string]bool{}
		}
		claims.mine[top] = mine
	}
	claims.mu.Unlock()
	if !mine {
		t.Skip("run by another worker of this parallel run")
	}
}

// takeClaim makes this worker top's: its claim file, and for a test of a
// group, the group's owner file, are created by one worker only.
func takeClaim(dir, top, group string) (bool, error) {
	if group != "" {
		owner := filepath.Join(dir, "group-"+group)
		mine, err := create(owner)
		if err != nil {
			return false, err
		}
		if !mine {
			b, err := os.ReadFile(owner)
			if err != nil {
				return false, err
			}
			if strings.TrimSpace(string(b)) != strconv.Itoa(slot) {
				return false, nil // its owner will reach it
			}
		}
	}
	return create(filepath.Join(dir, top))
}

// create makes path holding this worker's slot, or reports that it exists.
func create(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = fmt.Fprintf(f, "%d\n", slot)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

var groups struct {
	mu   sync.Mutex
	held map[string]string // group → the top-level test holding it
}

// groupLock gives t the shared resource group (a test cluster, the
// Debian 13 host's users) until t ends: workers take it one test at a
// time. Within a process tests run one after another, so a group already
// held here is held by t's own top-level test.
func groupLock(t *testing.T, group string) {
	t.Helper()
	top := topName(t)
	groups.mu.Lock()
	defer groups.mu.Unlock()
	if holder, ok := groups.held[group]; ok {
		if holder != top {
			t.Fatalf("group %s is still held by %s", group, holder)
		}
		return
	}
	l := flock.New(groupLockPath(group))
	if err := l.Lock(); err != nil {
		t.Fatalf("lock group %s: %v", group, err)
	}
	if groups.held == nil {
		groups.held = map[string]string{}
	}
	groups.held[group] = top
	t.Cleanup(func() {
		groups.mu.Lock()
		delete(groups.held, group)
		groups.mu.Unlock()
		l.Unlock()
	})
}

func groupLockPath(group string) string { return "/tmp/jt-e2e-group-" + group + ".lock" }

// withGroup runs f holding group, outside any test (TestMain's cleanup).
func withGroup(group string, f func()) {
	l := flock.New(groupLockPath(group))
	if err := l.Lock(); err == nil {
		defer l.Unlock()
	}
	f()
}
