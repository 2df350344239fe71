package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// writeDevtoolsBrowser writes a BROWSER command for jt that starts headless
// Chromium on the page it is given and leaves it running, with the
// DevTools protocol on a port of its choosing (dir/profile/DevToolsActivePort)
// and its pid in dir/pid.
func writeDevtoolsBrowser(t *testing.T, chromium, dir string) string {
	t.Helper()
	args := append([]string{chromium}, chromiumFlags...)
	args = append(args, "--user-data-dir="+filepath.Join(dir, "profile"), "--remote-debugging-port=0")
	script := "#!/bin/sh\n" +
		"# BROWSER for jt's e2e test: headless Chromium on the page, driven over DevTools.\n" +
		"d=" + shellQuote(dir) + "\n" +
		shellJoin(args) + ` "$1" >"$d/chromium.out" 2>&1 </dev/null &` + "\n" +
		`echo $! >"$d/pid"` + "\n"
	path := filepath.Join(dir, "browser")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// devtools is a page of Chromium, driven over the DevTools protocol.
type devtools struct {
	conn *websocket.Conn
	id   int
}

// devtoolsPage connects to the page Chromium (profile dir) shows.
func devtoolsPage(t *testing.T, profile string) *devtools {
	t.Helper()
	// Chromium writes the file, its port on the first line, once it listens.
	var port string
	if !pollUntil(60*time.Second, func() bool {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		first, _, complete := strings.Cut(string(data), "\n")
		_, perr := strconv.Atoi(first)
		port = first
		return err == nil && complete && perr == nil
	}) {
		t.Fatalf("Chromium opened no DevTools port")
	}
	var pages []struct{ Type, WebSocketDebuggerURL string }
	if !pollUntil(30*time.Second, func() bool {
		resp, err := httpClient.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&pages) == nil && len(pages) > 0 && pages[0].WebSocketDebuggerURL != ""
	}) {
		t.Fatalf("Chromium lists no page on DevTools port %s", port)
	}
	conn, _, err := websocket.DefaultDialer.Dial(pages[0].WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatalf("DevTools websocket: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &devtools{conn: conn}
}

// eval evaluates expr in the page and returns its value as JSON.
func (d *devtools) eval(t *testing.T, expr string) string {
	t.Helper()
	d.id++
	if err := d.conn.WriteJSON(map[string]any{"id": d.id, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true}}); err != nil {
		t.Fatalf("DevTools: %v", err)
	}
	d.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var in struct {
			ID     int `json:"id"`
			Result struct {
				Result struct {
					Value json.RawMessage `json:"value"`
				} `json:"result"`
			} `json:"result"`
		}
		if err := d.conn.ReadJSON(&in); err != nil {
			t.Fatalf("DevTools: %v", err)
		}
		if in.ID == d.id {
			return string(in.Result.Result.Value)
		}
	}
}

// A long cell started from a notebook in headless Chromium, the browser
// then closed: with --idle 10s the kernel computes on, with no client, for
// 3 idle periods and is not released; once the cell ends it is, and the
// server shuts down.
func TestE2EIdleBrowserCell(t *testing.T) {
	needE2E(t)
	chromium := findChromium()
	if chromium == "" {
		missingReq(t, "chromium not found (apt install chromium)")
	}
	e := newEnv(t)
	secs := int(3 * idlePeriod / time.Second)
	code := computeCell(secs, "~/.jt-idle-br/done")
	nb, _ := json.Marshal(map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{},
		"cells": []any{map[string]any{"cell_type": "code", "metadata": map[string]any{}, "outputs": []any{},
			"execution_count": nil, "source": code}}})
	remote(t, hostA, `rm -rf "$HOME/.jt-idle-br" && mkdir -p "$HOME/.jt-idle-br" && printf '%s' `+shellQuote(string(nb))+` >"$HOME/.jt-idle-br/long.ipynb"`+"\n")
	t.Cleanup(func() { remoteRun(hostA, `rm -rf "$HOME/.jt-idle-br"`+"\n") })
	home := localHome(t, hostA)

	dir := filepath.Join(e.dir, "chromium")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e.setVar("BROWSER", writeDevtoolsBrowser(t, chromium, dir))
	stopChromium := func() {
		if b, err := os.ReadFile(filepath.Join(dir, "pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGTERM)
				pollUntil(20*time.Second, func() bool { return !procLive(pid) })
			}
		}
	}
	t.Cleanup(stopChromium)
	e.opened[[2]string{hostA, "idlebr"}] = true
	stdout, _ := e.jt("open", "--idle", idlePeriod.String(), "--dir", "~/.jt-idle-br", "--name", "idlebr", hostA, "long.ipynb")
	base, token, ok := strings.Cut(strings.TrimSpace(stdout), "/notebooks/long.ipynb?token=")
	if !ok {
		t.Fatalf("jt open printed %q; want the notebook's URL", stdout)
	}
	s := &idleSession{host: hostA, name: "idlebr", r: openResult{URL: base + "/?token=" + token}}
	parseURL(t, s.r.URL)

	// The notebook's page, its kernel connected: run the cell from the page.
	// Until then the test is the user at the server: on busy cores Chromium
	// can take longer than the 10 s period to start and load the page, and
	// a server with no kernel and no request for a period is released, as
	// it should be. An API request every 2 s is activity.
	loaded := make(chan struct{})
	go func() {
		for {
			api(s.r.URL, http.MethodGet, "api/contents", nil)
			select {
			case <-loaded:
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
	page := devtoolsPage(t, filepath.Join(dir, "profile"))
	// Connected, and the kernel has answered its kernel_info request (the
	// server opens the websocket after 10 s even when the kernel has not).
	ready := `!!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.info_reply.status === "ok")`
	connected := pollUntil(3*time.Minute, func() bool { return page.eval(t, ready) == "true" })
	close(loaded)
	if !connected {
		t.Fatalf("the notebook page never had a connected kernel")
	}
	if got := page.eval(t, `Jupyter.notebook.execute_all_cells(); true`); got != "true" {
		t.Fatalf("the page could not run its cells (DevTools answered %q)", got)
	}
	var kernelID, seen string
	if !pollUntil(30*time.Second, func() bool {
		status, body, err := api(s.r.URL, http.MethodGet, "api/kernels?no_track_activity=1", nil)
		seen = fmt.Sprintf("%d %s %v", status, body, err)
		var ks []struct {
			ID          string `json:"id"`
			State       string `json:"execution_state"`
			Connections int    `json:"connections"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &ks) != nil || len(ks) != 1 {
			return false
		}
		kernelID = ks[0].ID
		return ks[0].State == "busy" && ks[0].Connections > 0
	}) {
		logs, _, _ := e.run("logs", "-n", "40", "--name", "idlebr", hostA)
		t.Fatalf("the cell started from the page never ran: the server's kernels: %s; the page: %s; the server's log:\n%s", seen,
			page.eval(t, `JSON.stringify({kernel: Jupyter.notebook.kernel.id, connected: Jupyter.notebook.kernel.is_connected(), info: Jupyter.notebook.kernel.info_reply.status, cells: Jupyter.notebook.ncells(), sent: Jupyter.notebook.get_cell(0).last_msg_id, prompt: Jupyter.notebook.get_cell(0).input_prompt_number})`), logs)
	}
	s.kernels = []*idleKernel{{id: kernelID, done: filepath.Join(home, ".jt-idle-br", "done"), sessionKey: "browser's"}}
	// The browser goes: no client is left.
	page.conn.Close()
	stopChromium()
	if !pollUntil(30*time.Second, func() bool {
		c, ok := kernelConnections(s.r.URL)
		n, has := c[kernelID]
		return ok && has && n == 0
	}) {
		t.Fatalf("the kernel keeps a connection after Chromium ended")
	}
	closed := time.Now()
	deadline := closed.Add(3*idlePeriod + 2*time.Minute)
	for s.goneAt.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("the server is still up %v after the browser closed (cell ended: %v, kernel gone: %v)",
				time.Since(closed).Round(time.Second), !s.kernels[0].doneAt.IsZero(), !s.kernels[0].goneAt.IsZero())
		}
		s.observe(t, time.Now())
		time.Sleep(time.Second)
	}
	if k := s.kernels[0]; k.doneAt.IsZero() || k.goneAt.IsZero() {
		t.Errorf("cell ended %v, kernel released %v", !k.doneAt.IsZero(), !k.goneAt.IsZero())
	} else {
		t.Logf("the cell ran %v with no browser, then its kernel was released %v after it ended", k.doneAt.Sub(closed).Round(time.Second), k.goneAt.Sub(k.doneAt).Round(time.Second))
	}
	if !pollUntil(30*time.Second, func() bool { return row(t, e.ls(), hostA, "idlebr").State == "stopped (idle)" }) {
		t.Errorf("jt ls row %+v, want stopped (idle)", row(t, e.ls(), hostA, "idlebr"))
	}
}

// kernelConnections is how many clients the server counts on each kernel.
func kernelConnections(u string) (map[string]int, bool) {
	status, body, err := api(u, http.MethodGet, "api/kernels?no_track_activity=1", nil)
	var ks []struct {
		ID          string `json:"id"`
		Connections int    `json:"connections"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &ks) != nil {
		return nil, false
	}
	out := map[string]int{}
	for _, k := range ks {
		out[k.ID] = k.Connections
	}
	return out, true
}
