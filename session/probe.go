package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jt-sh/jt/sshexec"
	"github.com/jt-sh/jt/state"
	"github.com/jt-sh/jt/templates"
)

// URL is the address the user opens for s; the token is the one secret in it.
func URL(s state.Session) string { return jupyterURL(s.LocalPort, s.BaseURL, s.Token) }

func jupyterURL(localPort int, baseURL, token string) string {
	if baseURL == "" {
		baseURL = "/"
	}
	u := "http://127.0.0.1:" + strconv.Itoa(localPort) + baseURL
	if token != "" {
		u += "?token=" + token
	}
	return u
}

var probeClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil, // never send the token to a proxy from the environment
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// probe proves that session s's tunnel leads to its recorded server and
// that the server takes the token (see proveFarEnd and probeStatus).
func (e *Engine) probe(ctx context.Context, s state.Session) error {
	_, err := e.probeStatus(ctx, s)
	return err
}

// probeStatus is probe, with the server's last activity when it says:
// jt's own listener holds the local port, the far end is proven, and
// only then /api/status goes there with the token.
func (e *Engine) probeStatus(ctx context.Context, s state.Session) (time.Time, error) {
	return e.probeVouched(ctx, s, func() (bool, error) { return e.vouched(ctx, s) })
}

// probeStep bounds each local step of a probe (the listener's owner, an
// HTTP request through the tunnel); the host's word is bounded by ctx and
// by vouchWithin.
const probeStep = 2 * time.Second

// vouchWithin bounds the host's word on one session (a busy login node's
// squeue may take seconds).
const vouchWithin = 15 * time.Second

// probeVouched is probeStatus with the host's word from vouch (one answer
// for all of a host's sessions, in jt ls).
func (e *Engine) probeVouched(ctx context.Context, s state.Session, vouch func() (bool, error)) (time.Time, error) {
	lctx, cancel := context.WithTimeout(ctx, probeStep)
	err := e.ownListener(lctx, s)
	cancel()
	if err != nil {
		return time.Time{}, err
	}
	if err := e.proveFarEnd(ctx, s, vouch); err != nil {
		return time.Time{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, probeStep)
	defer cancel()
	return probePort(pctx, s.LocalPort, s.BaseURL, s.Token)
}

// probeFresh asks the server that this very command found or started
// (its host just answered for it) through its tunnel, with the token:
// 200 proves the forward and the server. The token goes only to jt's own
// listener: after a tunnel dropped, another program (another user's, too)
// may have taken the local port.
func (e *Engine) probeFresh(ctx context.Context, s state.Session) error {
	if err := e.ownListener(ctx, s); err != nil {
		return err
	}
	_, err := probePort(ctx, s.LocalPort, s.BaseURL, s.Token)
	return err
}

// tunnelInUse reports whether s's tunnel leads anywhere that answers
// HTTP, sending no token: enough to keep a master that carries it.
func (e *Engine) tunnelInUse(ctx context.Context, s state.Session) bool {
	if s.LocalPort == 0 {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return e.ownListener(pctx, s) == nil && probeOpen(pctx, s.LocalPort, s.BaseURL) == nil
}

// ownListener proves that what listens on s's local port is its tunnel:
// the master's forward or, for a session opened without a master, the
// forward's own ssh, whatever this command's flags say.
func (e *Engine) ownListener(ctx context.Context, s state.Session) error {
	if viaHop(s) {
		return e.SSH.NodeHop(hopOf(s)).ListenerOwned(ctx, s.LocalPort)
	}
	c := e.clientFor(s)
	if s.Transport != "direct" && c.NoMux {
		m := *c
		m.NoMux = false
		c = &m
	}
	return c.ListenerOwned(ctx, s.Host, s.LocalPort, s.ForwardPID, s.ForwardStarted)
}

// probeOpen is GET /api through the tunnel, without the token (Jupyter
// answers it unauthenticated): it proves the tunnel reaches an HTTP
// server, not whose.
func probeOpen(ctx context.Context, localPort int, baseURL string) error {
	_, err := probePort(ctx, localPort, baseURL, "")
	return err
}

// probePort sends the request; only probeVouched and probeFresh (with a
// token), and probeOpen (without) may call it.
func probePort(ctx context.Context, localPort int, baseURL, token string) (time.Time, error) {
	if baseURL == "" {
		baseURL = "/"
	}
	path := "api/status"
	if token == "" {
		path = "api" // a password-protected server answers /api without login
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(localPort)+baseURL+path, nil)
	if err != nil {
		return time.Time{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("the server answered %s", resp.Status)
	}
	if token == "" {
		return time.Time{}, nil
	}
	return readLastActivity(resp.Body), nil
}

// serverVersion asks s's server for its version through the tunnel (GET
// /api, which needs no token and gets none), or "" when the answer is not a
// plain version (templates.CheckVersion).
func serverVersion(ctx context.Context, s state.Session) string {
	baseURL := s.BaseURL
	if baseURL == "" {
		baseURL = "/"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(s.LocalPort)+baseURL+"api", nil)
	if err != nil {
		return ""
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var answer struct {
		Version string `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&answer) != nil || !templates.CheckVersion(answer.Version) {
		return ""
	}
	return answer.Version
}

// probeUntil retries probeFresh until it succeeds or ctx ends: a server that just
// wrote its runtime file may take a moment to serve.
func (e *Engine) probeUntil(ctx context.Context, s state.Session) error {
	localPort := s.LocalPort
	delay := 20 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := e.probeFresh(pctx, s)
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, sshexec.ErrPortTaken) {
			return fmt.Errorf("no token sent: %w", err)
		}
		if strings.Contains(err.Error(), "the server answered 403") {
			return fmt.Errorf("the server on port %d refused jt's token: it is not this session's server", localPort)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer through the tunnel on 127.0.0.1:%d: %w", localPort, err)
		case <-time.After(delay):
		}
		if delay < 300*time.Millisecond {
			delay *= 2
		}
	}
}

// answers reports whether a recorded session's tunnel answers (with its
// token, when the server has one) and leads to its recorded server.
func (e *Engine) answers(ctx context.Context, s state.Session) bool {
	if s.LocalPort == 0 {
		return false
	}
	return e.probe(ctx, s) == nil
}
