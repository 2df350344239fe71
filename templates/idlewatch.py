"""jt's idle watcher (jt open --idle): beside a session's Jupyter, on its host.

It releases a kernel that shows no activity for the idle period, and then
the server, through Jupyter's own API (DELETE /api/kernels/ID, POST
/api/shutdown); it never signals a process. Activity is what a missed
status message cannot hide: CPU used by the kernel's process tree, a cell
running (an ipykernel answers a shell-channel kernel_info_request only
between cells), a client connected, kernel messages other than its own
probes. Evidence it cannot read counts as activity. Its verdict goes to
RUN/idle (0600, replaced atomically) for jt ls; it ends with the server.

Usage: python3 idlewatch.py RUN RUNTIME_FILE PID ADDR SECONDS
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid

SLACK = 1.0  # seconds a probe's own kernel activity may trail its answer
ANSWER_WAIT = 2.0  # seconds an idle kernel gets to answer kernel_info
KERNEL_ID = re.compile(r"\A[0-9a-fA-F-]{1,64}\Z")


def interval_for(period):
    """How often to look: five times per idle period, every 2 to 30 s."""
    return min(max(period / 5.0, 2.0), 30.0)


def cpu_threshold(interval):
    """CPU seconds per interval above which a kernel computes (2% of a core)."""
    return max(0.02 * interval, 0.05)


def judge(now, obs, memo, period, interval):
    """The verdict of one look, pure: obs is what was seen, memo what earlier
    looks left (changed in place). Returns (kernels to release, release the
    server, verdict dict).

    obs: kernels (list of dicts: id, connections, state, last (epoch or
    None), cpu (seconds in the interval or None), running (True, False or
    None), answered (when this look's probe was answered, or 0)) or None
    when unreadable; terminals (a count or None); last (the
    server's last activity, epoch, or None).
    """
    since = memo.setdefault("since", {})
    probed = memo.setdefault("probed", {})
    kernels, terms = obs.get("kernels"), obs.get("terminals")
    if kernels is None or terms is None or obs.get("last") is None:
        memo["server"] = now
        return [], False, {"state": "busy", "reason": "unknown"}
    reasons, release, idle_for = [], [], []
    threshold = cpu_threshold(interval)
    for k in kernels:
        kid = k["id"]
        last = k.get("last")
        start = since.get(kid)
        if start is None:
            start = last if last is not None else now
        # The kernel's last message, unless it was our own probe's.
        if last is not None and last > probed.get(kid, 0) + SLACK:
            start = max(start, last)
        why = None
        if k.get("cpu") is None or k.get("running") is None or last is None:
            why = "unknown"
        elif k["running"] or k.get("state") == "busy" or k["cpu"] >= threshold:
            why = "computing"
        elif k.get("connections", 1) != 0:
            why = "client"
        if why:
            start = now
            reasons.append(why)
        since[kid] = min(start, now)
        if k.get("answered"):
            probed[kid] = k["answered"]  # this look's probe: the next look discounts it
        idle_for.append(now - since[kid])
        if why is None and now - since[kid] >= period:
            release.append(kid)
    for kid in list(since):
        if kid not in {k["id"] for k in kernels}:
            del since[kid]
            probed.pop(kid, None)
    if kernels or terms:
        memo["server"] = now
    elif "server" not in memo:
        memo["server"] = obs["last"]
    server_since = max(memo["server"], obs["last"])
    for r in ("computing", "client", "unknown"):
        if r in reasons:
            return release, False, {"state": "busy", "reason": r}
    if terms and not kernels:
        return release, False, {"state": "busy", "reason": "terminal"}
    if kernels:
        return release, False, {"state": "idle", "idle": int(min(idle_for))}
    quiet = now - server_since
    if quiet < 0:
        quiet = 0
    return release, quiet >= period, {"state": "idle", "idle": int(quiet)}


def parse_time(s):
    """Jupyter's ISO time (UTC, 'Z' or +00:00) as epoch seconds, or None."""
    if not isinstance(s, str):
        return None
    s = s.strip().replace("Z", "+00:00")
    try:
        t = datetime.datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp()


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Server:
    """Jupyter's REST API, with the token from its runtime file. Every
    request carries no_track_activity: the watcher is not a user."""

    def __init__(self, info, addr):
        self.token = info["token"]
        self.sock = info.get("sock") or ""
        self.port = int(info.get("port") or 0)
        self.addr = addr
        self.base = (info.get("base_url") or "/").rstrip("/") + "/"

    def call(self, method, path):
        if self.sock:
            c = UnixConnection(self.sock, 10)
        else:
            c = http.client.HTTPConnection(self.addr, self.port, timeout=10)
        try:
            c.request(method, self.base + path + "?no_track_activity=1", body=b"" if method != "GET" else None,
                      headers={"Authorization": "token " + self.token})
            r = c.getresponse()
            body = r.read(1 << 20)
            return r.status, body
        finally:
            c.close()

    def get(self, path):
        status, body = self.call("GET", path)
        if status != 200:
            raise OSError("GET %s: HTTP %d" % (path, status))
        return json.loads(body)


def read_procs():
    """Every process: pid -> (ppid, CPU seconds of it and its reaped
    children, argv as one string); from /proc, else from ps."""
    procs = {}
    if os.path.isdir("/proc/self"):
        hz = os.sysconf("SC_CLK_TCK")
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d, "rb") as f:
                    st = f.read().decode("utf-8", "replace")
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue  # gone meanwhile
            fields = st[st.rindex(")") + 2:].split()
            cpu = sum(int(x) for x in fields[11:15]) / float(hz)
            procs[int(d)] = (int(fields[1]), cpu, cmd)
        return procs
    out = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,time=,args="], capture_output=True, text=True,
                         timeout=20, check=True).stdout
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 3:
            continue
        procs[int(parts[0])] = (int(parts[1]), ps_time(parts[2]), parts[3] if len(parts) > 3 else "")
    return procs


def ps_time(s):
    """ps's cumulative CPU time, [[DD-]HH:]MM:SS, in seconds."""
    days, _, rest = s.rpartition("-")
    total = 0
    for part in rest.split(":"):
        total = total * 60 + int(part.split(".")[0])
    return total + (int(days) * 86400 if days else 0)


def tree_cpu(procs, connection_file):
    """CPU seconds of the process trees whose root runs with connection_file
    (a kernel's argv names it); None when no process does."""
    roots = [p for p, (_, _, cmd) in procs.items() if connection_file in cmd]
    if not roots:
        return None
    children = {}
    for p, (pp, _, _) in procs.items():
        children.setdefault(pp, []).append(p)
    seen, todo, total = set(), list(roots), 0.0
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += procs[p][1]
        todo.extend(children.get(p, []))
    return total


class Prober:
    """A kernel_info_request on each kernel's shell channel, at most one
    outstanding: an ipykernel handles shell messages one at a time, so it
    answers only when no cell runs."""

    def __init__(self, zmq):
        self.zmq = zmq
        self.ctx = zmq.Context()
        self.kernels = {}  # id -> {sock, key, pending msg id, sent}

    def close(self, kid):
        k = self.kernels.pop(kid, None)
        if k:
            k["sock"].close(linger=0)

    def open(self, kid, path):
        with open(path) as f:
            c = json.load(f)
        if c.get("signature_scheme", "hmac-sha256") != "hmac-sha256":
            raise ValueError("signature scheme %r" % c.get("signature_scheme"))
        s = self.ctx.socket(self.zmq.DEALER)
        s.setsockopt(self.zmq.LINGER, 0)
        if c.get("transport", "tcp") == "ipc":
            s.connect("ipc://%s-%s" % (c["ip"], c["shell_port"]))
        else:
            s.connect("tcp://%s:%s" % (c["ip"], c["shell_port"]))
        k = {"sock": s, "key": c.get("key", "").encode(), "pending": None, "sent": 0}
        self.kernels[kid] = k
        return k

    def send(self, k):
        mid = uuid.uuid4().hex
        header = {"msg_id": mid, "msg_type": "kernel_info_request", "username": "jt-idle",
                  "session": "jt-idle", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                  "version": "5.3"}
        parts = [json.dumps(x).encode() for x in (header, {}, {}, {})]
        sig = hmac.new(k["key"], b"".join(parts), hashlib.sha256).hexdigest().encode() if k["key"] else b""
        k["sock"].send_multipart([b"<IDS|MSG>", sig] + parts)
        k["pending"], k["sent"] = mid, time.time()

    def replied(self, k):
        """Whether the pending request's reply has come (reads what is there)."""
        while k["pending"] and k["sock"].poll(0):
            msg = k["sock"].recv_multipart()
            try:
                parent = json.loads(msg[msg.index(b"<IDS|MSG>") + 3])
            except (ValueError, IndexError):
                continue
            if parent.get("msg_id") == k["pending"]:
                k["pending"] = None
        return k["pending"] is None

    def ask(self, paths):
        """For each kernel (id -> connection file): (cell running?, when it
        answered or 0), or (None, 0) when it cannot be asked. The kernels
        are asked together and get ANSWER_WAIT seconds."""
        asked, out = {}, {}
        for kid, path in paths.items():
            try:
                k = self.kernels.get(kid) or self.open(kid, path)
                if k["pending"] and not self.replied(k):
                    out[kid] = (True, 0)  # the last look's request has no answer yet
                    continue
                self.send(k)
                asked[kid] = k
            except Exception as e:  # noqa: BLE001 - any failure means "cannot tell"
                log("cannot ask kernel %s: %s" % (kid, e))
                self.close(kid)
                out[kid] = (None, 0)
        end = time.time() + ANSWER_WAIT
        while asked:
            poller = self.zmq.Poller()
            for k in asked.values():
                poller.register(k["sock"], self.zmq.POLLIN)
            left = end - time.time()
            if left <= 0 or not poller.poll(left * 1000):
                break
            for kid, k in list(asked.items()):
                try:
                    if self.replied(k):
                        out[kid] = (False, time.time())
                        del asked[kid]
                except Exception as e:  # noqa: BLE001
                    log("cannot read kernel %s: %s" % (kid, e))
                    self.close(kid)
                    out[kid] = (None, 0)
                    del asked[kid]
        for kid in asked:
            out[kid] = (True, 0)
        return out


def log(msg, session_log=None):
    line = time.strftime("%Y-%m-%dT%H:%M:%S ") + "jt idle: " + msg
    print(line, flush=True)
    if session_log:
        try:
            with open(session_log, "a") as f:
                f.write("jt idle: " + msg + "\n")
        except OSError:
            pass


def write_verdict(run, verdict, period, now):
    lines = ["at=%d" % now, "period=%d" % period]
    lines += ["%s=%s" % (k, verdict[k]) for k in ("state", "reason", "idle") if k in verdict]
    tmp = os.path.join(run, "idle.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(run, "idle"))


def alive(pid):
    """Whether pid runs (a zombie has ended: its parent has yet to reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[-1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def look(server, prober, rt, memo, interval):
    """What one look sees (see judge); kernels' CPU is the use since the
    last look."""
    obs = {"kernels": None, "terminals": None, "last": None}
    try:
        obs["last"] = parse_time(server.get("api/status").get("last_activity"))
        listed = server.get("api/kernels")
        status, body = server.call("GET", "api/terminals")
        if status == 404:
            obs["terminals"] = 0  # terminals are off in this server
        elif status == 200:
            obs["terminals"] = len(json.loads(body))
        procs = read_procs()
    except Exception as e:  # noqa: BLE001
        log("cannot read the server's state: %s" % e)
        return obs
    cpu = memo.setdefault("cpu", {})
    if not all(KERNEL_ID.match(str(k.get("id", ""))) for k in listed):
        log("the server lists a kernel id that is not a plain uuid")
        return obs
    paths = {k["id"]: os.path.join(rt, "kernel-%s.json" % k["id"]) for k in listed}
    probes = prober.ask(paths)
    kernels = []
    for k in listed:
        kid = k["id"]
        total = tree_cpu(procs, paths[kid])
        used = None
        if total is not None and kid in cpu and total >= cpu[kid]:
            used = total - cpu[kid]
        if total is not None:
            cpu[kid] = total
        running, answered = probes[kid]
        kernels.append({"id": kid, "connections": k.get("connections"), "state": k.get("execution_state"),
                        "last": parse_time(k.get("last_activity")), "cpu": used, "running": running,
                        "answered": answered})
    for kid in list(prober.kernels):
        if kid not in paths:
            cpu.pop(kid, None)
            prober.close(kid)
    obs["kernels"] = kernels
    return obs


def watch_once(server, prober, rt, memo, interval, run, pid, period, session_log):
    """One look, its releases and its verdict; True once the server is shut down."""
    obs = look(server, prober, rt, memo, interval)
    release, shutdown, verdict = judge(time.time(), obs, memo, period, interval)
    for kid in release:
        status, _ = server.call("DELETE", "api/kernels/" + kid)
        log("released kernel %s after %ds without activity (HTTP %d)" % (kid, period, status), session_log)
    if shutdown:
        log("shutting the server down: no kernel, terminal or request for %ds" % period, session_log)
        try:
            status, _ = server.call("POST", "api/shutdown")
        except OSError as e:
            status = str(e)  # the server may close before it answers
        end = time.time() + 30
        while alive(pid) and time.time() < end:
            time.sleep(0.2)
        if not alive(pid):
            write_verdict(run, {"state": "released"}, period, time.time())
            log("server %d has shut down" % pid)
            return True
        log("the server is still up 30s after POST /api/shutdown (%s)" % status)
    write_verdict(run, verdict, period, time.time())
    return False


def main(argv):
    run, runtime, pid, addr, period = argv[1], argv[2], int(argv[3]), argv[4], int(argv[5])
    session_log = os.path.join(run, "log")
    import zmq  # the launcher checked it imports

    with open(runtime) as f:
        server = Server(json.load(f), addr)
    rt = os.path.dirname(runtime)
    interval = interval_for(period)
    prober, memo = Prober(zmq), {}
    log("watching server %d every %gs; kernels and then the server are released after %ds without activity"
        % (pid, interval, period))
    while alive(pid) and os.path.exists(runtime):
        now = time.time()
        try:
            if watch_once(server, prober, rt, memo, interval, run, pid, period, session_log):
                return 0
        except Exception as e:  # noqa: BLE001 - a look that fails releases nothing
            log("look failed: %s: %s" % (type(e).__name__, e))
            try:
                write_verdict(run, {"state": "busy", "reason": "unknown"}, period, time.time())
            except OSError:
                pass
        time.sleep(max(interval - (time.time() - now), 0.5))
    log("server %d has ended" % pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
