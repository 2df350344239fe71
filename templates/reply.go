package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Markers delimit what a script answers, so that banners printed by the
// remote rc files cannot be mistaken for it.
const (
	markSession = "@@JT-SESSION@@"
	markError   = "@@JT-ERROR@@"
	markJSON    = "@@JT-JSON@@"
	markLog     = "@@JT-LOG@@"
	markEnd     = "@@JT-END@@"
	markDone    = "@@JT-DONE@@"
)

// Block is one answer: key=value lines, the server's runtime JSON, and
// log lines.
type Block struct {
	Error  bool
	Values map[string]string
	Server *ServerInfo
	Log    []string
}

// ServerInfo is Jupyter's own runtime file (nbserver-PID.json of notebook
// 6, jpserver-PID.json of jupyter_server): the truth about a server.
type ServerInfo struct {
	PID         int    `json:"pid"`
	Port        int    `json:"port"`
	Sock        string `json:"sock"`
	Token       string `json:"token"`
	URL         string `json:"url"`
	BaseURL     string `json:"base_url"`
	Hostname    string `json:"hostname"`
	Password    bool   `json:"password"`
	NotebookDir string `json:"notebook_dir"`
	RootDir     string `json:"root_dir"`
	Version     string `json:"version"`
}

// Root is the directory the server serves.
func (s ServerInfo) Root() string {
	if s.RootDir != "" {
		return s.RootDir
	}
	return s.NotebookDir
}

// Reply is everything a script answered.
type Reply struct {
	Blocks []Block
	// Complete is set when a listing reached its end marker.
	Complete bool
}

// ParseReply reads a script's stdout. Text outside the markers is noise
// from the remote login (banners, motd) and is ignored.
func ParseReply(out []byte) (Reply, error) {
	var r Reply
	var cur *Block
	section := ""
	var js strings.Builder
	finish := func() error {
		if cur == nil {
			return nil
		}
		if s := strings.TrimSpace(js.String()); s != "" {
			var info ServerInfo
			if err := json.Unmarshal([]byte(s), &info); err != nil {
				return fmt.Errorf("unreadable server file from the remote: %w", err)
			}
			cur.Server = &info
		}
		r.Blocks = append(r.Blocks, *cur)
		cur, section = nil, ""
		js.Reset()
		return nil
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n") {
		switch line {
		case markSession, markError:
			if err := finish(); err != nil {
				return r, err
			}
			cur = &Block{Error: line == markError, Values: map[string]string{}}
			section = "kv"
			continue
		case markEnd:
			if err := finish(); err != nil {
				return r, err
			}
			continue
		case markDone:
			r.Complete = true
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case line == markJSON:
			section = "json"
		case line == markLog:
			section = "log"
		case section == "json":
			js.WriteString(line)
			js.WriteByte('\n')
		case section == "log":
			cur.Log = append(cur.Log, strings.TrimPrefix(line, "|"))
		default:
			if k, v, ok := strings.Cut(line, "="); ok {
				cur.Values[k] = v
			}
		}
	}
	if cur != nil {
		return r, fmt.Errorf("the remote answer ended early (no %s)", markEnd)
	}
	return r, nil
}

// AfterLog passes on what a script prints after its log marker (jt logs),
// dropping whatever the remote login printed before it.
type AfterLog struct {
	W    io.Writer
	seen bool
	buf  []byte
}

func (a *AfterLog) Write(p []byte) (int, error) {
	if a.seen {
		return a.W.Write(p)
	}
	a.buf = append(a.buf, p...)
	i := bytes.Index(a.buf, []byte(markLog+"\n"))
	if i < 0 {
		return len(p), nil
	}
	a.seen = true
	rest := a.buf[i+len(markLog)+1:]
	a.buf = nil
	if _, err := a.W.Write(rest); err != nil {
		return 0, err
	}
	return len(p), nil
}

// NoLog reports whether logs.sh said, on stderr, that the session has no log.
func NoLog(stderr []byte) bool { return bytes.Contains(stderr, []byte("jt: no log")) }

// Noise is what the remote login printed before jt's answer (banners,
// motd), shortened to 60 characters.
func Noise(out []byte) string {
	s := string(out)
	if i := strings.Index(s, "@@JT-"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
