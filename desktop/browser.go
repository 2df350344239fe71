package desktop

import (
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jt-sh/jt/validate"
)

// RedirectFile writes a 0600 HTML page that sends the browser to url, so the
// token never appears on the browser's (or xdg-open's) command line. This is
// what Jupyter itself does when it opens a browser.
func RedirectFile(dir, name, url string) (string, error) {
	// The name is jt's own, checked when given; checked again here because
	// it becomes a path that jt first removes.
	if err := validate.Name(name); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "open-"+name+".html")
	page := `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=` + html.EscapeString(url) + `">
<title>jt: opening Jupyter</title></head>
<body><p>Opening <a href="` + html.EscapeString(url) + `">Jupyter</a>…</p>
<script>window.location.replace(` + jsString(url) + `);</script></body></html>
`
	os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(page); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "<", `\u003c`, ">", `\u003e`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// browserCommand picks how to open a local file on this machine.
func browserCommand(path string) []string {
	return browserCommandFor(runtime.GOOS, os.Getenv, path)
}

// browserCommandFor picks how to open a local file: $BROWSER (a command, as
// for git and Python's webbrowser; "%s" marks where the file goes), else the
// platform's opener. It returns nil when there is no way to show a page.
func browserCommandFor(goos string, getenv func(string) string, path string) []string {
	if b := getenv("BROWSER"); b != "" {
		// Like Python's webbrowser: a list of commands; jt takes the first.
		sep := ":"
		if goos == "windows" {
			sep = ";"
		}
		first := strings.Split(b, sep)[0]
		words := strings.Fields(first)
		if len(words) > 0 {
			replaced := false
			for i, w := range words {
				if strings.Contains(w, "%s") {
					words[i] = strings.ReplaceAll(w, "%s", path)
					replaced = true
				}
			}
			if !replaced {
				words = append(words, path)
			}
			return words
		}
	}
	switch goos {
	case "darwin":
		return []string{"open", path}
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler", path}
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return nil
		}
		return []string{"xdg-open", path}
	}
}

// OpenBrowser starts the browser on path and does not wait for it.
func OpenBrowser(path string) error {
	argv := browserCommand(path)
	if argv == nil {
		return ErrNoDisplay
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	go cmd.Wait()
	return nil
}

var ErrNoDisplay = fmt.Errorf("no display")
