#!/usr/bin/python3
"""tools/bench safety: the nemesis (issue 10, "Proof, beyond examples").

Starts the mesh harness (tests/harness/mesh/start.sh: 5 mimamorid in network
namespaces, mutual TLS, fencing by a command that only logs, the real
Masakari API), then runs seeded random fault schedules
(tests/harness/mesh/nemesis.py: partitions, outage and staggered heal,
flapping, loss, SIGKILL + restart, SIGSTOP, members-file drift, power
losses) until --minutes have passed (or --schedules ran). After each
schedule everything is healed, power losses are powered on once notified,
and the next waits until every daemon sees all alive. The checker (the
ground truth from the schedule) then judges every fence in fence.log and
every COMPUTE_HOST stored by Masakari: no fence or notification for a host
that a majority could reach, every power loss notified exactly once, after
its fence. Prints a table, writes the JSON (--json, default
STATE/safety.json), exits 1 on a violation or a harness error.

  bench_safety.py [--minutes M | --schedules K] [--seed S] [--first I]
                  [--kinds k1,k2,...] [--json PATH]
Schedule I of seed S is random.Random(f"{S}:{I}"): `--seed S --first I
--schedules 1` replays it alone.
Env: BENCH_STATE [a new $TMPDIR/mimamori-bench-safety.XXXXXX], BUILD [build],
MIMAMORID, MIMAMORICTL (default: BUILD's), SUBNET [10.77.13].
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESH = os.path.join(ROOT, "tests", "harness", "mesh")
sys.path.insert(0, MESH)
import nemesis  # noqa: E402

BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))


def sh(cmd, env, timeout=300, check=True):
    e = dict(os.environ)
    e.update(env)
    r = subprocess.run(cmd, env=e, text=True, capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"step failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r


def source_env(path):
    out = subprocess.run(["bash", "-c", f". '{path}' && env -0"], capture_output=True, text=True).stdout
    return dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)


def wait_stored(db, host, since, deadline):
    while time.time() < deadline:
        if any(s["host"] == host and s["type"] == "COMPUTE_HOST" and s["t"] >= since
               for s in nemesis.read_stored(db)):
            return True
        time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--schedules", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--kinds", default=",".join(nemesis.KINDS))
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    kinds = [k for k in a.kinds.split(",") if k]
    bad = [k for k in kinds if k not in nemesis.KINDS]
    if bad or not kinds:
        ap.error(f"unknown kinds {bad}; known: {','.join(nemesis.KINDS)}")
    if a.minutes is None and a.schedules is None:
        a.minutes = 30.0
    seed = a.seed if a.seed is not None else int(time.time()) % 100000
    state = os.environ.get("BENCH_STATE") or tempfile.mkdtemp(prefix="mimamori-bench-safety.")
    os.makedirs(state, exist_ok=True)
    out_json = a.json or os.path.join(state, "safety.json")
    mimamorid = os.environ.get("MIMAMORID") or os.path.join(BUILD, "daemon", "mimamorid")
    ctl = os.environ.get("MIMAMORICTL") or os.path.join(BUILD, "tools", "mimamorictl")
    menv = {"BASE": state}
    nemesis.log(f"seed {seed}, kinds {','.join(kinds)}, "
                f"{f'{a.minutes} min' if a.minutes is not None else f'{a.schedules} schedules'}, state in {state}")
    results = {"seed": seed, "kinds": kinds, "first": a.first, "schedules": [], "errors": [],
               "window_s": nemesis.W, "recent_s": nemesis.RECENT, "mimamorid": mimamorid}
    losses, mesh, t_begin = [], None, time.time()
    rc = 0
    try:
        sh([f"{MESH}/start.sh"], {**menv, "N": "5", "NS_PREFIX": "mimsafe",
                                   "SUBNET": os.environ.get("SUBNET", "10.77.13"), "STALE": "clean",
                                   "MIMAMORID": mimamorid, "MIMAMORICTL": ctl, "WAIT_ALIVE": "60",
                                   "FENCE_TIMEOUT": "5",
                                   "RUN_OWNER": str(os.getpid())}, timeout=300)
        env = source_env(f"{state}/env.sh")
        db = env["MESH_MASAKARI_DB"]
        mesh = nemesis.Mesh(state, env)
        names = mesh.names
        end = time.time() + a.minutes * 60 if a.minutes is not None else None
        i = a.first
        while True:
            if a.schedules is not None and i - a.first >= a.schedules:
                break
            if end is not None and time.time() >= end:
                break
            rng = random.Random(f"{seed}:{i}")
            eps = nemesis.make_schedule(rng, names, kinds)
            nemesis.log(f"schedule {i} (seed {seed}:{i}): " + "; ".join(f"@{e['start']}s {e['desc']}" for e in eps))
            t0 = time.time() + 0.2
            cuts = mesh_cuts = nemesis.run_schedule(mesh, eps, t0)
            t_faults = time.time()
            mesh.heal()
            t_heal = time.time()
            sched_losses = []
            for h, t_off in mesh_cuts.items():
                ok = wait_stored(db, h, t_off, time.time() + nemesis.POWER_WAIT)
                if not ok:
                    nemesis.log(f"  {h}: no COMPUTE_HOST within {nemesis.POWER_WAIT:.0f}s of the heal")
                time.sleep(1.0)
                mesh.op("poweron", (h,), "power")
                sched_losses.append({"host": h, "t_off": t_off, "t_on": time.time(), "schedule": i})
            losses += sched_losses
            r = sh([sys.executable, f"{MESH}/query.py", "wait-alive", "60"], menv, timeout=90, check=False)
            alive = r.returncode == 0
            if not alive:
                mesh.errors.append(f"schedule {i}: not all alive 60 s after the heal: {r.stderr.strip()[-600:]}")
                nemesis.log(f"  ERROR: not all alive 60 s after the heal")
            time.sleep(1.0)
            results["schedules"].append({"index": i, "seed": f"{seed}:{i}", "t0": t0, "t_faults_done": t_faults,
                                         "t_heal": t_heal, "t_end": time.time(), "all_alive_after": alive,
                                         "episodes": [{"kind": e["kind"], "start": e["start"], "desc": e["desc"],
                                                       "ops": e["ops"]} for e in eps],
                                         "power_losses": [l["host"] for l in sched_losses]})
            fences = [f for f in nemesis.read_fences(state) if f["start"] >= t0]
            stored = [s for s in nemesis.read_stored(db) if s["t"] >= t0 and s["type"] == "COMPUTE_HOST"]
            nemesis.log(f"  done in {time.time() - t0:.1f}s: {len(fences)} fence(s) "
                        f"{[f['target'] for f in fences]}, {len(stored)} COMPUTE_HOST {[s['host'] for s in stored]}")
            i += 1
        # a late duplicate (a backup's takeover) would come within the takeover step
        tw = float(sh([sys.executable, f"{MESH}/query.py", "takeover-wait"], menv, timeout=30).stdout.strip())
        nemesis.log(f"waiting {tw:.0f} s for late fences and notifications (a backup's takeover step)")
        time.sleep(tw)
    except Exception as exc:
        results["errors"].append(f"harness: {exc}")
        nemesis.log(f"ERROR: {exc}")
        rc = 1
    finally:
        t_end = time.time()
        if mesh is not None:
            try:
                results["fences"] = nemesis.read_fences(state)
                results["stored"] = nemesis.read_stored(source_env(f"{state}/env.sh")["MESH_MASAKARI_DB"])
            except Exception as exc:
                results["errors"].append(f"reading the results: {exc}")
                results.setdefault("fences", [])
                results.setdefault("stored", [])
        nemesis.log("stopping the mesh")
        subprocess.run([f"{MESH}/stop.sh"], env={**os.environ, **menv}, capture_output=True, timeout=300)
    if mesh is None:
        print(json.dumps(results, indent=1))
        return 1
    results["errors"] += mesh.errors
    san = []
    for n in mesh.names:
        try:
            with open(os.path.join(state, "nodes", n, "daemon.log"), errors="replace") as f:
                for line in f:
                    if "Sanitizer" in line or "runtime error:" in line:
                        san.append(f"{n}: {line.strip()[:200]}")
        except FileNotFoundError:
            pass
    results["sanitizer_reports"] = san
    viol, extra = nemesis.check(mesh.timeline, mesh.names, results["fences"],
                                [s for s in results["stored"] if s["t"] >= t_begin], losses, t_end)
    scheds = results["schedules"]
    for v in viol:
        v["schedule"] = next((s["seed"] for s in reversed(scheds) if s["t0"] - 0.2 <= v["t"]), None)
    results["violations"] = viol
    results["power_losses"] = losses
    results["separated"] = {h: [(round(x, 3), round(y, 3)) for x, y in r] for h, r in extra["runs"].items()}
    results["timeline"] = [(t, {k: (sorted(map(sorted, v)) if k == "blocked" else v) for k, v in st.items()})
                           for t, st in mesh.timeline]
    with open(out_json, "w") as f:
        json.dump(results, f, indent=1, default=str)

    by_kind = {}
    for s in scheds:
        for e in s["episodes"]:
            by_kind[e["kind"]] = by_kind.get(e["kind"], 0) + 1
    fences_all = [f for f in results["fences"] if f["start"] >= t_begin]
    print(f"\n`tools/bench safety`: seed {seed}, {len(scheds)} schedules (first {a.first}) in "
          f"{(t_end - t_begin) / 60:.1f} min, 5 mimamorid in network namespaces, tls+tcp, Masakari noauth, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs\n")
    print("| faults injected (episodes) | " + " | ".join(nemesis.KINDS) + " |")
    print("|---|" + "---|" * len(nemesis.KINDS))
    print("| count | " + " | ".join(str(by_kind.get(k, 0)) for k in nemesis.KINDS) + " |")
    print(f"\n| schedules | power losses | notified exactly once, after a fence | fences | COMPUTE_HOST stored | violations |")
    print("|---|---|---|---|---|---|")
    print(f"| {len(scheds)} | {len(losses)} | {extra['notified_once']} | {len(fences_all)} | "
          f"{extra['compute_host']} | {len(viol)} |")
    print(f"\nfences of a host that had power (cut off from a majority, or stalled, for a whole "
          f"window: allowed): {extra['powered_fenced']}")
    stored_after = [l["stored_after_s"] for l in losses if "stored_after_s" in l]
    if stored_after:
        stored_after.sort()
        print(f"\npower loss -> COMPUTE_HOST stored: median {stored_after[len(stored_after) // 2]:.2f} s, "
              f"max {stored_after[-1]:.2f} s (includes the time until a majority existed again)")
    if viol:
        print("\nviolations:")
        for v in viol:
            s = next((x for x in scheds if x["seed"] == v["schedule"]), None)
            desc = "; ".join(f"@{e['start']}s {e['desc']}" for e in s["episodes"]) if s else "?"
            print(f"- {v['kind']} {v['host']} at +{v['t'] - s['t0'] if s else 0:.2f}s"
                  f"{' by ' + v['actor'] if 'actor' in v else ''}: schedule {v['schedule']}: {desc}")
    if results["errors"]:
        print("\nharness errors:")
        for e in results["errors"]:
            print(f"- {e}")
    if san:
        print("\nsanitizer reports:")
        for s in san[:20]:
            print(f"- {s}")
    print(f"\nJSON: {out_json}")
    return 1 if (viol or results["errors"] or san or rc) else 0


if __name__ == "__main__":
    sys.exit(main())
