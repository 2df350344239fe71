package sshexec

// Route is where jt's ssh calls for one name go. A profile gives a name
// its own destination and options; callers keep using the name (locks,
// messages, state) and only the argv says where ssh goes.
type Route struct {
	Dest    string   // the ssh destination (alias, user@host)
	Options []string // -o Key=Value, after jt's own and Client.Options
}

// Dest is the ssh destination of name: its route's, or name itself.
func (c *Client) Dest(name string) string {
	if r, ok := c.Routes[name]; ok && r.Dest != "" {
		return r.Dest
	}
	return name
}

// SameMaster reports whether the calls for names a and b go through the
// same master: the same destination with the same options.
func (c *Client) SameMaster(a, b string) bool {
	if c.Dest(a) != c.Dest(b) {
		return false
	}
	oa, ob := c.Routes[a].Options, c.Routes[b].Options
	if len(oa) != len(ob) {
		return false
	}
	for i := range oa {
		if oa[i] != ob[i] {
			return false
		}
	}
	return true
}
