//go:build linux

package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// The Slurm test cluster's compute node (scripts/slurm-cluster).
const (
	slurmNodeAddr = "10.77.0.2"
	// slurmLock is the lock the end-to-end tests take for the cluster.
	slurmLock = "/tmp/jt-e2e-group-slurm.lock"
)

const (
	opBatch      = "jt open --slurm, RUNNING → URL"
	opBatchFloor = "floor: node login + jupyter start"
)

// batchPhase measures jt open --slurm from the moment squeue shows the
// job RUNNING to the URL (what the user waits for once the scheduler has
// placed the job), against what that part cannot go below: a fresh login
// to the node (the hop) and Jupyter's start there. The node shares this
// machine's CPUs, so its Jupyter start is the jupyter floor's.
func (b *bench) batchPhase(ctx context.Context, jup *row) error {
	if out, err := exec.CommandContext(ctx, "scontrol", "ping").CombinedOutput(); err != nil || !strings.Contains(string(out), "is UP") {
		return fmt.Errorf("-slurm: no Slurm controller answers (run scripts/slurm-cluster start): %s", out)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "scripts", "slurm-cluster"), "node-sshd", "start").CombinedOutput(); err != nil {
		return fmt.Errorf("-slurm: scripts/slurm-cluster node-sshd start: %v: %s", err, out)
	}
	// One user of the cluster at a time: the end-to-end tests fill its node.
	l := flock.New(slurmLock)
	if err := l.Lock(); err != nil {
		return err
	}
	defer l.Unlock()
	host := b.hosts[len(b.hosts)-1]
	user := b.box.Users[host]
	floor, r := b.add(opBatchFloor, false), b.add(opBatch, true)
	for i := range b.n {
		progress("jt open --slurm %d/%d on %s, with the node-login floor", i+1, b.n, host)
		settle()
		login, err := timed(ctx, nil, b.sshPath, "-i", b.box.KeyPath, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "StrictHostKeyChecking=yes", "-l", user, "--", slurmNodeAddr, "true")
		if err != nil {
			return fmt.Errorf("fresh login to the node %s as %s: %w: %s", slurmNodeAddr, user, err, login.Stderr)
		}
		floor.add(outcome{Dur: login.Dur + time.Duration(jup.Median*float64(time.Millisecond))})
		settle()
		o, running, err := b.openSlurm(ctx, host, user)
		if err != nil {
			return err
		}
		o.Dur -= running
		r.add(o)
		if _, err := b.jt.run(ctx, "close", "--kill", "--name", "bslurm", host); err != nil {
			return fmt.Errorf("jt close --kill of the Slurm session: %w", err)
		}
	}
	r.floorOf("node login + jupyter start", floor.Median)
	r.Note = "from squeue's first RUNNING (polled every 10 ms) to jt's answer; floor = fresh ssh to the node + the jupyter floor"
	return nil
}

// openSlurm runs jt open --slurm and, beside it, polls squeue: it returns
// jt's outcome and when (after jt started) the job was first RUNNING.
func (b *bench) openSlurm(ctx context.Context, host, user string) (outcome, time.Duration, error) {
	type result struct {
		o   outcome
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		o, err := b.jt.run(ctx, "open", "--slurm", "--no-browser", "--json", "--name", "bslurm", host)
		done <- result{o, err}
	}()
	var running time.Duration
	for {
		select {
		case res := <-done:
			if res.err != nil {
				return outcome{}, 0, fmt.Errorf("jt open --slurm: %w: %s", res.err, res.o.Stderr)
			}
			if running == 0 {
				return outcome{}, 0, fmt.Errorf("jt open --slurm answered before squeue showed its job RUNNING")
			}
			return res.o, running, nil
		case <-time.After(10 * time.Millisecond):
		}
		if running == 0 {
			out, _ := exec.CommandContext(ctx, "squeue", "-h", "-u", user, "-t", "R", "-o", "%i").Output()
			if strings.TrimSpace(string(out)) != "" {
				running = time.Since(start)
			}
		}
	}
}
