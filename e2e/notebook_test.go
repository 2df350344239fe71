package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jt open HOST sub/dir/NOTEBOOK: a missing file is an error before any
// browser starts; an existing one (its name needs escaping in a URL)
// opens in real headless Chromium on the notebook's page, not the tree.
func TestE2EOpenNotebookPage(t *testing.T) {
	needE2E(t)
	chromium := findChromium()
	if chromium == "" {
		missingReq(t, "chromium not found (apt install chromium)")
	}
	e := newEnv(t)
	nb := `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
	remote(t, hostA, `mkdir -p "$HOME/nbt/sub/dir" && printf '%s' `+shellQuote(nb)+` >"$HOME/nbt/sub/dir/jt proof#1.ipynb"`+"\n")
	t.Cleanup(func() { remoteRun(hostA, `rm -rf "$HOME/nbt"`+"\n") })
	dir := filepath.Join(e.dir, "chromium")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e.setVar("BROWSER", writeChromiumBrowser(t, chromium, dir))
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dir, "argv")); err != nil {
			return
		}
		pollUntil(100*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "rc")); return err == nil })
	})
	e.opened[[2]string{hostA, "nb"}] = true

	_, stderr, code := e.run("open", "--dir", "~/nbt", "--name", "nb", hostA, "sub/dir/missing.ipynb")
	if code != 1 || !strings.Contains(stderr, `no file "sub/dir/missing.ipynb"`) {
		t.Errorf("jt open of a missing notebook: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "argv")); err == nil {
		t.Errorf("a browser was started for a missing notebook")
	}
	_, stderr, code = e.run("open", "--dir", "~/nbt", "--name", "nb", hostA, "../x.ipynb")
	if code != 2 || !strings.Contains(stderr, "must stay under the server's directory") {
		t.Errorf("jt open ../x.ipynb: exit %d, %q", code, stderr)
	}

	stdout, _ := e.jt("open", "--dir", "~/nbt", "--name", "nb", hostA, "sub/dir/jt proof#1.ipynb")
	u := strings.TrimSpace(stdout)
	if !strings.Contains(u, "/notebooks/sub/dir/jt%20proof%231.ipynb?token=") {
		t.Errorf("jt open printed %q; want the notebook's page, escaped", u)
	}
	dom := string(waitFile(t, filepath.Join(dir, "dom.html"), 100*time.Second, "Chromium did not finish"))
	excerpt := dom
	if len(excerpt) > 3000 {
		excerpt = excerpt[:3000] + "…"
	}
	// The notebook page's title is the notebook's name (the tree's is
	// "Home Page - Select or create a notebook").
	if !strings.Contains(dom, `<title>jt proof#1 - Jupyter Notebook</title>`) {
		t.Errorf("the page Chromium reached does not show the notebook's name:\n%s", excerpt)
	}
	if strings.Contains(dom, `class="item_name"`) || strings.Contains(dom, `type="password"`) {
		t.Errorf("Chromium ended on the tree or the login page:\n%s", excerpt)
	}
}
