package session

import (
	"context"
	"fmt"
	"time"

	"github.com/jt-sh/jt/templates"
)

// Listener is a socket one of a session's processes listens on.
type Listener struct {
	Port    int    `json:"port,omitempty"`
	Addr    string `json:"addr,omitempty"`
	Sock    string `json:"sock,omitempty"`
	PID     int    `json:"pid"`
	Command string `json:"command"`
}

// Ports lists what the processes of session name on host listen on (jt
// ls --ports): Jupyter, its kernels and what they started.
func (e *Engine) Ports(ctx context.Context, host, name string) ([]Listener, error) {
	if err := validHost(host); err != nil {
		return nil, err
	}
	if err := validName(name); err != nil {
		return nil, err
	}
	s, ok, err := e.lookup(host, name)
	if err != nil {
		return nil, err
	}
	call := remoteCall{host: host, kind: templates.KindPorts, what: "list the ports of " + name + " on " + host, timeout: 30 * time.Second, listing: true}
	in := templates.Ports{Name: name}
	if ok && s.Batch() {
		in = templates.Ports{Name: name, Scheduler: s.Job.Scheduler, Nonce: s.Job.Nonce}
	}
	script, err := templates.Render(in)
	if err != nil {
		return nil, err
	}
	call.script = script
	if ok && s.Batch() {
		// On the job's node, through jt's ssh to it: the session's node
		// hop, or one made for this listing and ended after it.
		if e, _, err = e.ensureMaster(ctx, host); err != nil {
			return nil, err
		}
		h, done, err := e.nodeHop(ctx, s)
		if err != nil {
			return nil, Hinted(fmt.Errorf("jt ls --ports reads session %s's processes on %s by ssh to it, and cannot: %v", name, s.Job.Node, err),
				"jt doctor --scheduler "+s.Job.Scheduler+" "+host+" says what the site would need")
		}
		defer done()
		call.hop, call.what = &h, "list the ports of "+name+" on "+s.Job.Node
	}
	reply, _, err := e.batch().remote(ctx, call)
	if err != nil {
		return nil, err
	}
	if len(reply.Blocks) == 0 || reply.Blocks[0].Ports().Name != name {
		return nil, answerAbout(host, name, "")
	}
	switch reply.Blocks[0].Ports().State {
	case "dead":
		return nil, Hinted(fmt.Errorf("session %s on %s has no running server", name, host), "start it with: jt open --name "+name+" "+host)
	case "noproc":
		return nil, fmt.Errorf("%s has no /proc to read the listening sockets from", host)
	}
	var ls []Listener
	for _, b := range reply.Blocks[1:] {
		p := b.Ports()
		ls = append(ls, Listener{Port: p.Port, Addr: p.Addr, Sock: p.Sock, PID: p.PID, Command: p.Cmd})
	}
	return ls, nil
}
