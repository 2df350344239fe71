package commands

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// jupyterURL is the address the user opens; the token is the one secret in it.
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

// probe asks the server through the tunnel for /api/status with its token:
// 200 proves the forward, the server, and that it is ours.
func probe(ctx context.Context, localPort int, baseURL, token string) error {
	if baseURL == "" {
		baseURL = "/"
	}
	path := "api/status"
	if token == "" {
		path = "api" // a password-protected server answers /api without login
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(localPort)+baseURL+path, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	return nil
}

// probeUntil retries probe until it succeeds or ctx ends: a server that just
// wrote its runtime file may take a moment to serve.
func probeUntil(ctx context.Context, localPort int, baseURL, token string) error {
	delay := 20 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := probe(pctx, localPort, baseURL, token)
		cancel()
		if err == nil {
			return nil
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
