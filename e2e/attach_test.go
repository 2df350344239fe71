package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// jt attach shows the Jupyter console in a terminal; detaching with the
// screen keys ends jt with status 0 and leaves the server.
func TestE2EAttach(t *testing.T) {
	e := newEnv(t)
	r := e.open(hostA, "at")
	exit, pane := attachInTerminal(t, e, "C-a", "--name", "at", hostA)
	t.Logf("pane while attached:\n%s", pane)
	if exit != "EXIT=0" {
		t.Errorf("jt attach ended with %s, want EXIT=0", exit)
	}
	if !remoteAlive(t, hostA, r.PID) {
		t.Errorf("the server (pid %d) died when jt attach detached", r.PID)
	}
	if ids := screenIDs(t, hostA, "at"); len(ids) != 1 {
		t.Errorf("screen sessions jt-at after detaching: %v, want one", ids)
	}
	mustAnswer(t, r.URL)
}

// jt attach reaches the console and detaches, with the server left
// running, for users whose login shell is zsh, fish or tcsh: each parses
// the command jt gives ssh. zsh used to read tmux's target =jt-NAME as its
// own = expansion.
func TestE2EAttachLoginShells(t *testing.T) {
	needE2E(t)
	for _, sh := range []struct{ host, shell, name string }{
		{hostZsh, e2e.zsh, "zsh"},
		{hostFish, e2e.fish, "fish"},
		{hostCsh, e2e.tcsh, "tcsh"},
	} {
		for _, mux := range []struct{ mux, key string }{{"tmux", "C-b"}, {"screen", "C-a"}} {
			t.Run(sh.name+"/"+mux.mux, func(t *testing.T) {
				if sh.shell == "" {
					missingReq(t, "no "+sh.name+" for "+sh.host+" (apt install zsh fish tcsh)")
				}
				e := newEnv(t)
				// A name with a dot, a dash and an underscore: all valid.
				name := "at-" + mux.mux[:1] + ".x_1"
				r := e.open(sh.host, name, "--console", mux.mux)
				exit, pane := attachInTerminal(t, e, mux.key, "--name", name, sh.host)
				if exit != "EXIT=0" {
					t.Errorf("jt attach ended with %s, want EXIT=0; pane while attached:\n%s", exit, pane)
				}
				if own := "/.local/state/jt/sessions/" + name + "/"; !strings.Contains(pane, own) {
					t.Errorf("the pane does not show the console of session %s (no %s in it):\n%s", name, own, pane)
				}
				if !remoteAlive(t, sh.host, r.PID) {
					t.Errorf("the server (pid %d) died when jt attach detached", r.PID)
				}
				mustAnswer(t, r.URL)
				// The window is still there: attaching again works.
				switch mux.mux {
				case "tmux":
					out := remote(t, sh.host, fmt.Sprintf("tmux -L %s has-session -t %s && echo window-there\n", shellQuote("jt-"+name), shellQuote("="+tmuxName(name))))
					if !strings.Contains(out, "window-there") {
						t.Errorf("the tmux session of %s is gone after detaching: %q", name, out)
					}
				case "screen":
					if ids := screenIDs(t, sh.host, name); len(ids) != 1 {
						t.Errorf("screen sessions jt-%s after detaching: %v, want one", name, ids)
					}
				}
			})
		}
	}
}

// tmuxName is the tmux session of jt session name: tmux turns . and : in
// session names into _.
func tmuxName(name string) string {
	return strings.NewReplacer(".", "_", ":", "_").Replace("jt-" + name)
}

// Without a terminal, jt attach says so in one line, before any ssh: no
// master is started, nothing runs on the host.
func TestE2EAttachNeedsTerminal(t *testing.T) {
	needE2E(t)
	for _, host := range []string{hostA, hostZsh} {
		t.Run(host, func(t *testing.T) {
			if host == hostZsh && e2e.zsh == "" {
				missingReq(t, "no zsh for "+hostZsh+" (apt install zsh)")
			}
			e := newEnv(t)
			// e.run gives jt /dev/null as its input: jt attach </dev/null HOST.
			stdout, stderr, code := e.run("attach", host)
			if code != 2 {
				t.Errorf("jt attach </dev/null %s: exit %d, want 2 (nothing was run)", host, code)
			}
			if ls := lines(stderr); len(ls) != 1 || !strings.HasPrefix(ls[0], "jt: error: jt attach needs a terminal") {
				t.Errorf("jt attach </dev/null %s printed %q on stderr, want one line jt: error: jt attach needs a terminal …", host, stderr)
			}
			if stdout != "" {
				t.Errorf("jt attach </dev/null %s printed %q on stdout, want nothing", host, stdout)
			}
			if e.masterRunning(host) {
				t.Errorf("jt attach </dev/null %s started an ssh master", host)
			}
		})
	}
}
