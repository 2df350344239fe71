package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// remoteSessions asks host for every jt session of the remote user, with
// lines of log each. It runs over the master when there is one, else over a
// fresh non-interactive login (BatchMode: it never prompts).
func remoteSessions(ctx context.Context, d *Deps, host string, lines int) ([]templates.Block, error) {
	script, err := templates.Render(templates.List{LogLines: lines})
	if err != nil {
		return nil, err
	}
	return listing(ctx, d, host, templates.KindSession, script)
}

// listing runs a script that answers with blocks up to its end mark (ls,
// Slurm status): an answer cut short is an error, even when ssh says 0.
func listing(ctx context.Context, d *Deps, host string, kind templates.Kind, script string) ([]templates.Block, error) {
	res, err := d.SSH.RunScript(ctx, host, strings.NewReader(script))
	reply, perr := templates.Read(host, kind, res.Stdout)
	if templates.Refused(perr) {
		return nil, perr
	}
	if err != nil && !reply.Complete {
		return nil, sshHinted(err, host)
	}
	if perr != nil {
		return nil, perr
	}
	if !reply.Complete {
		return nil, fmt.Errorf("incomplete answer from %s", host)
	}
	return reply.Blocks, nil
}

// Row states of jt ls.
const (
	StateUp         = "up"
	StateTunnelDown = "tunnel down"
	// StatePortTaken: the server runs, but another program listens on the
	// tunnel's local port (it is sent no token; jt open moves the tunnel).
	StatePortTaken   = "port taken"
	StateServerDead  = "server dead"
	StateUnreachable = "unreachable"
	// StateElsewhere: the server runs on another machine that shares the
	// home (node says which); this login reached a different one.
	StateElsewhere = "elsewhere"
)

// row is one session as jt ls shows it, checked live.
type row struct {
	state.Session
	State    string   `json:"state"`
	URL      string   `json:"url,omitempty"`
	Recorded bool     `json:"recorded"`
	Uptime   string   `json:"uptime,omitempty"`
	Error    string   `json:"error,omitempty"`
	LogTail  []string `json:"log_tail,omitempty"`
	slurmLive
}

// checkHost decides the live state of each recorded session of host and,
// when discover is set, adds the host's sessions jt has no record of.
func checkHost(ctx context.Context, d *Deps, host string, recorded []state.Session, discover bool, lines int, timeout time.Duration) []row {
	// One deadline for the whole host, probes included: a dead host costs
	// --timeout, never more.
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rows := make([]row, len(recorded))
	var wg sync.WaitGroup
	for i, s := range recorded {
		rows[i] = row{Session: s, Recorded: true}
		if s.LocalPort == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(hctx, 2*time.Second)
			defer cancel()
			switch err := probe(pctx, d, s); {
			case err == nil:
				rows[i].State = StateUp
			case errors.Is(err, sshexec.ErrPortTaken):
				rows[i].State = StatePortTaken
			}
		}()
	}
	wg.Wait()
	allUp := len(rows) > 0
	for _, r := range rows {
		allUp = allUp && r.State == StateUp
	}
	// The tunnel answering with the session's own token proves master,
	// forward and server at once; ask the host only when something is not up.
	if allUp && !discover {
		return rows
	}
	blocks, err := remoteSessions(hctx, d, host, lines)
	if err != nil {
		msg := err.Error()
		if errors.Is(hctx.Err(), context.DeadlineExceeded) {
			msg = fmt.Sprintf("no answer within %v", timeout)
		}
		for i := range rows {
			if rows[i].State != StateUp {
				rows[i].State, rows[i].Error = StateUnreachable, msg
			}
		}
		if len(rows) == 0 {
			rows = append(rows, row{Session: state.Session{Host: host}, State: StateUnreachable, Error: msg})
		}
		return rows
	}
	remote := map[string]templates.Block{}
	for _, b := range blocks {
		remote[b.Values["name"]] = b
	}
	for i := range rows {
		b, ok := remote[rows[i].Name]
		delete(remote, rows[i].Name)
		if rows[i].State == StateUp {
			continue
		}
		switch {
		case !ok:
			rows[i].State = StateServerDead
		case b.Values["state"] == StateElsewhere:
			rows[i].State, rows[i].Node = StateElsewhere, b.Values["node"]
		case b.Values["state"] != "running" || b.Server == nil:
			rows[i].State, rows[i].LogTail = StateServerDead, b.Log
		default:
			taken := rows[i].State == StatePortTaken
			rows[i].State = StateTunnelDown
			if b.Server.PID != rows[i].PID || b.Server.Token != rows[i].Token {
				// Another server now runs under this name (started elsewhere).
				if live, err := sessionFromBlock(host, b.Values["name"], d.SSH.ControlPath(), b); err == nil {
					live.LocalPort = 0
					rows[i].Session = live
				}
			}
			if taken && rows[i].LocalPort != 0 {
				rows[i].State = StatePortTaken
			}
		}
	}
	if discover {
		for _, b := range blocks {
			if _, still := remote[b.Values["name"]]; !still {
				continue
			}
			r := row{Session: state.Session{Host: host, Name: b.Values["name"]}, State: StateServerDead, LogTail: b.Log}
			if b.Values["state"] == StateElsewhere {
				r.State, r.Node = StateElsewhere, b.Values["node"]
			}
			if b.Values["state"] == "running" && b.Server != nil {
				if live, err := sessionFromBlock(host, b.Values["name"], d.SSH.ControlPath(), b); err == nil {
					r.Session = live
					r.State = StateTunnelDown
				}
			}
			rows = append(rows, r)
		}
	}
	return rows
}
