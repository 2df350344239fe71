package e2e

// End-to-end browser test: jt open, without --no-browser, hands
// a real headless Chromium the local redirect file, and the page Chromium
// ends on is the logged-in Jupyter file tree of the session's directory.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromiumFlags are what this machine's headless Chromium needs as root
// and without a network (no sandbox, no background fetches).
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// findChromium returns Debian's chromium (or one on PATH), or "".
func findChromium() string {
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// writeChromiumBrowser writes a BROWSER command for jt: it records its
// arguments (NUL-separated) in dir/argv, lets Chromium load the page it is
// given, follow it and run its scripts (--virtual-time-budget), and leaves
// the DOM Chromium ended on in dir/dom.html and Chromium's status in dir/rc.
func writeChromiumBrowser(t *testing.T, chromium, dir string) string {
	t.Helper()
	q := shellQuote
	args := append([]string{chromium}, chromiumFlags...)
	args = append(args, "--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "--virtual-time-budget=10000")
	script := "#!/bin/sh\n" +
		"# BROWSER for jt's e2e test: log the arguments, dump the DOM headless Chromium reaches.\n" +
		"d=" + q(dir) + "\n" +
		`for a; do printf '%s\0' "$a"; done >"$d/argv.tmp" && mv "$d/argv.tmp" "$d/argv"` + "\n" +
		"timeout 90 " + shellJoin(args) + ` "$1" >"$d/dom.tmp" 2>"$d/chromium.err"` + "\n" +
		`echo $? >"$d/rc"` + "\n" +
		`mv "$d/dom.tmp" "$d/dom.html"` + "\n"
	path := filepath.Join(dir, "browser")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestE2EBrowserChromium(t *testing.T) {
	needE2E(t)
	chromium := findChromium()
	if chromium == "" {
		missingReq(t, "chromium not found (apt install chromium)")
	}
	e := newEnv(t)
	remote(t, hostA, `mkdir -p "$HOME/bt" && echo proof >"$HOME/bt/browser-proof.txt"`+"\n")
	t.Cleanup(func() { remoteRun(hostA, `rm -rf "$HOME/bt"`+"\n") })

	dir := filepath.Join(e.dir, "chromium")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e.setVar("BROWSER", writeChromiumBrowser(t, chromium, dir))
	// Chromium may outlive a failed test for a while (timeout 90): let it
	// finish before the env's directory goes.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dir, "argv")); err != nil {
			return
		}
		deadline := time.Now().Add(100 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(filepath.Join(dir, "rc")); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	e.opened[[2]string{hostA, "br"}] = true
	stdout, _ := e.jt("open", "--dir", "~/bt", "--name", "br", hostA)
	ls := lines(stdout)
	if len(ls) != 1 {
		t.Fatalf("jt open printed %q; want one URL line", stdout)
	}
	_, token := parseURL(t, ls[0])
	mustAnswer(t, ls[0])

	// What jt gave the browser: only the path of its private redirect file.
	argvData := waitFile(t, filepath.Join(dir, "argv"), 20*time.Second, "jt never started BROWSER")
	argv := strings.Split(strings.TrimSuffix(string(argvData), "\x00"), "\x00")
	localDir := filepath.Join(e.Runtime, "jt")
	if len(argv) != 1 || filepath.Dir(argv[0]) != localDir || !strings.HasSuffix(argv[0], ".html") {
		t.Errorf("BROWSER got %q; want one argument, an .html file in %s", argv, localDir)
	}
	if strings.Contains(string(argvData), token) {
		t.Errorf("the token is in the BROWSER command's arguments: %q", argv)
	}
	if len(argv) == 1 {
		checkMode(t, argv[0], 0o600)
	}

	dom := string(waitFile(t, filepath.Join(dir, "dom.html"), 100*time.Second, "Chromium did not finish"))
	rc, _ := os.ReadFile(filepath.Join(dir, "rc"))
	chromiumErr, _ := os.ReadFile(filepath.Join(dir, "chromium.err"))
	if strings.TrimSpace(string(rc)) != "0" {
		t.Errorf("chromium exited %s; its stderr:\n%s", strings.TrimSpace(string(rc)), tailLines(string(chromiumErr), 20))
	}
	excerpt := dom
	if len(excerpt) > 3000 {
		excerpt = excerpt[:3000] + "…"
	}
	// The login page: what a browser without a valid token gets.
	for _, login := range []string{`type="password"`, "Token authentication is enabled", `id="token_input"`} {
		if strings.Contains(dom, login) {
			t.Errorf("Chromium ended on Jupyter's login page (%q), not the file tree:\n%s", login, excerpt)
			break
		}
	}
	if strings.Contains(dom, "jt: opening Jupyter") {
		t.Errorf("Chromium stayed on jt's redirect page:\n%s", excerpt)
	}
	// The tree lists the session's directory by script (api/contents).
	if !strings.Contains(dom, `class="item_name">browser-proof.txt<`) {
		t.Errorf("the page Chromium reached does not list browser-proof.txt in the file tree:\n%s", excerpt)
	}
}

// tailLines is the last n lines of s.
func tailLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
