package sshexec

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

// tcpLine is one line as the kernel prints it on this machine's byte order.
func tcpLine(addr string, port int, state string, uid, inode string) string {
	return "   0: " + addr + ":" + strings.ToUpper(hex4(port)) + " 00000000:0000 " + state +
		" 00000000:00000000 00:00000000 00000000 " + uid + "        0 " + inode + " 1 0000000000000000 100 0 0 10 0\n"
}

func hex4(p int) string {
	const d = "0123456789abcdef"
	return string([]byte{d[p>>12&15], d[p>>8&15], d[p>>4&15], d[p&15]})
}

// hexAddr prints addr the way the kernel does: 32-bit words in host order.
func hexAddr(addr string) string {
	a := netip.MustParseAddr(addr)
	b := a.AsSlice()
	var s strings.Builder
	for i := 0; i < len(b); i += 4 {
		// the word as a native integer, printed in hex, as the kernel does
		n := binary.NativeEndian.Uint32(b[i : i+4])
		for sh := 28; sh >= 0; sh -= 4 {
			s.WriteByte("0123456789ABCDEF"[n>>uint(sh)&15])
		}
	}
	return s.String()
}

func TestParseNetTCP(t *testing.T) {
	table := tcpHeader +
		tcpLine(hexAddr("127.0.0.1"), 18888, "0A", "1000", "4242") +
		tcpLine(hexAddr("127.0.0.1"), 18888, "01", "1000", "99") + // established: not a listener
		tcpLine(hexAddr("0.0.0.0"), 22, "0A", "0", "7") +
		"\n"
	ls, err := parseNetTCP([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []tcpListener{
		{Addr: netip.MustParseAddr("127.0.0.1"), Port: 18888, UID: 1000, Inode: 4242},
		{Addr: netip.MustParseAddr("0.0.0.0"), Port: 22, UID: 0, Inode: 7},
	}
	if len(ls) != len(want) {
		t.Fatalf("got %+v, want %+v", ls, want)
	}
	for i := range want {
		if ls[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, ls[i], want[i])
		}
	}

	v6 := tcpHeader +
		tcpLine(hexAddr("::1"), 8888, "0A", "1000", "11") +
		tcpLine(hexAddr("::ffff:127.0.0.1"), 8889, "0A", "1000", "12") +
		tcpLine(hexAddr("::"), 8890, "0A", "65534", "13")
	ls, err = parseNetTCP([]byte(v6))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 || ls[0].Addr != netip.MustParseAddr("::1") || ls[1].Addr != netip.MustParseAddr("::ffff:127.0.0.1") ||
		!ls[2].Addr.IsUnspecified() || ls[2].UID != 65534 || ls[2].Port != 8890 {
		t.Errorf("tcp6: %+v", ls)
	}
}

func TestParseNetTCPRefusesOddLines(t *testing.T) {
	good := tcpLine(hexAddr("127.0.0.1"), 18888, "0A", "1000", "4242")
	for name, line := range map[string]string{
		"short":         "   0: 0100007F:49C8 00000000:0000 0A\n",
		"no sl colon":   strings.Replace(good, "0:", "0 ", 1),
		"odd hex":       strings.Replace(good, hexAddr("127.0.0.1"), "0100007G", 1),
		"short address": strings.Replace(good, hexAddr("127.0.0.1"), "100007F", 1),
		"long port":     strings.Replace(good, ":49C8 ", ":049C8 ", 1),
		"no port":       strings.Replace(good, hexAddr("127.0.0.1")+":49C8", hexAddr("127.0.0.1"), 1),
		"negative uid":  strings.Replace(good, " 1000 ", " -1 ", 1),
		"huge uid":      strings.Replace(good, " 1000 ", " 99999999999 ", 1),
		"uid word":      strings.Replace(good, " 1000 ", " $(id) ", 1),
		"bad inode":     strings.Replace(good, " 4242 ", " 4242x ", 1),
		"10 kB line":    strings.Replace(good, " 1 0000", " "+strings.Repeat("A", 10000)+" 0000", 1),
		"header later":  good + tcpHeader,
	} {
		if !strings.Contains(line, "49C8") && name != "short" && name != "no port" && name != "long port" {
			t.Fatalf("%s: the corpus line lost its port: %q", name, line)
		}
		if ls, err := parseNetTCP([]byte(tcpHeader + line)); err == nil {
			t.Errorf("%s: parsed %q as %+v, want an error", name, line, ls)
		}
	}
	// Blank lines and a missing table mean no listener, not an error.
	if ls, err := parseNetTCP([]byte(tcpHeader + "\n\n")); err != nil || len(ls) != 0 {
		t.Errorf("blank lines: %+v, %v", ls, err)
	}
}

func TestCandidates(t *testing.T) {
	ls := []tcpListener{
		{Addr: netip.MustParseAddr("127.0.0.1"), Port: 18888, Inode: 1},
		{Addr: netip.MustParseAddr("0.0.0.0"), Port: 18888, Inode: 2},
		{Addr: netip.MustParseAddr("::"), Port: 18888, Inode: 3},
		{Addr: netip.MustParseAddr("::ffff:127.0.0.1"), Port: 18888, Inode: 4},
		{Addr: netip.MustParseAddr("::1"), Port: 18888, Inode: 5},         // IPv6 loopback: never reached by 127.0.0.1
		{Addr: netip.MustParseAddr("127.0.0.2"), Port: 18888, Inode: 6},   // another address
		{Addr: netip.MustParseAddr("192.168.1.2"), Port: 18888, Inode: 7}, // another address
		{Addr: netip.MustParseAddr("127.0.0.1"), Port: 18889, Inode: 8},   // another port
	}
	var got []uint64
	for _, l := range candidates(ls, 18888) {
		got = append(got, l.Inode)
	}
	if len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 4 {
		t.Errorf("candidates for 18888: inodes %v, want [1 2 3 4]", got)
	}
}

func TestCheckListeners(t *testing.T) {
	mine := tcpListener{Addr: netip.MustParseAddr("127.0.0.1"), Port: 18888, UID: 1000, Inode: 10}
	theirs := tcpListener{Addr: netip.MustParseAddr("0.0.0.0"), Port: 18888, UID: 1001, Inode: 11}
	sameUser := tcpListener{Addr: netip.MustParseAddr("::"), Port: 18888, UID: 1000, Inode: 12}
	held := map[uint64]bool{10: true}

	if err := checkUIDs(18888, nil, 1000); !errors.Is(err, ErrNoListener) {
		t.Errorf("no listener: %v, want ErrNoListener", err)
	}
	if err := checkUIDs(18888, []tcpListener{mine, theirs}, 1000); !errors.Is(err, ErrPortTaken) {
		t.Errorf("another user's listener beside ours: %v, want ErrPortTaken", err)
	}
	if err := checkUIDs(18888, []tcpListener{mine}, 1000); err != nil {
		t.Errorf("our listener: %v", err)
	}
	if err := checkHeld(18888, []tcpListener{mine}, 42, held); err != nil {
		t.Errorf("held by the master: %v", err)
	}
	if err := checkHeld(18888, []tcpListener{mine, sameUser}, 42, held); !errors.Is(err, ErrPortTaken) {
		t.Errorf("a second listener of ours the master does not hold: %v, want ErrPortTaken", err)
	}
	if err := checkHeld(18888, []tcpListener{mine}, 42, map[uint64]bool{}); !errors.Is(err, ErrPortTaken) {
		t.Errorf("a listener the master does not hold: %v, want ErrPortTaken", err)
	}
}

func TestStartedAround(t *testing.T) {
	rec := time.Unix(1700000000, 0)
	for _, c := range []struct {
		start time.Time
		ok    bool
	}{
		{rec.Add(-100 * time.Millisecond), true},
		{rec.Add(-30 * time.Second), true}, // a slow login without -f (Windows)
		{rec.Add(time.Second), true},       // clock granularity
		{rec.Add(-time.Hour), false},       // an older process
		{rec.Add(10 * time.Second), false}, // started after the record: a reused pid
	} {
		if got := startedAround(c.start, rec); got != c.ok {
			t.Errorf("start %v for record %v: %v, want %v", c.start.Sub(rec), rec, got, c.ok)
		}
	}
}
