package session

// Login nodes behind one name: a plain session whose server runs on
// another machine of the same home (cluster.example.edu reached login1
// when it started, login2 now). The remote scripts say so (state
// elsewhere, and the node), and jt reaches that node through the login it
// has: the node hop of batch sessions (sshexec.NodeHop), with the login
// node's word on the node's host key. The session's record keeps the
// node and the hop (state.Session.Hop), which then holds its tunnel.

import (
	"context"
	"fmt"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// loginHop readies the hop to node, the machine of host's home that runs
// session name, through host's master; started says the hop's master is
// new (the caller ends it when it is not the session's tunnel). Its error
// names the node, why, and what the site or the user can do.
func (e *Engine) loginHop(ctx context.Context, host, node, name string) (h sshexec.Hop, started bool, err error) {
	h = sshexec.Hop{Login: host, Node: node, Name: name}
	if err := sshexec.CheckHopNode(node); err != nil {
		return h, false, fmt.Errorf("session %s on %s: %w", name, host, err)
	}
	started, err = e.ensureHop(ctx, h)
	if err != nil {
		return h, started, Hinted(fmt.Errorf("session %s runs on %s (the same home as the machine %s reached), and jt cannot reach %s from there: %v", name, node, host, node, err),
			"jt left it alone; the site must let its login nodes ssh to each other (the node's host key in their /etc/ssh/ssh_known_hosts), else reach "+node+" by its own name (a Host entry with HostName "+node+"), or choose another --name")
	}
	return h, started, nil
}

// openElsewhere is jt open of a session that runs on node, another
// machine of the same home: open.sh again, there, through the hop (it
// finds the server, or starts it there if it has died), and the hop as
// the session's tunnel.
func (o *opening) openElsewhere(ctx context.Context, node string) (Opened, error) {
	e, r := o.e, o.r
	e.progress("session %s runs on %s: reaching it through %s", r.Name, node, r.Host)
	h, started, err := e.loginHop(ctx, r.Host, node, r.Name)
	if started {
		o.undo.push(func(ctx context.Context) { e.SSH.NodeHop(h).Exit(ctx) })
	}
	if err != nil {
		return Opened{}, err
	}
	o.undo.push(func(ctx context.Context) { e.killRemoteVia(ctx, r.Host, &h, r.Name, o.nonce, 20*time.Second) })
	op, err := e.findOrStart(ctx, r, o.nonce, &h)
	if err != nil {
		return op, err
	}
	if op.Status == "elsewhere" {
		return Opened{}, fmt.Errorf("%s, reached through %s, says session %s runs on yet another machine, %s: jt follows one step only", node, r.Host, r.Name, op.Session.Node)
	}
	op.Session.Hop = e.SSH.NodeHop(h).ControlPath()
	return op, nil
}

// listElsewhere asks, for each block of host's that says its session runs
// on another machine of the home, that machine through a hop, and puts
// its answer in the block's place. A node jt cannot reach keeps the
// block; unreached says why.
func (e *Engine) listElsewhere(ctx context.Context, host string, blocks []templates.Block, lines int) (out []templates.Block, unreached map[string]error) {
	unreached = map[string]error{}
	for i, b := range blocks {
		a := b.Session()
		if a.State != StateElsewhere {
			continue
		}
		h, started, err := e.loginHop(ctx, host, a.Node, a.Name)
		if started {
			defer e.SSH.NodeHop(h).Exit(context.Background())
		}
		if err != nil {
			unreached[a.Name] = err
			continue
		}
		script, err := templates.Render(templates.List{LogLines: lines, Names: []string{a.Name}})
		if err != nil {
			unreached[a.Name] = err
			continue
		}
		reply, _, err := e.remote(ctx, remoteCall{host: host, kind: templates.KindSession, script: script, listing: true, hop: &h,
			what: "list session " + a.Name + " on " + a.Node})
		switch {
		case err != nil:
			unreached[a.Name] = err
		case len(reply.Blocks) != 1 || reply.Blocks[0].Session().Name != a.Name:
			unreached[a.Name] = fmt.Errorf("%s did not answer about session %s", a.Node, a.Name)
		case reply.Blocks[0].Session().State == StateElsewhere:
			unreached[a.Name] = fmt.Errorf("%s says session %s runs on yet another machine, %s", a.Node, a.Name, reply.Blocks[0].Session().Node)
		default:
			blocks[i] = reply.Blocks[0]
		}
	}
	return blocks, unreached
}

// killElsewhere is jt close --kill of session s when host's login says
// it runs on node: close.sh there, through a hop that ends with it.
func (e *Engine) killElsewhere(ctx context.Context, s state.Session, node string, timeout time.Duration) (templates.Block, error) {
	h, _, err := e.loginHop(ctx, s.Host, node, s.Name)
	defer e.SSH.NodeHop(h).Exit(context.Background())
	if err != nil {
		return templates.Block{}, err
	}
	b, err := e.killRemoteVia(ctx, s.Host, &h, s.Name, "", timeout)
	if err == nil && b.Close().State == StateElsewhere {
		return b, fmt.Errorf("%s says session %s runs on yet another machine, %s", node, s.Name, b.Close().Node)
	}
	return b, err
}

// attachElsewhere opens the console of session name, which runs on
// node, another machine of host's home, through a hop for this attach.
func (e *Engine) attachElsewhere(ctx context.Context, host, name, node string) error {
	h, started, err := e.loginHop(ctx, host, node, name)
	if started {
		defer e.SSH.NodeHop(h).Exit(context.Background())
	}
	if err != nil {
		return err
	}
	console, err := e.console(ctx, host, name, &h)
	if err != nil {
		return err
	}
	switch {
	case console.Node != "":
		return fmt.Errorf("%s says session %s runs on yet another machine, %s", node, name, console.Node)
	case console.Mux == "none":
		return noConsole(name, host)
	case console.ID == "":
		return Hinted(fmt.Errorf("session %s has no window on %s", name, node), "start it with: jt open --name "+name+" "+host)
	}
	remote, err := templates.ConsoleCommand(console)
	if err != nil {
		return fmt.Errorf("attach to session %s on %s: %w", name, node, err)
	}
	return e.SSH.NodeHop(h).RunTerminal(ctx, remote)
}
