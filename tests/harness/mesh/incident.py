#!/usr/bin/python3
"""incident.py VICTIM T0 [TIMEOUT] - what the mesh of start.sh (same
BASE) did about the failure of host VICTIM, which lost its power at unix time
T0 (what `node-ctl.sh VICTIM poweroff` prints), told for an operator, and
checked.

Waits up to TIMEOUT [30] s for Masakari to store a notification for VICTIM,
then until a backup notifier's duplicate would have been stored too (`query.py
takeover-wait` after the first: the agreement's takeover step with the
configured fence timeout), showing meanwhile when every other member recorded
the incident as done (its own `[notified]`, or `[completed] ... notified by X`).  Then prints, from the daemons' own outputs
(each one's events.jsonl mesh notes, `mimamorictl members`, BASE/fence.log,
Masakari's stored rows as `api.sh stored` gives them), with times relative to
T0: who saw VICTIM unreachable and when, the agreement (who declared it, the
observers, the majority), the fence, the notification and Masakari's row.

Exit status 0 when: exactly one notification for VICTIM was stored since T0
and none for any other host, COMPUTE_HOST with host_status NORMAL; exactly one
fence of VICTIM, successful, completed before Masakari stored the
notification; the one node that queued it is the one that fenced.  1 otherwise
(each failed check printed), 2 on usage errors.  The note texts are matched
loosely: a note this script does not recognise is skipped, not fatal.
"""
import json
import os
import re
import subprocess
import textwrap
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, HERE)
import query  # noqa: E402  (reads BASE/env.sh)

NAMES = query.NAMES
BOLD, RED, GREEN, RESET = ("\033[1m", "\033[31m", "\033[32m", "\033[0m") if sys.stdout.isatty() else ("",) * 4


def stored_rows(since):
    r = subprocess.run([os.path.join(HERE, "api.sh"), "stored"], capture_output=True, text=True,
                       env=dict(os.environ, BASE=query.BASE))
    try:
        rows = json.loads(r.stdout)
    except ValueError:
        return []
    return [x for x in rows if x.get("unix", 0) >= since]


def rel(t, t0):
    return f"{t - t0:+8.3f} s" if t is not None else "       ? s"


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in NAMES:
        sys.stderr.write(__doc__)
        return 2
    victim, t0 = sys.argv[1], float(sys.argv[2])
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    others = [n for n in NAMES if n != victim]
    deadline = t0 + timeout

    # ---- wait: stored, then as long as a backup's duplicate could take
    while time.time() < deadline and not any(r["host"] == victim for r in stored_rows(t0)):
        time.sleep(0.05)
    first = [r["unix"] for r in stored_rows(t0) if r["host"] == victim]
    if first:
        window = query.takeover_wait()
        print(f"stored at {rel(min(first), t0).strip()}; watching {window:.1f} s more for a duplicate "
              f"(a backup notifier's takeover: the agreement's step with the {victim} fence timeout)",
              flush=True)
        until = min(first) + window
        while time.time() < until:
            time.sleep(min(0.5, max(0.0, until - time.time())))
    waited = time.time() - t0

    rows = stored_rows(t0)
    mine = [r for r in rows if r["host"] == victim]
    fences = [f for f in query.fences() if f["target"] == victim and f["start"] >= t0]
    posted = {n: [p for p in query.posted(n) if p["hostname"] == victim and p["queued"] >= t0] for n in NAMES}
    posters = sorted(n for n, ps in posted.items() for _ in ps)

    # ---- the survivors' notes about VICTIM since T0
    v = re.escape(victim)
    pats = {
        "suspected": re.compile(rf"^{v} suspected by (\S+)"),
        "dead": re.compile(rf"^{v} dead \(declared by (\S+?)[,)]"),
        "observed": re.compile(rf"^observed {v} unreachable"),
        "declared": re.compile(rf"^\[declared\] {v} declared failed[^:]*:\s*(.*)"),
        "role": re.compile(rf"^\[(notifier|takeover)\] .*\b{v}\b:?\s*(.*)"),
        "fence": re.compile(rf"^\[fence\] fencing {v}\b"),
        "fenced": re.compile(rf"^\[(fenced|fence_failed)\] .*\b{v}\b"),
        "queued": re.compile(rf"^(\S+) notification for {v} queued as outbox (\d+)"),
        "notified": re.compile(rf"^\[notified\] .*\b{v}\b.*answered (\d+)"),
        "completed": re.compile(rf"^\[completed\] .*\b{v}\b.*notified by ([\w.-]+)"),
        "trouble": re.compile(rf"^\[(holding|cancelled|abandoned|fence_watchdog|takeover)\] .*\b{v}\b"),
    }
    seen = {k: [] for k in pats}   # key -> [(time, node, match)]
    for n in others:
        for e in query.mesh_events(n, t0):
            for k, rx in pats.items():
                m = rx.search(e["detail"])
                if m:
                    seen[k].append((e["time"], n, m, e["detail"]))
    for k in seen:
        seen[k].sort(key=lambda x: x[0])
    first = {k: (seen[k][0][0] if seen[k] else None) for k in seen}

    def line(t, text):
        print(f"  {rel(t, t0)}  {text}")

    print(f"{BOLD}who saw {victim} go{RESET} (each daemon's event log; t = 0: power lost)")
    s = seen["suspected"]
    if s:
        line(s[0][0], f"{s[0][2].group(1)} suspects it: no answer to its membership probe (SWIM)")
    firsts = {}
    for t, n, m, _ in seen["dead"]:
        firsts.setdefault(n, (t, m.group(1)))
    if firsts:
        by = sorted({b for _, b in firsts.values()})
        line(min(t for t, _ in firsts.values()),
             f"dead in the membership (declared by {', '.join(by)}): in the view of "
             + ", ".join(f"{n} at {t - t0:.3f} s" for n, (t, _) in sorted(firsts.items(), key=lambda x: x[1][0])))
    for t, n, _, _ in seen["observed"]:
        line(t, f"{n} observed {victim} unreachable: its own direct probe went unanswered")

    print(f"{BOLD}agreement{RESET}")
    evidence = []
    for t, n, m, _ in seen["declared"]:
        body = m.group(1)
        mn = re.search(r"notifier: (\S+) \(this node: ([^)]*)\)", body)
        line(t, f"{n} declares {victim} failed" + (f" (this node: {mn.group(2)})" if mn else ""))
        mm = re.search(r"unreachable for (\d+)/(\d+) members \(need (\d+)\)", body)
        mo = re.search(r"observers (\d+)/(\d+) \(need (\d+)\): ([^;]*)", body)
        ml = re.search(r"(\d+)/(\d+) live here", body)
        parts = []
        if mm:
            parts.append(f"unreachable for {mm.group(1)} of the {mm.group(2)} members (a majority: "
                         f"{mm.group(3)} needed)")
        if mo:
            obs = mo.group(4).split()
            parts.append(f"designated observers {', '.join(o.rstrip('+') for o in obs)}: {mo.group(1)} of "
                         f"{mo.group(2)} saw it unreachable themselves ({mo.group(3)} needed)")
        if ml:
            parts.append(f"{ml.group(1)} of {ml.group(2)} members live")
        if mn:
            parts.append(f"notifier: {mn.group(1)}")
        ev = "; ".join(parts) if parts else body
        if ev not in evidence:
            evidence.append(ev)
    for ev in evidence:
        print(textwrap.fill("evidence: " + ev, width=100, initial_indent=" " * 14, subsequent_indent=" " * 24))
    for t, n, m, d in seen["role"]:
        line(t, f"{n}: {d.split('] ', 1)[-1]}")
    for t, n, m, d in seen["trouble"]:
        if m.group(1) != "takeover":
            line(t, f"{n}: {d}")

    print(f"{BOLD}fence{RESET} (BASE/fence.log: the [fencing] command's own record)")
    rows_f = [(t, f"{n} starts fencing {victim}") for t, n, _, _ in seen["fence"]]
    rows_f += [(f["end"], f"{f['actor']} fence command done: exit {f['rc']} "
                f"({'fenced' if f['rc'] == 0 else 'FAILED'}), ran {(f['end'] - f['start']) * 1e3:.1f} ms")
               for f in fences]
    rows_f += [(t, f"{n}: {d}") for t, n, m, d in seen["fenced"] if m.group(1) != "fenced"]
    for t, text in sorted(rows_f, key=lambda x: x[0]):
        line(t, text)
    if not fences:
        print(f"  (no fence of {victim} in fence.log)")

    print(f"{BOLD}notification{RESET}")
    for n, ps in posted.items():
        for p in ps:
            line(p["queued"], f"{n} queues {p['type']} for {victim} in its durable outbox (id {p['id']})")
    for r in mine:
        p = r.get("payload") or {}
        line(r["unix"], f"Masakari stores it: notification {r['uuid']}")
        print(f"{'':14}Masakari's row: type {r['type']}, host {r['host']}, payload {json.dumps(p)}")
    for n, ps in posted.items():
        for p in ps:
            if p.get("answered"):
                line(p["answered"], f"Masakari answers {n}: HTTP {p['http_status']} ({p['result']})")
    for t, n, m, _ in seen["completed"]:
        line(t, f"{n} records the incident as done, notified by {m.group(1)}: it posts nothing itself")

    print(f"{BOLD}timings from the power loss{RESET}")
    tm = []
    for k, label in (("suspected", "suspected"), ("dead", "dead in membership"), ("observed", "observed unreachable"),
                     ("declared", "declared (agreement)")):
        if first[k] is not None:
            tm.append(f"{label} {first[k] - t0:.2f} s")
    if fences:
        tm.append(f"fence started {fences[0]['start'] - t0:.2f} s, done {fences[0]['end'] - t0:.2f} s")
    if mine:
        tm.append(f"stored by Masakari {mine[0]['unix'] - t0:.2f} s")
    print("  " + ", ".join(tm))

    # ---- checks
    bad = []
    checks = []

    def check(ok, text):
        checks.append((ok, text))
        if not ok:
            bad.append(text)

    check(len(mine) == 1, f"exactly one notification for {victim} stored (got {len(mine)}, "
                          f"waited {waited:.1f} s after the power loss)")
    check(not [r for r in rows if r["host"] != victim],
          "none for any other host" + (f" (got: {sorted(r['host'] for r in rows if r['host'] != victim)})"
                                       if [r for r in rows if r["host"] != victim] else ""))
    if mine:
        p = mine[0].get("payload") or {}
        check(mine[0]["type"] == "COMPUTE_HOST" and p.get("host_status") == "NORMAL",
              f"COMPUTE_HOST, host_status NORMAL (got {mine[0]['type']}, {p.get('host_status')})")
    check(len(fences) == 1 and fences[0]["rc"] == 0,
          f"{victim} fenced exactly once, successfully (fences: {[(f['actor'], f['rc']) for f in fences]})")
    if fences and mine:
        gap = (mine[0]["unix"] - fences[0]["end"]) * 1e3
        check(gap > 0, f"the fence completed before Masakari stored the notification "
                       f"({abs(gap):.1f} ms {'before' if gap > 0 else 'AFTER'})")
    check(posters == sorted(f["actor"] for f in fences) and len(posters) == 1,
          f"posted by one node, the one that fenced (posted by {posters or 'nobody'}, "
          f"fenced by {[f['actor'] for f in fences] or 'nobody'})")
    print(f"{BOLD}checks{RESET}")
    for ok, text in checks:
        print(f"  {GREEN + 'ok  ' if ok else RED + 'FAIL'}{RESET}  {text}")
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
