#!/usr/bin/python3
"""tools/bench host: host failure -> Masakari through the peer mesh.

Starts the mesh harness (tests/harness/mesh/start.sh): MESH_N [5] mimamorid,
each in its own network namespace on a bridge, with mutual TLS, fencing by a
command that only logs, and the real Masakari API (noauth) in a namespace of
its own. Then:
  1. idle: IDLE_S [30] s with every member alive: CPU per daemon (utime +
     stime from /proc/PID/stat), RSS, and mesh messages/s from each daemon's
     /metrics (mimamori_mesh_messages_total);
  2. N [20] emulated power losses (+1 warm-up, shown apart), each of the next
     node in turn: its link cut (veth down on the bridge) and its daemon
     SIGKILLed at once; measured from the cut: first DEAD in a survivor's
     view, first observation "unreachable", the agreement ([declared]), the
     fence command's start and end (its log), the notification queued, and
     the COMPUTE_HOST notification stored by Masakari (an SQLite trigger on
     its notifications table: created_at has whole seconds). Then the link is
     restored, the daemon restarted, and the next round waits for all alive;
  3. CPU per daemon over the whole run (each daemon process's utime + stime,
     read just before it is killed and at the end);
  4. the simulator's table for N = 100, 1,000, 10,000 members if
     build/tools/sim/mimamori-sim exists (SIM_TABLE: its --table argument;
     "" skips it; N = 10,000 needs ~12 GiB and ~10 min).
Env: BENCH_STATE [a new $TMPDIR/mimamori-bench-host.XXXXXX], MESH_N, IDLE_S, BUILD [build], SIM_TABLE.
"""
import datetime
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESH = os.path.join(ROOT, "tests", "harness", "mesh")
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
# tempfile honours TMPDIR; a directory of its own, so that two runs never share state
STATE = os.environ.get("BENCH_STATE") or tempfile.mkdtemp(prefix="mimamori-bench-host.")
MESH_N = int(os.environ.get("MESH_N", "5"))
IDLE_S = float(os.environ.get("IDLE_S", "30"))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def sh(cmd, env=None, check=True, capture=True):
    e = dict(os.environ)
    e["BASE"] = STATE
    e.update(env or {})
    r = subprocess.run(cmd, shell=True, env=e, text=True,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None)
    if check and r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {cmd}\n{r.stdout or ''}")
    return (r.stdout or "").strip()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def source_env(path):
    out = sh(f". {path} && env -0")
    return dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)


def proc_ticks(pid):
    """utime + stime (clock ticks) and RSS (bytes) of pid, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return None
    fields = st[st.rindex(")") + 2:].split()
    # fields[0] is state (field 3): utime = field 14, stime = 15, rss = 24
    return int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE


def metrics(env, name):
    """{metric line key: value} of NAME's /metrics (inside its namespace)."""
    ip = sh(f"awk -v n={name} '$1 == n {{print $2}}' {STATE}/nodes.list")
    out = sh(f"{MESH}/node-ctl.sh {name} exec curl -s --max-time 2 http://{ip}:9877/metrics", check=False)
    vals = {}
    for line in out.splitlines():
        if line.startswith("mimamori_mesh_"):
            k, _, v = line.rpartition(" ")
            try:
                vals[k] = float(v)
            except ValueError:
                pass
    return vals


def mesh_notes(name, since):
    out = []
    try:
        lines = open(f"{STATE}/nodes/{name}/state/events.jsonl").readlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("type") == "note" and e.get("what") == "mesh":
            t = parse_time(e["time"])
            if t >= since:
                out.append((t, e.get("detail", "")))
    return out


def daemon_pid(name):
    return int(sh(f"{MESH}/node-ctl.sh {name} pid"))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    mimamorid = os.path.join(BUILD, "daemon", "mimamorid")
    ctl = os.path.join(BUILD, "tools", "mimamorictl")
    log(f"bench host: starting a {MESH_N}-node mesh + Masakari in namespaces (state in {STATE})")
    sh(f"mkdir -p {STATE}")
    rows, cold, extra = [], None, {}
    cpu_run = {}        # name -> ticks of daemons already killed
    try:
        sh(f"{MESH}/start.sh", env={"N": str(MESH_N), "NS_PREFIX": "mimbench", "SUBNET": "10.77.11",
                                     "METRICS": "1", "STALE": "clean", "MIMAMORID": mimamorid,
                                     # this process owns the namespaces (the shell between exits)
                                     "RUN_OWNER": str(os.getpid()),
                                     "MIMAMORICTL": ctl, "WAIT_ALIVE": "60"})
        env = source_env(f"{STATE}/env.sh")
        names = env["MESH_NAMES"].split()
        db = env["MESH_MASAKARI_DB"]
        hosts = None
        with sqlite3.connect(db, timeout=30) as c:
            hosts = {u: nm for u, nm in c.execute("SELECT uuid, name FROM hosts WHERE deleted = 0")}

        # ---- 1. idle
        log(f"idle: {IDLE_S:.0f} s with all {MESH_N} alive")
        time.sleep(2)
        pids = {nm: daemon_pid(nm) for nm in names}
        t_a = time.monotonic()
        c_a = {nm: proc_ticks(p) for nm, p in pids.items()}
        m_a = {nm: metrics(env, nm) for nm in names}
        time.sleep(IDLE_S)
        t_b = time.monotonic()
        c_b = {nm: proc_ticks(p) for nm, p in pids.items()}
        m_b = {nm: metrics(env, nm) for nm in names}
        wall = t_b - t_a
        idle = {}
        for nm in names:
            k_sent = 'mimamori_mesh_messages_total{direction="sent"}'
            k_recv = 'mimamori_mesh_messages_total{direction="received"}'
            idle[nm] = {
                "cpu": (c_b[nm][0] - c_a[nm][0]) / TICK / wall * 100,
                "rss": c_b[nm][1] / 2**20,
                "sent": (m_b[nm].get(k_sent, 0) - m_a[nm].get(k_sent, 0)) / wall,
                "recv": (m_b[nm].get(k_recv, 0) - m_a[nm].get(k_recv, 0)) / wall,
            }
        extra["metrics_seen"] = any(m_b.values())

        # ---- 2. power losses
        run_t0 = time.monotonic()
        for i in range(n + 1):
            victim = names[i % len(names)]
            sh(f"{sys.executable} {MESH}/query.py wait-alive 60")
            time.sleep(1.0)   # settle: every view fresh
            with sqlite3.connect(db, timeout=30) as c:
                seen = c.execute("SELECT count(*) FROM mesh_stored").fetchone()[0]
            pid = daemon_pid(victim)
            ticks = proc_ticks(pid)
            veth = sh(f"awk -v n={victim} '$1 == n {{print $4}}' {STATE}/nodes.list")
            t0 = time.time()
            subprocess.run(["ip", "-n", env["MESH_HUB_NS"], "link", "set", veth, "down"], check=True)
            os.kill(pid, signal.SIGKILL)
            t_kill = time.time()
            cpu_run[victim] = cpu_run.get(victim, 0) + (ticks[0] if ticks else 0)

            def stored():
                with sqlite3.connect(db, timeout=30) as c:
                    got = c.execute("SELECT host_uuid, unix FROM mesh_stored LIMIT -1 OFFSET ?", (seen,)).fetchall()
                return [u for h, u in got if hosts.get(h) == victim]
            end = time.monotonic() + 30
            got = []
            while time.monotonic() < end and not got:
                got = stored()
                time.sleep(0.01)
            if not got:
                raise RuntimeError(f"round {i}: no notification for {victim} within 30 s")
            time.sleep(1.5)   # a duplicate would come from a backup by now
            got = stored()
            r = {"victim": victim, "cut_to_kill": (t_kill - t0) * 1e3, "stored": (got[0] - t0) * 1e3,
                 "notifications": len(got)}
            first = {}
            for nm in names:
                if nm == victim:
                    continue
                for t, d in mesh_notes(nm, t0):
                    for key, rx in (("dead", rf"^{victim} dead \(declared by"),
                                    ("observed", rf"^observed {victim} unreachable"),
                                    ("declared", rf"^\[declared\] {victim} declared failed"),
                                    ("queued", rf"^COMPUTE_HOST notification for {victim} queued")):
                        if re.search(rx, d) and (key not in first or t < first[key]):
                            first[key] = t
            for key, t in first.items():
                r[key] = (t - t0) * 1e3
            fences = []
            for line in open(f"{STATE}/fence.log"):
                f = line.split()
                if len(f) == 5 and f[3] == victim and float(f[0]) >= t0:
                    fences.append((float(f[0]), float(f[1])))
            if fences:
                r["fence_start"] = (fences[0][0] - t0) * 1e3
                r["fence_end"] = (fences[0][1] - t0) * 1e3
            r["fences"] = len(fences)
            log(f"loss {i:2d}/{n}{' (warm-up)' if i == 0 else ''} {victim}: dead {r.get('dead', float('nan')):.0f} ms, "
                f"declared {r.get('declared', float('nan')):.0f} ms, fence {r.get('fence_start', float('nan')):.0f} ms, "
                f"stored {r['stored']:.0f} ms ({len(got)} notification(s), {len(fences)} fence(s))")
            if i == 0:
                cold = r
            else:
                rows.append(r)
            sh(f"{MESH}/node-ctl.sh {victim} poweron")
        run_wall = time.monotonic() - run_t0
        for nm in names:
            t = proc_ticks(daemon_pid(nm))
            cpu_run[nm] = cpu_run.get(nm, 0) + (t[0] if t else 0)
        extra["run_wall"] = run_wall
    finally:
        log("stopping the mesh")
        sh(f"{MESH}/stop.sh", check=False)

    # ---- report
    print(f"\n`tools/bench host {n}`: {n} emulated power losses (link cut + SIGKILL) in a "
          f"{MESH_N}-node mesh, real processes in network namespaces, tls+tcp, Masakari noauth, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs\n")
    print("| from the link cut to ... (ms) | p50 | p99 | max | n |")
    print("|---|---|---|---|---|")
    for key, label in (("dead", "first DEAD in a survivor's view (SWIM)"),
                       ("observed", "first observation \"unreachable\" (agreement probe)"),
                       ("declared", "agreement: first [declared]"),
                       ("fence_start", "fence command started"),
                       ("fence_end", "fence command done"),
                       ("queued", "notification queued (outbox)"),
                       ("stored", "COMPUTE_HOST stored by Masakari")):
        xs = [r[key] for r in rows if key in r]
        if xs:
            print(f"| {label} | {pct(xs, 50):.0f} | {pct(xs, 99):.0f} | {max(xs):.0f} | {len(xs)} |")
    dup = sum(r["notifications"] - 1 for r in rows)
    fen = [r["fences"] for r in rows]
    print(f"\nnotifications per loss: exactly one in {sum(r['notifications'] == 1 for r in rows)}/{len(rows)} "
          f"({dup} extra); fences per loss: {min(fen)}-{max(fen)}; cut -> SIGKILL "
          f"{pct([r['cut_to_kill'] for r in rows], 50):.1f} ms (p50)")
    if cold:
        print(f"warm-up loss (first, not in the table): stored after {cold['stored']:.0f} ms")
    print(f"\nidle, all {MESH_N} alive, {IDLE_S:.0f} s:\n")
    print("| daemon | CPU (% of a core) | RSS (MiB) | mesh messages sent/s | received/s |")
    print("|---|---|---|---|---|")
    for nm, v in idle.items():
        print(f"| {nm} | {v['cpu']:.2f} | {v['rss']:.1f} | {v['sent']:.1f} | {v['recv']:.1f} |")
    if not extra.get("metrics_seen"):
        print("\n(no mimamori_mesh_* metrics were served: message rates unavailable)")
    print(f"\nwhole run ({extra['run_wall']:.0f} s, {n + 1} losses and restarts), CPU per node "
          "(all its daemon processes, % of a core): " +
          ", ".join(f"{nm} {cpu_run[nm] / TICK / extra['run_wall'] * 100:.2f}" for nm in sorted(cpu_run)))

    sim = os.path.join(BUILD, "tools", "sim", "mimamori-sim")
    # A crash at 5 % loss; pre-converged start (a 10,000-node warm-up by
    # gossip alone takes far too long). N = 10,000 needs ~12 GiB and ~10
    # minutes on 2 cores (docs/BENCHMARKS.md); SIM_TABLE="" skips it all.
    table = os.environ.get("SIM_TABLE", "100:3,1000:1,10000:1")
    if not table:
        return
    args = ["--scenario", "crash", "--loss", "0.05", "--fence-delay", "0.01", "--converged",
            "--duration", "15", "--table", table]
    print(f"\nsimulator (mimamori-sim {' '.join(args)}):\n")
    if os.access(sim, os.X_OK):
        r = subprocess.run([sim] + args, text=True, capture_output=True)
        print(r.stdout.rstrip() or f"(no output; exit {r.returncode}: {r.stderr.strip()[:500]})")
    else:
        print(f"skipped: no {os.path.relpath(sim, ROOT)} (the simulator is not built)")


if __name__ == "__main__":
    main()
