package sshexec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// ownUID is the user whose sockets and processes count as jt's.
var ownUID = os.Geteuid()

// ErrPortTaken: a program that is not jt's tunnel listens on the local
// port, and must never be sent the token.
var ErrPortTaken = errors.New("port taken by another program")

// ErrNoListener: nothing listens on the local port (the tunnel is down).
var ErrNoListener = errors.New("nothing listens on the port")

// ListenerOwned proves that what accepts connections on 127.0.0.1:localPort
// is jt's own tunnel to host: the listening socket belongs to host's master
// (asked with -O check) or, without a master, to the forward's own ssh
// (fwdPID, which must have started at fwdStarted). Anything else is an
// error, and the caller sends nothing there: another user's program may
// have taken the port after the tunnel dropped.
func (c *Client) ListenerOwned(ctx context.Context, host string, localPort, fwdPID int, fwdStarted time.Time) error {
	if localPort < 1 || localPort > 65535 {
		return fmt.Errorf("local port %d out of range", localPort)
	}
	// Checked first, without ssh: a port that is free or plainly someone
	// else's costs no -O check.
	ls, err := listenersOn(localPort)
	if err != nil {
		return err
	}
	// The master jt last saw for host (its pid file: pid and start), if
	// that very process holds the socket: no -O check, no ssh at all.
	if fwdPID == 0 && !c.NoMux {
		if pid := RecordedPID(c.pidFile(host)); pid > 0 && isOurMaster(pid, c.ControlDir) && ls.heldBy(pid) == nil {
			return nil
		}
		// A master this command just started (ssh -f forks it, and no -O
		// check has told its pid yet), found by its argv: host's master
		// in jt's control directory. Only a process of this user's can
		// hold the socket (its open files are readable, the socket's uid
		// is ours), so another user's look-alike proves nothing. Found,
		// it is remembered for the next command; where the system cannot
		// tell (not Linux), -O check says.
		if pid := findMaster(c.ControlDir, c.Dest(host)); pid > 0 && ls.heldBy(pid) == nil {
			WritePIDFile(c.pidFile(host), pid)
			return nil
		}
	}
	pid, err := c.listenerHolder(ctx, host, fwdPID, fwdStarted)
	switch {
	case err == nil:
	case errors.Is(err, ErrTimeout), ctx.Err() != nil:
		return fmt.Errorf("127.0.0.1:%d: %w", localPort, err)
	case errors.Is(err, ErrPortTaken):
		return fmt.Errorf("127.0.0.1:%d: %w", localPort, err)
	default:
		// Something listens, and the process that should is gone or is
		// not the one recorded: the listener is another program's.
		return fmt.Errorf("127.0.0.1:%d: %w (%v)", localPort, ErrPortTaken, err)
	}
	return ls.heldBy(pid)
}

// listenerHolder is the process that should hold the listening socket.
func (c *Client) listenerHolder(ctx context.Context, host string, fwdPID int, fwdStarted time.Time) (int, error) {
	if fwdPID > 0 {
		if fwdStarted.IsZero() {
			return 0, errors.New("no start time recorded for the forward's ssh")
		}
		start, ours, err := processIdentity(fwdPID)
		if err != nil {
			return 0, fmt.Errorf("the forward's ssh (pid %d): %w", fwdPID, err)
		}
		if !ours {
			return 0, fmt.Errorf("%w: pid %d is another user's process", ErrPortTaken, fwdPID)
		}
		if !startedAround(start, fwdStarted) {
			return 0, fmt.Errorf("pid %d started at %v, not the forward's ssh of %v", fwdPID, start.UTC().Round(time.Second), fwdStarted.UTC().Round(time.Second))
		}
		return fwdPID, nil
	}
	if c.NoMux {
		return 0, errors.New("no forward process recorded")
	}
	// -O check is answered by the local master alone; a hung one must not
	// hang the caller.
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	pid, err := c.MasterPID(cctx, host)
	if err != nil {
		return 0, err
	}
	if pid <= 0 {
		return 0, errors.New("the master did not tell its pid")
	}
	WritePIDFile(c.pidFile(host), pid) // the next proof needs no -O check
	return pid, nil
}

// startedAround reports whether a process that started at start can be the
// forward recorded at recorded: the record is written just after its ssh
// daemonised (Windows: after its login, bounded by the forward's timeout).
// The margin after covers the clocks' granularity.
func startedAround(start, recorded time.Time) bool {
	return !start.Before(recorded.Add(-40*time.Second)) && !start.After(recorded.Add(2*time.Second))
}

// tcpListener is one LISTEN entry of /proc/net/tcp or tcp6.
type tcpListener struct {
	Addr  netip.Addr
	Port  int
	UID   int
	Inode uint64
}

const tcpListen = "0A"

// parseNetTCP reads the LISTEN entries of a /proc/net/tcp or tcp6 table.
// The format is the kernel's; a line that does not fit it is an error, so
// that an entry jt cannot read is never taken for "no one else listens".
func parseNetTCP(data []byte) ([]tcpListener, error) {
	var out []tcpListener
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 4096)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Fields(line)
		if n == 1 && len(f) > 0 && f[0] == "sl" {
			continue
		}
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			return nil, fmt.Errorf("tcp table line %d: %q", n, line)
		}
		if f[3] != tcpListen {
			continue
		}
		addr, port, err := parseHexAddr(f[1])
		if err != nil {
			return nil, fmt.Errorf("tcp table line %d: %w", n, err)
		}
		uid, err := strconv.ParseUint(f[7], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("tcp table line %d: uid %q", n, f[7])
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tcp table line %d: inode %q", n, f[9])
		}
		out = append(out, tcpListener{Addr: addr, Port: port, UID: int(uid), Inode: inode})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tcp table: %w", err)
	}
	return out, nil
}

// parseHexAddr reads ADDR:PORT as the kernel prints it: the address as
// 32-bit words in host byte order, the port in hex.
func parseHexAddr(s string) (netip.Addr, int, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || (len(a) != 8 && len(a) != 32) || len(p) != 4 {
		return netip.Addr{}, 0, fmt.Errorf("address %q", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("port in %q", s)
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return addr, int(port), nil
}

// reachesLoopback reports whether a socket listening on addr may accept a
// connection to 127.0.0.1: bound there, or to a wildcard (an IPv6 one may
// take IPv4 too, and whether it does is not in the table).
func reachesLoopback(addr netip.Addr) bool {
	a := addr.Unmap()
	return a == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || a.IsUnspecified()
}

// candidates are the entries that could answer a connection to
// 127.0.0.1:port.
func candidates(ls []tcpListener, port int) []tcpListener {
	var out []tcpListener
	for _, l := range ls {
		if l.Port == port && reachesLoopback(l.Addr) {
			out = append(out, l)
		}
	}
	return out
}

// checkUIDs is the first, cheap half of the proof: something listens,
// and every listener that may take the connection is this user's.
func checkUIDs(port int, ls []tcpListener, uid int) error {
	if len(ls) == 0 {
		return fmt.Errorf("127.0.0.1:%d: %w", port, ErrNoListener)
	}
	for _, l := range ls {
		if l.UID != uid {
			return fmt.Errorf("127.0.0.1:%d: %w (uid %d)", port, ErrPortTaken, l.UID)
		}
	}
	return nil
}

// checkHeld is the second half: every such listener is a socket the holder
// has open (a second listener, even of the same user, might take the
// connection).
func checkHeld(port int, ls []tcpListener, holder int, holderSockets map[uint64]bool) error {
	for _, l := range ls {
		if !holderSockets[l.Inode] {
			return fmt.Errorf("127.0.0.1:%d: %w (not ssh pid %d)", port, ErrPortTaken, holder)
		}
	}
	return nil
}
