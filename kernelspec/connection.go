package kernelspec

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
)

// Connection is what jt takes from a client's connection file: the five
// local ports the client talks to, and the key that signs its messages.
type Connection struct {
	Shell, IOPub, Stdin, Control, HB int
	Key                              string
	Scheme                           string
}

// Ports are the five channels' local ports, in the order of the remote
// kernel's sockets k-1 … k-5 (shell, iopub, stdin, control, hb).
func (c Connection) Ports() [5]int { return [5]int{c.Shell, c.IOPub, c.Stdin, c.Control, c.HB} }

// keyRE is the grammar of a connection file's key that jt carries: what
// jupyter_client writes (a UUID), and other plain keys.
var keyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._+/=-]{1,256}$`) })

// ValidKey reports whether k is a connection file's key jt carries.
func ValidKey(k string) bool { return keyRE().MatchString(k) }

// ReadConnection reads and checks a client's connection file: transport
// tcp on 127.0.0.1 (or localhost), five distinct ports, a plain key,
// signature scheme hmac-sha256. The key is never part of an error.
func ReadConnection(path string) (Connection, error) {
	f, err := os.Open(path)
	if err != nil {
		return Connection{}, fmt.Errorf("connection file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return Connection{}, fmt.Errorf("connection file %s: %w", path, err)
	}
	c, why := parseConnection(b)
	if why != "" {
		return Connection{}, fmt.Errorf("connection file %s: %s", path, why)
	}
	return c, nil
}

func parseConnection(b []byte) (Connection, string) {
	if len(b) > 64<<10 {
		return Connection{}, "larger than 64 kB: not a connection file"
	}
	var raw struct {
		Transport       *string `json:"transport"`
		IP              *string `json:"ip"`
		Key             *string `json:"key"`
		SignatureScheme *string `json:"signature_scheme"`
		Shell           *int    `json:"shell_port"`
		IOPub           *int    `json:"iopub_port"`
		Stdin           *int    `json:"stdin_port"`
		Control         *int    `json:"control_port"`
		HB              *int    `json:"hb_port"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Connection{}, "not JSON a Jupyter client writes"
	}
	switch {
	case raw.Transport == nil || *raw.Transport != "tcp":
		return Connection{}, `transport is not "tcp": jt carries a client's TCP ports`
	case raw.IP == nil || (*raw.IP != "127.0.0.1" && *raw.IP != "localhost"):
		return Connection{}, `ip is not "127.0.0.1": jt listens on this machine's loopback only`
	case raw.SignatureScheme == nil || *raw.SignatureScheme != "hmac-sha256":
		return Connection{}, `signature_scheme is not "hmac-sha256"`
	case raw.Key == nil || !ValidKey(*raw.Key):
		return Connection{}, "key is missing, empty or not plain letters, digits and . _ + / = -: jt carries only signed channels"
	}
	c := Connection{Key: *raw.Key, Scheme: *raw.SignatureScheme}
	seen := map[int]bool{}
	for _, p := range []struct {
		name string
		v    *int
		to   *int
	}{{"shell_port", raw.Shell, &c.Shell}, {"iopub_port", raw.IOPub, &c.IOPub}, {"stdin_port", raw.Stdin, &c.Stdin},
		{"control_port", raw.Control, &c.Control}, {"hb_port", raw.HB, &c.HB}} {
		if p.v == nil || *p.v < 1 || *p.v > 65535 {
			return Connection{}, p.name + " is missing or not a port from 1 to 65535"
		}
		if seen[*p.v] {
			return Connection{}, fmt.Sprintf("port %d is given twice", *p.v)
		}
		seen[*p.v] = true
		*p.to = *p.v
	}
	return c, ""
}
