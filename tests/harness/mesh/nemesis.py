#!/usr/bin/python3
"""nemesis.py - seeded random fault schedules against the mesh of start.sh,
and a checker that knows the ground truth from the schedule (issue 10,
"Proof, beyond examples"). Used by tools/bench_safety.py (`tools/bench
safety`) and tests/integration/nemesis_test.sh; a library, not a CLI.

Fault kinds (episodes; a schedule is 1-3 of them, overlapping, on a
5-member mesh):
  minority     one member cut off from the others (iptables, both ways):
               short (0.3-1.0 s, must not be fenced) or long (2-6 s)
  majority     a 2|3 split, short or long
  outage       every link down 4-10 s, then all back at once
  staggered    every link down 4-10 s, then three back at once and the
               other two one by one, 0.3-0.8 s apart (issue 10, item 1)
  flapping     one member's link down 0.2-0.8 s, up 0.4-1.0 s, 3-6 times
  loss         random loss of incoming packets (2, 5 or 10 %) on some or
               all members, 5-15 s (iptables statistic: no netem here)
  kill_restart SIGKILL of a daemon, started again ~1 s later (item 2)
  pause        SIGSTOP of a daemon for 0.3-1.0 s (or, one time in five, a
               long stall of 2-3 s), then SIGCONT
  drift        one member's members file lists itself and two others (its
               conf pointed at that copy, daemon restarted), half the time
               with a 2|3 split putting it with one of them; 6-12 s, then
               the file restored and the daemon restarted (item 4)
  poweroff     power loss (link cut + SIGKILL); power back only after the
               schedule, once its notification is stored (or 60 s)
Not injected: packet delay (this kernel has no netem: docs/BENCHMARKS.md),
clock steps (CLOCK_REALTIME is machine-wide; the daemons time everything
on CLOCK_MONOTONIC, item 11's unit tests cover a wall-clock step).

Ground truth. The model keeps, for every instant, which members are
powered, which links are up, which pairs are blocked, which daemons are
stopped or not running. A member H is SEPARATED at an instant when a
majority M of the members file (3 of 5; H not in M) exists whose daemons
run (not stopped), that reach each other, and none of which reaches H
(H's daemon stopped counts as unreachable; H's daemon killed does not: its
kernel answers). A fence of H, or a COMPUTE_HOST for H, at time t is
JUSTIFIED when H was separated for at least W (the unreachable window,
1.2 s) without a break, that stretch ending at most RECENT (10 s) before t.
Every change is timed leniently (a cut at the instant before it is made, a
heal at the instant after): the checker errs toward "justified".
Violations:
  unjustified_fence / unjustified_notification   (property 1)
  notification_without_fence     a COMPUTE_HOST stored with no fence of
                                 that host in the 120 s before it
  power_loss_notified_N          a power loss with N != 1 COMPUTE_HOST
                                 stored between the cut and RECENT after
                                 the power came back (property 2)
  power_loss_notified_before_fence  its first COMPUTE_HOST stored before
                                 any fence of it had ended
"""
import itertools
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
W = 1.2          # [mesh] unreachable_window_ms default (mesh/agreement.h)
RECENT = 10.0
KINDS = ("minority", "majority", "outage", "staggered", "flapping", "loss",
         "kill_restart", "pause", "drift", "poweroff")
PROCESS_KINDS = ("kill_restart", "pause", "drift", "poweroff")
POWER_WAIT = 60.0   # after the heal, for a power loss's notification


def log(msg):
    print(f"[nemesis {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- schedules

def _dur(rng):
    """A partition's length: short (must not be fenced) or long."""
    return round(rng.uniform(0.3, 1.0), 2) if rng.random() < 0.5 else round(rng.uniform(2.0, 6.0), 2)


def make_schedule(rng, names, kinds):
    """1-3 episodes: [{kind, start, desc, ops: [(t, op, args)]}], t relative
    to the schedule's start. Process faults hit distinct members; at most one
    power loss and one outage per schedule."""
    eps, used, k = [], set(), rng.randint(1, 3)
    for _ in range(k):
        kind = rng.choice(kinds)
        if kind in ("outage", "staggered") and any(e["kind"] in ("outage", "staggered") for e in eps):
            continue
        if kind == "poweroff" and any(e["kind"] == "poweroff" for e in eps):
            continue
        free = [n for n in names if n not in used]
        if kind in PROCESS_KINDS and not free:
            continue
        t0 = round(rng.uniform(0.0, 6.0), 2)
        ops, desc = [], ""
        if kind == "minority":
            v, d = rng.choice(names), _dur(rng)
            ops = [(t0, "block", ([v],)), (t0 + d, "unblock", ())]
            desc = f"{v} cut off {d}s"
        elif kind == "majority":
            g, d = sorted(rng.sample(names, 2)), _dur(rng)
            ops = [(t0, "block", (g,)), (t0 + d, "unblock", ())]
            desc = f"{','.join(g)} | rest {d}s"
        elif kind == "outage":
            d = round(rng.uniform(4.0, 10.0), 2)
            ops = [(t0, "cut", (list(names),)), (t0 + d, "uncut", (list(names),))]
            desc = f"all links down {d}s, back at once"
        elif kind == "staggered":
            d = round(rng.uniform(4.0, 10.0), 2)
            order = rng.sample(names, len(names))
            ops = [(t0, "cut", (list(names),)), (t0 + d, "uncut", (order[:3],))]
            t, late = t0 + d, []
            for n in order[3:]:
                g = round(rng.uniform(0.3, 0.8), 2)
                t += g
                ops.append((t, "uncut", ([n],)))
                late.append(f"{n} +{g}")
            desc = f"all links down {d}s, {','.join(order[:3])} back, then {', '.join(late)}"
        elif kind == "flapping":
            v, t, cyc = rng.choice(names), t0, rng.randint(3, 6)
            for _ in range(cyc):
                dn, up = round(rng.uniform(0.2, 0.8), 2), round(rng.uniform(0.4, 1.0), 2)
                ops += [(t, "cut", ([v],)), (t + dn, "uncut", ([v],))]
                t += dn + up
            desc = f"{v} link flapping x{cyc}"
        elif kind == "loss":
            p = rng.choice((0.02, 0.05, 0.1))
            who = list(names) if rng.random() < 0.5 else sorted(rng.sample(names, rng.randint(1, 3)))
            d = round(rng.uniform(5.0, 15.0), 2)
            ops = [(t0, "loss", (who, p)), (t0 + d, "unloss", ())]
            desc = f"loss {p:.0%} on {','.join(who)} {d}s"
        elif kind == "kill_restart":
            v, d = rng.choice(free), round(rng.uniform(0.8, 1.2), 2)
            used.add(v)
            ops = [(t0, "kill", (v,)), (t0 + d, "start", (v,))]
            desc = f"{v} SIGKILL, restart after {d}s"
        elif kind == "pause":
            v = rng.choice(free)
            used.add(v)
            d = round(rng.uniform(0.3, 1.0), 2) if rng.random() < 0.8 else round(rng.uniform(2.0, 3.0), 2)
            ops = [(t0, "stop", (v,)), (t0 + d, "cont", (v,))]
            desc = f"{v} SIGSTOP {d}s"
        elif kind == "drift":
            v = rng.choice(free)
            used.add(v)
            others = [n for n in names if n != v]
            listed = sorted([v] + rng.sample(others, 2))
            d = round(rng.uniform(6.0, 12.0), 2)
            ops = [(t0, "drift", (v, listed)), (t0 + d, "undrift", (v,))]
            desc = f"{v} members file lists {','.join(listed)} for {d}s"
            if rng.random() < 0.5:
                mate = rng.choice([n for n in listed if n != v])
                g = sorted([v, mate])
                pd = round(rng.uniform(2.0, 5.0), 2)
                ops += [(t0 + 2.0, "block", (g,)), (t0 + 2.0 + pd, "unblock", ())]
                desc += f", with {','.join(g)} | rest {pd}s"
        elif kind == "poweroff":
            v = rng.choice(free)
            used.add(v)
            ops = [(t0, "poweroff", (v,))]
            desc = f"{v} power loss"
        eps.append({"kind": kind, "start": t0, "desc": desc, "ops": sorted(ops, key=lambda o: o[0])})
    if not eps:
        return make_schedule(rng, names, kinds)
    return eps


# ---------------------------------------------------------------- the mesh under faults

class Mesh:
    """Applies faults to the mesh of start.sh (BASE) and records the model's
    state after every change (the timeline the checker reads)."""

    def __init__(self, base, env):
        self.base, self.env = base, env
        self.names = env["MESH_NAMES"].split()
        self.hub = env["MESH_HUB_NS"]
        self.nodes = {}
        with open(os.path.join(base, "nodes.list")) as f:
            for line in f:
                n, ip, ns, veth = line.split()
                self.nodes[n] = {"ip": ip, "ns": ns, "veth": veth}
        self.lock = threading.RLock()
        self.powered = {n: True for n in self.names}
        self.running = {n: True for n in self.names}
        self.paused = {n: False for n in self.names}
        self.cuts = {n: set() for n in self.names}       # reasons the link is down
        self.blocks = {}                                  # episode -> group cut from the rest
        self.loss = {}                                    # episode -> (names, p)
        self.drifted = {}                                 # name -> members listed
        self.timeline = []                                # (t, state)
        self.errors = []
        self.record(time.time())

    # -- model
    def state(self):
        pairs = set()
        for g in self.blocks.values():
            for a in g:
                for b in self.names:
                    if b not in g:
                        pairs.add(frozenset((a, b)))
        return {"powered": dict(self.powered), "running": dict(self.running),
                "paused": dict(self.paused), "link": {n: not self.cuts[n] for n in self.names},
                "blocked": frozenset(pairs)}

    def record(self, t):
        with self.lock:
            self.timeline.append((t, self.state()))

    # -- plumbing
    def sh(self, args, timeout=60, check=True, input=None):
        e = dict(os.environ)
        e["BASE"] = self.base
        try:
            r = subprocess.run(args, env=e, text=True, capture_output=True, timeout=timeout, input=input)
        except subprocess.TimeoutExpired:
            self.errors.append(f"step hung ({timeout}s): {' '.join(args)}")
            log(f"ERROR: step hung ({timeout}s): {' '.join(args)}")
            return None
        if check and r.returncode != 0:
            msg = f"step failed ({r.returncode}): {' '.join(args)}: {(r.stderr or r.stdout).strip()[-300:]}"
            self.errors.append(msg)
            log("ERROR: " + msg)
        return r

    def node_ctl(self, name, *args, timeout=60):
        return self.sh([os.path.join(HERE, "node-ctl.sh"), name, *args], timeout=timeout)

    def pid(self, name):
        try:
            with open(os.path.join(self.base, "nodes", name, "daemon.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def signal_daemon(self, name, sig):
        """sig to name's running mimamorid, if it has one (gone already: fine)."""
        p = self.pid(name)
        if p:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass

    def apply_link(self, name):
        up = "up" if not self.cuts[name] else "down"
        self.sh(["ip", "-n", self.hub, "link", "set", self.nodes[name]["veth"], up], timeout=10)

    def apply_rules(self):
        """The iptables rules of every member from the blocks and losses in force."""
        st = self.state()
        for a in self.names:
            lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
            for b in self.names:
                if frozenset((a, b)) in st["blocked"]:
                    ip = self.nodes[b]["ip"]
                    lines += [f"-A INPUT -s {ip}/32 -j DROP", f"-A OUTPUT -d {ip}/32 -j DROP"]
            p = max([pp for who, pp in self.loss.values() if a in who] or [0])
            if p > 0:
                lines.append(f"-A INPUT -i eth0 -m statistic --mode random --probability {p} -j DROP")
            lines.append("COMMIT")
            self.sh(["nsenter", f"--net=/run/netns/{self.nodes[a]['ns']}", "--", "iptables-restore", "-w", "5"],
                    timeout=15, input="\n".join(lines) + "\n")

    def conf_path(self, name):
        return os.path.join(self.base, "nodes", name, "mimamori.conf")

    def set_members_file(self, name, path):
        p = self.conf_path(name)
        with open(p) as f:
            text = f.read()
        text = re.sub(r"(?m)^members_file = .*$", f"members_file = {path}", text)
        with open(p, "w") as f:
            f.write(text)

    # -- operations (t: relative time of the schedule, only for the log)
    def op(self, op, args, ep):
        """One operation; records the model's state, leniently timed."""
        if op == "block":
            t = time.time()
            with self.lock:
                self.blocks[ep] = list(args[0])
                self.record(t)
                self.apply_rules()
        elif op == "unblock":
            with self.lock:
                self.blocks.pop(ep, None)
                self.apply_rules()
                self.record(time.time())
        elif op == "loss":
            with self.lock:
                self.loss[ep] = (list(args[0]), args[1])
                self.apply_rules()
                self.record(time.time())
        elif op == "unloss":
            with self.lock:
                self.loss.pop(ep, None)
                self.apply_rules()
                self.record(time.time())
        elif op == "cut":
            t = time.time()
            with self.lock:
                for n in args[0]:
                    self.cuts[n].add(ep)
                self.record(t)
                for n in args[0]:
                    self.apply_link(n)
        elif op == "uncut":
            with self.lock:
                for n in args[0]:
                    self.cuts[n].discard(ep)
                    self.apply_link(n)
                self.record(time.time())
        elif op == "kill":
            n = args[0]
            t = time.time()
            with self.lock:
                self.running[n] = False
                self.record(t)
                self.signal_daemon(n, signal.SIGKILL)
        elif op == "start":
            # running from the moment it is started (lenient: it may take
            # seconds until its control socket answers)
            n = args[0]
            with self.lock:
                self.running[n] = True
                self.record(time.time())
            self.node_ctl(n, "start")
        elif op == "stop":
            n = args[0]
            t = time.time()
            with self.lock:
                self.paused[n] = True
                self.record(t)
                self.signal_daemon(n, signal.SIGSTOP)
        elif op == "cont":
            n = args[0]
            with self.lock:
                self.signal_daemon(n, signal.SIGCONT)
                self.paused[n] = False
                self.record(time.time())
        elif op == "drift":
            n, listed = args
            path = os.path.join(self.base, "nodes", n, "members.drift")
            with open(os.path.join(self.base, "members")) as f:
                lines = [ln for ln in f if ln.split() and ln.split()[0] in listed]
            with open(path, "w") as f:
                f.writelines(lines)
            self.set_members_file(n, path)
            self.restart(n)
            self.drifted[n] = listed
        elif op == "undrift":
            n = args[0]
            self.set_members_file(n, os.path.join(self.base, "members"))
            self.restart(n)
            self.drifted.pop(n, None)
        elif op == "poweroff":
            n = args[0]
            t = time.time()
            with self.lock:
                self.powered[n] = False
                self.running[n] = False
                self.cuts[n].add("power")
                self.record(t)
                self.apply_link(n)
                self.signal_daemon(n, signal.SIGKILL)
            return t
        elif op == "poweron":
            n = args[0]
            with self.lock:
                self.cuts[n].discard("power")
                self.powered[n] = True
                self.apply_link(n)
                self.running[n] = True
                self.record(time.time())
            self.node_ctl(n, "start")
        else:
            raise ValueError(op)
        return None

    def restart(self, n):
        """An orderly restart (SIGTERM, start): the daemon is down meanwhile,
        its host up."""
        t = time.time()
        with self.lock:
            self.running[n] = False
            self.record(t)
        self.node_ctl(n, "stop", timeout=30)
        with self.lock:
            self.running[n] = True
            self.record(time.time())
        self.node_ctl(n, "start")

    def heal(self):
        """Everything back except the power of powered-off members."""
        with self.lock:
            for n in self.names:
                if self.paused[n]:
                    self.op("cont", (n,), "heal")
            self.blocks.clear()
            self.loss.clear()
            self.apply_rules()
            for n in self.names:
                self.cuts[n] = {r for r in self.cuts[n] if r == "power"}
                self.apply_link(n)
            self.record(time.time())
        for n in list(self.drifted):
            self.op("undrift", (n,), "heal")
        for n in self.names:
            if self.powered[n] and (not self.running[n] or self.pid(n) is None or
                                    self.sh([os.path.join(HERE, "node-ctl.sh"), n, "pid"], check=False).returncode != 0):
                log(f"heal: {n}'s daemon is not running: starting it")
                self.op("start", (n,), "heal")


def run_schedule(mesh, eps, t_start):
    """Runs each episode in its own thread (operations at their times from
    t_start). Returns {name: unix time of its power cut}."""
    cuts = {}

    def run(i, ep):
        for t, op, args in ep["ops"]:
            delay = t_start + t - time.time()
            if delay > 0:
                time.sleep(delay)
            try:
                r = mesh.op(op, args, f"e{i}")
            except Exception as exc:      # named in the report, never silent
                mesh.errors.append(f"{ep['kind']} {op} {args}: {exc!r}")
                log(f"ERROR: {ep['kind']} {op} {args}: {exc!r}")
                continue
            if op == "poweroff":
                cuts[args[0]] = r
    threads = [threading.Thread(target=run, args=(i, ep), daemon=True) for i, ep in enumerate(eps)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
        if th.is_alive():
            mesh.errors.append("an episode hung for 120 s")
    return cuts


# ---------------------------------------------------------------- observations

def read_fences(base):
    out = []
    try:
        with open(os.path.join(base, "fence.log")) as f:
            for line in f:
                p = line.split()
                if len(p) == 5:
                    out.append({"start": float(p[0]), "end": float(p[1]), "actor": p[2], "target": p[3], "rc": int(p[4])})
    except FileNotFoundError:
        pass
    return out


def read_stored(db):
    """COMPUTE_HOST notifications stored by Masakari: [{host, t}]."""
    with sqlite3.connect(db, timeout=30) as c:
        hosts = {u: n for u, n in c.execute("SELECT uuid, name FROM hosts")}
        rows = c.execute("SELECT host_uuid, type, unix FROM mesh_stored ORDER BY unix").fetchall()
    return [{"host": hosts.get(h, h), "type": ty, "t": u} for h, ty, u in rows]


# ---------------------------------------------------------------- the checker

def separated_runs(timeline, names, t_end):
    """{H: [(a, b)]}: the stretches during which H was separated from a
    majority (see the module's doc)."""
    quorum = len(names) // 2 + 1
    runs = {h: [] for h in names}
    open_at = {h: None for h in names}
    segs = list(timeline) + [(t_end, None)]
    for (t, st), (t_next, _) in zip(segs, segs[1:]):
        if t_next < t:
            t_next = t
        up = {n: st["powered"][n] and st["link"][n] for n in names}

        def reach(a, b):
            return up[a] and up[b] and frozenset((a, b)) not in st["blocked"]
        capable = [n for n in names if st["powered"][n] and st["running"][n] and not st["paused"][n]]
        for h in names:
            cand = [m for m in capable if m != h and not (reach(h, m) and not st["paused"][h])]
            sep = False
            for k in range(len(cand), quorum - 1, -1):
                for M in itertools.combinations(cand, k):
                    if all(reach(a, b) for a, b in itertools.combinations(M, 2)):
                        sep = True
                        break
                if sep:
                    break
            if sep and open_at[h] is None:
                open_at[h] = t
            elif not sep and open_at[h] is not None:
                runs[h].append((open_at[h], t))
                open_at[h] = None
    for h in names:
        if open_at[h] is not None:
            runs[h].append((open_at[h], t_end))
    return runs


def state_at(timeline, t):
    st = timeline[0][1]
    for tt, s in timeline:
        if tt > t:
            break
        st = s
    return st


def justified(runs, h, t):
    for a, b in runs.get(h, []):
        e = min(b, t)
        if e - a >= W and t - e <= RECENT:
            return True
    return False


def check(timeline, names, fences, stored, losses, t_end):
    """Violations (list of dicts) and counters."""
    runs = separated_runs(timeline, names, t_end)
    v = []
    for f in fences:
        if f["target"] in names and not justified(runs, f["target"], f["start"]):
            v.append({"kind": "unjustified_fence", "host": f["target"], "t": f["start"], "actor": f["actor"]})
    ch = [s for s in stored if s["type"] == "COMPUTE_HOST"]
    for s in ch:
        if not justified(runs, s["host"], s["t"]):
            v.append({"kind": "unjustified_notification", "host": s["host"], "t": s["t"]})
        if not any(f["target"] == s["host"] and f["rc"] == 0 and s["t"] - 120 <= f["end"] <= s["t"] for f in fences):
            v.append({"kind": "notification_without_fence", "host": s["host"], "t": s["t"]})
    # fences of a host that had power (cut off or stalled long enough: allowed)
    bad = {(x["host"], x["t"]) for x in v if x["kind"] == "unjustified_fence"}
    healthy_fenced = [f for f in fences if f["target"] in names and (f["target"], f["start"]) not in bad
                      and state_at(timeline, f["start"])["powered"][f["target"]]]
    notified_once = 0
    for lo in losses:
        h, t_off, t_on = lo["host"], lo["t_off"], lo["t_on"] or t_end
        got = [s for s in ch if s["host"] == h and t_off <= s["t"] <= t_on + RECENT]
        lo["notifications"] = len(got)
        if len(got) != 1:
            v.append({"kind": f"power_loss_notified_{len(got)}", "host": h, "t": t_off})
        if got:
            lo["stored_after_s"] = round(got[0]["t"] - t_off, 3)
            ok = [f for f in fences if f["target"] == h and f["rc"] == 0 and f["start"] >= t_off and f["end"] <= got[0]["t"]]
            if not ok:
                v.append({"kind": "power_loss_notified_before_fence", "host": h, "t": got[0]["t"]})
            elif len(got) == 1:
                notified_once += 1
    return v, {"runs": runs, "notified_once": notified_once, "compute_host": len(ch),
               "powered_fenced": len(healthy_fenced)}
