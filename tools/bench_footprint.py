#!/usr/bin/python3
"""tools/bench footprint: what an idle mimamorid costs its node.

Two runs of the mesh harness (tests/harness/mesh/start.sh, real daemons in
network namespaces, eBPF probe, /metrics and the control socket on):
  1. mesh off: one daemon, [mesh] enabled = false;
  2. a 5-node mesh: five daemons meshed over mutual TLS, all alive.
No Masakari runs (idle daemons post nothing; the notifier's HTTP client is
set up all the same) and libvirt is not connected (its library is loaded,
its connection retried with backoff): the harness's daemon, as in
tools/bench host.
After SETTLE_S [5] s, for IDLE_S [30] s: idle CPU (utime + stime, % of one
core), then RSS and PSS (/proc/PID/smaps_rollup), threads by name
(/proc/PID/task/*/comm) and, with --detail, where the resident memory is:
every mapping of /proc/PID/smaps attributed to a thread's stack (the mapping
holding the stack pointer of /proc/PID/task/TID/syscall), a malloc arena
(an anonymous mapping inside a 64 MiB-aligned heap reservation: glibc's
HEAP_MAX_SIZE), the main heap, the BPF maps, or a file (libraries).
Env: BUILD [build], BENCH_STATE [a new $TMPDIR dir], SETTLE_S, IDLE_S,
PROBE [ebpf], MESH_N [5].  Needs root.  With --detail, exits 1 if a thread
other than the main one runs on a stack over os/threads.h's THREAD_STACK_SIZE.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESH = os.path.join(ROOT, "tests", "harness", "mesh")
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
STATE = os.environ.get("BENCH_STATE") or tempfile.mkdtemp(prefix="mimamori-bench-footprint.")
SETTLE_S = float(os.environ.get("SETTLE_S", "5"))
IDLE_S = float(os.environ.get("IDLE_S", "30"))
PROBE = os.environ.get("PROBE", "ebpf")
MESH_N = int(os.environ.get("MESH_N", "5"))
TICK = os.sysconf("SC_CLK_TCK")
HEAP_MAX = 64 << 20     # glibc's HEAP_MAX_SIZE on 64-bit: a non-main arena's reservation
STACK_KIB = 256         # os/threads.h THREAD_STACK_SIZE: every thread but the main one


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, base, env=None, check=True):
    e = dict(os.environ, BASE=base, **(env or {}))
    r = subprocess.run(cmd, shell=True, env=e, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if check and r.returncode != 0:
        raise RuntimeError(f"step failed ({r.returncode}): {cmd}\n{r.stdout[-3000:]}")
    return r.stdout.strip()


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def threads(pid):
    """[(tid, name, stack pointer or None)]"""
    out = []
    for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            sc = open(f"/proc/{pid}/task/{tid}/syscall").read().split()
            sp = int(sc[-2], 16) if len(sc) >= 3 else None
        except OSError:
            continue
        out.append((int(tid), name, sp))
    return out


def mappings(pid):
    """[(start, end, perms, path, {field: kB})] from /proc/PID/smaps"""
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cur = (int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4).strip(), {})
                maps.append(cur)
                continue
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m and cur:
                cur[4][m.group(1)] = int(m.group(2))
    return maps


def breakdown(pid):
    """{category: [mappings, size kB, Rss kB, Pss kB]} and the stacks by thread."""
    ths = threads(pid)
    maps = mappings(pid)
    cats, stacks = {}, []

    def add(cat, mp):
        c = cats.setdefault(cat, [0, 0, 0, 0])
        c[0] += 1
        c[1] += (mp[1] - mp[0]) >> 10
        c[2] += mp[4].get("Rss", 0)
        c[3] += mp[4].get("Pss", 0)

    # arenas: a non-main arena's heap starts at a HEAP_MAX-aligned address
    # and is followed by its PROT_NONE rest up to HEAP_MAX
    arena_bases = {mp[0] for mp in maps if not mp[3] and mp[0] % HEAP_MAX == 0}
    for mp in maps:
        start, end, perms, path, f = mp
        owner = [t for t in ths if t[2] is not None and start <= t[2] < end]
        if owner:
            stacks.append((owner[0][1], owner[0][0], (end - start) >> 10, f.get("Rss", 0),
                           path == "[stack]"))
            add("thread stacks" if path != "[stack]" else "main thread stack", mp)
        elif path == "[heap]":
            add("main heap (brk)", mp)
        elif not path and (start - start % HEAP_MAX) in arena_bases:
            add("malloc arenas (threads' heaps)", mp)
        elif not path and perms.startswith("---p"):
            add("guard pages, reservations", mp)
        elif "bpf" in path:
            add("BPF maps (ring buffer)", mp)
        elif path.startswith("/") and not path.startswith("/memfd"):
            lib = os.path.basename(path)
            lib = re.sub(r"\.so[.\d]*$", "", lib)
            add(f"file: {lib}", mp)
        elif path in ("[vdso]", "[vvar]", "[vsyscall]", "[vvar_vclock]"):
            add("vdso", mp)
        else:
            add("other anonymous (mmap'd buffers, large allocations)", mp)
    return cats, stacks


def task_ticks(pid):
    """{thread name: utime + stime ticks} over the threads of pid"""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            out[name] = out.get(name, 0) + ticks(f"{pid}/task/{tid}")
        except OSError:
            pass
    return out


def measure(base, names, detail):
    pids = {nm: int(sh(f"{MESH}/node-ctl.sh {nm} pid", base)) for nm in names}
    time.sleep(SETTLE_S)
    t_a, c_a = time.monotonic(), {nm: ticks(p) for nm, p in pids.items()}
    k_a = {nm: task_ticks(p) for nm, p in pids.items()}
    time.sleep(IDLE_S)
    t_b, c_b = time.monotonic(), {nm: ticks(p) for nm, p in pids.items()}
    k_b = {nm: task_ticks(p) for nm, p in pids.items()}
    rows = []
    for nm, p in pids.items():
        r = rollup(p)
        ths = threads(p)
        by_name = {}
        for _, tn, _ in ths:
            by_name[tn] = by_name.get(tn, 0) + 1
        row = {"name": nm, "pid": p, "cpu": (c_b[nm] - c_a[nm]) / TICK / (t_b - t_a) * 100,
               "rss": r.get("Rss", 0), "pss": r.get("Pss", 0), "anon": r.get("Anonymous", 0),
               "pss_anon": r.get("Pss_Anon", 0), "pss_file": r.get("Pss_File", 0),
               "threads": len(ths), "by_name": by_name,
               "cpu_by_name": {tn: (k_b[nm].get(tn, 0) - k_a[nm].get(tn, 0)) / TICK / (t_b - t_a) * 100
                               for tn in k_b[nm]}}
        if detail:
            row["cats"], row["stacks"] = breakdown(p)
        rows.append(row)
    return rows


def run(label, n, mesh, detail):
    base = os.path.join(STATE, label.replace(" ", "-"))
    os.makedirs(base, exist_ok=True)
    env = {"N": str(n), "MESH": "1" if mesh else "0", "MASAKARI": "0", "METRICS": "1",
           "PROBE": PROBE, "NS_PREFIX": "mimfoot", "SUBNET": "10.77.13", "STALE": "clean",
           "RUN_OWNER": str(os.getpid()), "WAIT_ALIVE": "60" if mesh else "0",
           "MIMAMORID": os.path.join(BUILD, "daemon", "mimamorid"),
           "MIMAMORICTL": os.path.join(BUILD, "tools", "mimamorictl")}
    log(f"footprint: {label}: starting {n} daemon(s) (state in {base})")
    try:
        sh(f"timeout 300 {MESH}/start.sh", base, env)
        names = [f"mesh-n{i}" for i in range(1, n + 1)]
        log(f"footprint: {label}: settle {SETTLE_S:.0f} s, idle {IDLE_S:.0f} s")
        return measure(base, names, detail)
    finally:
        sh(f"timeout 120 {MESH}/stop.sh", base, check=False)


def mib(kb):
    return kb / 1024


def main():
    detail = "--detail" in sys.argv[1:]
    results = [("mesh off", run("mesh off", 1, False, detail)),
               (f"{MESH_N}-node mesh", run(f"{MESH_N}-node mesh", MESH_N, True, detail))]
    print(f"\n`tools/bench footprint`: idle mimamorid ({os.path.relpath(BUILD, ROOT)}), probe {PROBE}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, idle CPU over {IDLE_S:.0f} s\n")
    print("| run | daemon | RSS (MiB) | PSS (MiB) | anonymous (MiB) | threads | idle CPU (% of a core) |")
    print("|---|---|---|---|---|---|---|")
    for label, rows in results:
        for r in rows:
            print(f"| {label} | {r['name']} | {mib(r['rss']):.1f} | {mib(r['pss']):.1f} | "
                  f"{mib(r['anon']):.1f} | {r['threads']} | {r['cpu']:.2f} |")
    for label, rows in results:
        r = rows[0]
        print(f"\n{label}, {r['name']}: threads: " +
              ", ".join(f"{k} x{v}" if v > 1 else k for k, v in sorted(r["by_name"].items())))
        print(f"{label}, {r['name']}: idle CPU by thread name (% of a core): " +
              ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["cpu_by_name"].items(), key=lambda kv: -kv[1])))
        if not detail:
            continue
        print(f"\n| {label}, {r['name']}: mappings | count | size (KiB) | RSS (KiB) | PSS (KiB) |")
        print("|---|---|---|---|---|")
        for cat, (cnt, size, rss, pss) in sorted(r["cats"].items(), key=lambda kv: -kv[1][2]):
            if rss or cnt > 1:
                print(f"| {cat} | {cnt} | {size} | {rss} | {pss} |")
        print(f"\n| {label}, {r['name']}: thread | tid | stack mapping (KiB) | stack resident (KiB) |")
        print("|---|---|---|---|")
        for tn, tid, size, rss, _ in sorted(r["stacks"], key=lambda s: s[1]):
            print(f"| {tn} | {tid} | {size} | {rss} |")
    # the bound of os/threads.h, on every thread of every daemon measured
    over = [(label, r["name"], tn, tid, size) for label, rows in results for r in rows
            for tn, tid, size, _, main_stack in r.get("stacks", []) if not main_stack and size > STACK_KIB]
    for label, nm, tn, tid, size in over:
        print(f"footprint: {label}, {nm}: thread {tn} ({tid}) on a {size} KiB stack, over "
              f"THREAD_STACK_SIZE ({STACK_KIB} KiB): created without os/threads.h's bound", file=sys.stderr)
    if over:
        sys.exit(1)


if __name__ == "__main__":
    main()
