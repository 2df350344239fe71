package e2e

// A session's server, reached through the tunnel of a jt URL: its REST API
// and a kernel over the websocket.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

var urlRE = regexp.MustCompile(`^http://127\.0\.0\.1:([0-9]+)/\?token=([0-9a-f]+)$`)

// parseURL splits a jt URL into its local port and token.
func parseURL(t *testing.T, u string) (port int, token string) {
	t.Helper()
	m := urlRE.FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("URL %q is not http://127.0.0.1:PORT/?token=HEX", u)
	}
	port, _ = strconv.Atoi(m[1])
	return port, m[2]
}

var httpClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// api calls the Jupyter REST API through the tunnel of a jt URL with the
// URL's token and returns the status code and body.
func api(u, method, path string, body io.Reader) (int, []byte, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return 0, nil, err
	}
	token := pu.Query().Get("token")
	req, err := http.NewRequest(method, "http://"+pu.Host+"/"+strings.TrimPrefix(path, "/"), body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "token "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// getStatus is GET /api/status with the URL's token.
func getStatus(u string) (int, error) {
	code, _, err := api(u, http.MethodGet, "api/status", nil)
	return code, err
}

// mustAnswer fails unless the URL's server answers /api/status with 200.
func mustAnswer(t *testing.T, u string) {
	t.Helper()
	code, err := getStatus(u)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /api/status through %s: %d, %v; want 200", u, code, err)
	}
}

// mustNotAnswer fails if the URL still reaches its server: /api/status
// with the URL's token answers 200 only there. Once a tunnel is gone its
// local port is free, and another program (a session of another test
// running side by side, say) may take it at once and answer otherwise.
func mustNotAnswer(t *testing.T, u string) {
	t.Helper()
	if code, err := getStatus(u); err == nil && code == http.StatusOK {
		t.Fatalf("GET /api/status through %s still answers %d with the session's token; want no answer from its server", u, code)
	}
}

// runKernel starts a kernel through the tunnel, evaluates 1+1 over the
// kernel websocket (Jupyter messaging protocol 5.3) and returns the
// text/plain of the execute_result. The kernel is deleted afterwards.
func runKernel(t *testing.T, u string) string {
	t.Helper()
	return kernelOutput(t, u, "1+1")
}

// kernelOutput runs code in a new kernel through the tunnel of a jt URL and
// returns what it printed (stream output) followed by the text/plain of
// its result, if any. The kernel is deleted afterwards.
func kernelOutput(t *testing.T, u, code string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	token := pu.Query().Get("token")
	status, body, err := api(u, http.MethodPost, "api/kernels", strings.NewReader(`{"name":"python3"}`))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("POST /api/kernels: %d, %v: %s", status, err, body)
	}
	var kernel struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &kernel); err != nil || kernel.ID == "" {
		t.Fatalf("POST /api/kernels answered %s: %v", body, err)
	}
	defer api(u, http.MethodDelete, "api/kernels/"+kernel.ID, nil)

	ws := "ws://" + pu.Host + "/api/kernels/" + kernel.ID + "/channels?token=" + url.QueryEscape(token)
	conn, _, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).Dial(ws, nil)
	if err != nil {
		t.Fatalf("kernel websocket: %v", err)
	}
	defer conn.Close()
	msgID := fmt.Sprintf("jt-e2e-%d", time.Now().UnixNano())
	if err := conn.WriteJSON(map[string]any{
		"header": map[string]any{"msg_id": msgID, "username": "jt-e2e", "session": "jt-e2e-session",
			"msg_type": "execute_request", "version": "5.3", "date": time.Now().UTC().Format(time.RFC3339Nano)},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell",
		"content": map[string]any{"code": code, "silent": false, "store_history": false,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}); err != nil {
		t.Fatalf("send execute_request: %v", err)
	}
	var out strings.Builder
	var result string
	conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	for {
		var in struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content json.RawMessage `json:"content"`
		}
		if err := conn.ReadJSON(&in); err != nil {
			t.Fatalf("read from the kernel websocket: %v (output so far %q)", err, out.String())
		}
		if in.ParentHeader.MsgID != msgID {
			continue
		}
		var c struct {
			Name   string         `json:"name"`
			Text   string         `json:"text"`
			Data   map[string]any `json:"data"`
			EValue string         `json:"evalue"`
			State  string         `json:"execution_state"`
		}
		json.Unmarshal(in.Content, &c)
		switch in.Header.MsgType {
		case "stream":
			out.WriteString(c.Text)
		case "execute_result":
			result, _ = c.Data["text/plain"].(string)
		case "error":
			t.Fatalf("the kernel answered an error: %s", in.Content)
		case "status":
			// Idle after our request: everything it printed has come.
			if c.State == "idle" {
				return out.String() + result
			}
		}
	}
}

// portListens reports whether something accepts connections on 127.0.0.1:port.
func portListens(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
