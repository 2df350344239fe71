"""Unit tests of jt's idle watcher (templates/idlewatch.py): its judgement,
table-driven, and its readers, against fakes of Jupyter's API and of /proc.
Run by templates/idlewatch_test.go: python3 idlewatch_test.py WATCHER."""

import importlib.util
import json
import os
import sys
import tempfile
import unittest

spec = importlib.util.spec_from_file_location("idlewatch", sys.argv.pop(1))
w = importlib.util.module_from_spec(spec)
spec.loader.exec_module(w)

PERIOD, INTERVAL = 20, 4.0
T0 = 1000000.0


def kernel(**kw):
    k = {"id": "k1", "connections": 0, "state": "idle", "last": T0, "cpu": 0.0, "running": False, "answered": 0}
    k.update(kw)
    return k


def obs(kernels, terminals=0, last=T0):
    return {"kernels": kernels, "terminals": terminals, "last": last}


class Judge(unittest.TestCase):
    # (name, looks: [(seconds after T0, obs)], want release at the last
    # look, want server shut down, want verdict)
    cases = [
        ("idle kernel released after the period",
         [(0, obs([kernel()])), (10, obs([kernel()])), (20, obs([kernel()]))],
         ["k1"], False, {"state": "idle", "idle": 20}),
        ("idle kernel not yet",
         [(0, obs([kernel()])), (19, obs([kernel()]))],
         [], False, {"state": "idle", "idle": 19}),
        ("a cell running, no CPU (time.sleep): never released",
         [(0, obs([kernel(running=True)])), (30, obs([kernel(running=True)])), (60, obs([kernel(running=True)]))],
         [], False, {"state": "busy", "reason": "computing"}),
        ("execution_state starting with a cell running: busy",
         [(0, obs([kernel(state="starting", running=True)])), (60, obs([kernel(state="starting", running=True)]))],
         [], False, {"state": "busy", "reason": "computing"}),
        ("execution_state idle (a control reply) while CPU is used: busy",
         [(0, obs([kernel()])), (40, obs([kernel(cpu=1.0)]))],
         [], False, {"state": "busy", "reason": "computing"}),
        ("the server says busy: busy",
         [(0, obs([kernel(state="busy")])), (40, obs([kernel(state="busy")]))],
         [], False, {"state": "busy", "reason": "computing"}),
        ("CPU below the threshold is not activity",
         [(0, obs([kernel(cpu=0.01)])), (20, obs([kernel(cpu=0.01)]))],
         ["k1"], False, {"state": "idle", "idle": 20}),
        ("a client connected: busy",
         [(0, obs([kernel(connections=1)])), (40, obs([kernel(connections=1)]))],
         [], False, {"state": "busy", "reason": "client"}),
        ("computing beats client connected",
         [(0, obs([kernel(connections=2, running=True)]))],
         [], False, {"state": "busy", "reason": "computing"}),
        ("CPU unreadable: cannot tell, never released",
         [(0, obs([kernel(cpu=None)])), (40, obs([kernel(cpu=None)]))],
         [], False, {"state": "busy", "reason": "unknown"}),
        ("kernel cannot be asked: cannot tell",
         [(0, obs([kernel(running=None)])), (40, obs([kernel(running=None)]))],
         [], False, {"state": "busy", "reason": "unknown"}),
        ("connections missing: not idle",
         [(0, obs([kernel(connections=None)])), (40, obs([kernel(connections=None)]))],
         [], False, {"state": "busy", "reason": "client"}),
        ("server unreadable: cannot tell",
         [(0, {"kernels": None, "terminals": None, "last": None})],
         [], False, {"state": "busy", "reason": "unknown"}),
        ("activity ends the idle time",
         [(0, obs([kernel()])), (15, obs([kernel(running=True)])), (30, obs([kernel()]))],
         [], False, {"state": "idle", "idle": 15}),
        ("a kernel message after our probe is activity",
         [(0, obs([kernel(answered=T0 + 0.1)])), (10, obs([kernel(last=T0 + 8)])), (24, obs([kernel(last=T0 + 8)]))],
         [], False, {"state": "idle", "idle": 16}),
        ("our own probe's message is not activity",
         [(0, obs([kernel(answered=T0 + 0.1)])), (10, obs([kernel(last=T0 + 0.5, answered=T0 + 10.1)])),
          (20, obs([kernel(last=T0 + 10.5)]))],
         ["k1"], False, {"state": "idle", "idle": 20}),
        ("one kernel computing keeps the server; the idle one goes",
         [(0, obs([kernel(), kernel(id="k2", running=True)])), (20, obs([kernel(), kernel(id="k2", running=True)]))],
         ["k1"], False, {"state": "busy", "reason": "computing"}),
        ("no kernels: the server goes after the period of no activity",
         [(0, obs([], last=T0)), (20, obs([], last=T0))],
         [], True, {"state": "idle", "idle": 20}),
        ("no kernels, recent API activity: the server stays",
         [(0, obs([], last=T0)), (20, obs([], last=T0 + 10))],
         [], False, {"state": "idle", "idle": 10}),
        ("the server stays until a period after its last kernel",
         [(0, obs([kernel()])), (20, obs([kernel()])), (24, obs([])), (39, obs([]))],
         [], False, {"state": "idle", "idle": 19}),
        ("the server goes a period after the last look that saw a kernel",
         [(0, obs([kernel()])), (20, obs([kernel()])), (24, obs([])), (40, obs([]))],
         [], True, {"state": "idle", "idle": 20}),
        ("a terminal keeps the server",
         [(0, obs([], terminals=1)), (60, obs([], terminals=1))],
         [], False, {"state": "busy", "reason": "terminal"}),
        ("terminals unreadable: cannot tell",
         [(0, obs([], terminals=None)), (60, obs([], terminals=None))],
         [], False, {"state": "busy", "reason": "unknown"}),
        ("a server clock behind: no negative idle time",
         [(0, obs([], last=T0 + 50))],
         [], False, {"state": "idle", "idle": 0}),
    ]

    def test_cases(self):
        for name, looks, release, shutdown, verdict in self.cases:
            with self.subTest(name):
                memo = {}
                for at, o in looks:
                    got = w.judge(T0 + at, json.loads(json.dumps(o)), memo, PERIOD, INTERVAL)
                self.assertEqual(got, (release, shutdown, verdict))


class Readers(unittest.TestCase):
    def test_parse_time(self):
        for s, want in [("1970-01-01T00:00:10.000000Z", 10.0), ("1970-01-01T00:00:10+00:00", 10.0),
                        ("1970-01-01T00:00:10.5Z", None), ("yesterday", None), (None, None), (7, None)]:
            got = w.parse_time(s)
            if want is None and got is not None and s == "1970-01-01T00:00:10.5Z":
                want = 10.5  # Python 3.11 reads any fraction
            self.assertEqual(got, want, s)

    def test_ps_time(self):
        for s, want in [("00:00", 0), ("01:02", 62), ("1:00:00", 3600), ("2-01:00:00", 2 * 86400 + 3600), ("00:05.20", 5)]:
            self.assertEqual(w.ps_time(s), want, s)

    def test_tree_cpu(self):
        procs = {
            1: (0, 5.0, "/sbin/init"),
            10: (1, 2.0, "/usr/bin/python3 -m ipykernel_launcher -f /rt/kernel-aa.json"),
            11: (10, 1.5, "/bin/sh -c make"),
            12: (11, 0.5, "cc x.c"),
            20: (1, 9.0, "/usr/bin/python3 -m ipykernel_launcher -f /rt/kernel-bb.json"),
        }
        self.assertEqual(w.tree_cpu(procs, "/rt/kernel-aa.json"), 4.0)
        self.assertEqual(w.tree_cpu(procs, "/rt/kernel-bb.json"), 9.0)
        self.assertIsNone(w.tree_cpu(procs, "/rt/kernel-cc.json"))

    def test_read_procs_here(self):
        procs = w.read_procs()
        self.assertIn(os.getpid(), procs)
        ppid, cpu, cmd = procs[os.getpid()]
        self.assertEqual(ppid, os.getppid())
        self.assertGreaterEqual(cpu, 0)
        self.assertIn("idlewatch_test", cmd)

    def test_verdict_file(self):
        with tempfile.TemporaryDirectory() as d:
            w.write_verdict(d, {"state": "busy", "reason": "computing"}, 20, 1234.9)
            path = os.path.join(d, "idle")
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            with open(path) as f:
                self.assertEqual(f.read(), "at=1234\nperiod=20\nstate=busy\nreason=computing\n")
            self.assertEqual(sorted(os.listdir(d)), ["idle"])

    def test_intervals(self):
        self.assertEqual(w.interval_for(10), 2.0)
        self.assertEqual(w.interval_for(60), 12.0)
        self.assertEqual(w.interval_for(7200), 30.0)


class FakeServer:
    """Jupyter's API as the watcher calls it, recorded."""

    def __init__(self, kernels, terminals=404):
        self.kernels, self.terminals, self.calls = kernels, terminals, []

    def get(self, path):
        self.calls.append(("GET", path))
        if path == "api/status":
            return {"last_activity": "1970-01-12T13:46:40.000000Z"}
        return self.kernels

    def call(self, method, path):
        self.calls.append((method, path))
        if path == "api/terminals":
            return (self.terminals, b"[]") if self.terminals != 404 else (404, b"")
        return 204, b""


class FakeProber:
    def __init__(self, answers):
        self.answers, self.kernels = answers, {}

    def ask(self, paths):
        return {kid: self.answers[kid] for kid in paths}

    def close(self, kid):
        pass


class Look(unittest.TestCase):
    def test_look(self):
        srv = FakeServer([{"id": "0a1b-2c", "connections": 0, "execution_state": "starting",
                           "last_activity": "1970-01-12T13:46:40.000000Z"}])
        got = w.look(srv, FakeProber({"0a1b-2c": (True, 0)}), "/nonexistent", {}, 2.0)
        self.assertEqual(got["terminals"], 0)
        self.assertEqual(got["kernels"], [{"id": "0a1b-2c", "connections": 0, "state": "starting",
                                           "last": 1000000.0, "cpu": None, "running": True, "answered": 0}])

    def test_hostile_kernel_id(self):
        srv = FakeServer([{"id": "../../x", "connections": 0}])
        got = w.look(srv, FakeProber({}), "/rt", {}, 2.0)
        self.assertIsNone(got["kernels"])


if __name__ == "__main__":
    unittest.main(verbosity=1)
