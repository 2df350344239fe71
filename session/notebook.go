package session

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// URL is the address the user opens: the session's, or its notebook's.
func (o Opened) URL() string {
	u := URL(o.Session)
	if o.Page == "" {
		return u
	}
	base, query, _ := strings.Cut(u, "?")
	if query != "" {
		query = "?" + query
	}
	return base + o.Page + query
}

// checkNotebook is the rule for jt open's NOTEBOOK: a plain relative path
// under the server's directory, one line, no . or .. parts.
func checkNotebook(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > 4096 || validate.OneLine(p) != nil || strings.ContainsFunc(p, visible.IsControl) {
		return validate.Usagef("notebook %s: not one line of plain text", visible.Quote(p))
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") {
		return validate.Usagef("notebook %s: give a path relative to the server's directory (--dir)", visible.Quote(p))
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return validate.Usagef("notebook %s: no empty, . or .. parts (it must stay under the server's directory)", visible.Quote(p))
		}
	}
	return nil
}

// notebookPage is the page of path for s's flavour: JupyterLab's tree,
// or the classic notebook page; each part escaped.
func notebookPage(s state.Session, path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	page := "notebooks/"
	if s.Flavour == "lab" {
		page = "lab/tree/"
	}
	return page + strings.Join(parts, "/")
}

// withNotebook checks on the host that r.Notebook is a file under the
// server's directory, and points op at its page.
func (e *Engine) withNotebook(ctx context.Context, r OpenRequest, op Opened) (Opened, error) {
	script, err := templates.Render(templates.Notebook{Dir: op.Session.Dir, Path: r.Notebook})
	if err != nil {
		return op, err
	}
	reply, _, err := e.forSession(op.Session).remote(ctx, remoteCall{host: r.Host, kind: templates.KindNotebook, script: script,
		what: "look for " + r.Notebook + " on " + r.Host, timeout: 30 * time.Second, replace: true})
	if err != nil {
		return op, err
	}
	dir := op.Session.Dir
	switch reply.Blocks[0].NotebookExists() {
	case "file":
		op.Page = notebookPage(op.Session, r.Notebook)
		return op, nil
	case "dir":
		return op, Hinted(fmt.Errorf("%s is a directory in %s on %s, not a notebook", visible.Quote(r.Notebook), dir, r.Host), "name a file, or open the tree: jt open "+r.Host)
	}
	return op, Hinted(fmt.Errorf("no file %s in %s on %s", visible.Quote(r.Notebook), dir, r.Host),
		"the path is relative to the server's directory (--dir); the server itself is up: jt url --name "+r.Name+" "+r.Host)
}
