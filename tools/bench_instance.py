#!/usr/bin/python3
"""tools/bench instance: guest failure -> Masakari, mimamori vs masakari-instance-monitor.

Starts a real Masakari (Keystone mode, as production runs it), a real
libvirtd with one KVM guest, mimamorid and Debian's masakari-instancemonitor
side by side on the same libvirtd and the same API (each reports as its own
host, so neither answer is a duplicate of the other). Kills the guest's qemu
N times with SIGKILL and measures from the kill:
  - kill -> kernel event in mimamorid's user space, kill -> verdict;
  - kill -> notification stored by Masakari, for both monitors.
Masakari 14 truncates created_at to whole seconds, so "stored" is taken from
an SQLite trigger on Masakari's notifications table (millisecond clock).
After the kills, each monitor's footprint with the guest and libvirt
connected: RSS, PSS (/proc/PID/smaps_rollup), threads.
Env: BUILD [build], BENCH_STATE [a new $TMPDIR/mimamori-bench-instance.XXXXXX]. Masakari,
Keystone, the Nova stand-in and mimamorid's metrics listen on ports found
free at start; mimamorid's control socket is in the state directory.
"""
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARNESS = os.path.join(ROOT, "tests", "harness")
# tempfile honours TMPDIR; a directory of its own, so that two runs never share state
STATE = os.environ.get("BENCH_STATE") or tempfile.mkdtemp(prefix="mimamori-bench-instance.")
MIM_HOST, MM_HOST = "compute-mimamori", "compute-monitors"


def free_port():
    """A TCP port of 127.0.0.1 free now: tests/harness/run-id.sh's free_port (one copy)."""
    return int(subprocess.run(
        ["bash", "-c", '. "$1" && free_port', "-", os.path.join(ROOT, "tests/harness/run-id.sh")],
        check=True, capture_output=True, text=True, timeout=30).stdout)


def sh(cmd, env=None, check=True, capture=True):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(cmd, shell=True, env=e, text=True,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None)
    if check and r.returncode != 0:
        sys.exit(f"bench: command failed ({r.returncode}): {cmd}\n{r.stdout or ''}")
    return (r.stdout or "").strip()


def source_env(path):
    out = sh(f". {path} && env -0", capture=True)
    return dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)


def wait(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    sys.exit(f"bench: timed out waiting for {what}")


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    build = os.path.join(ROOT, os.environ.get("BUILD", "build"))
    mimamorid = os.path.join(build, "daemon", "mimamorid")
    killstamp = os.path.join(build, "tools", "killstamp")
    sh(f"rm -rf {STATE} && mkdir -p {STATE}")
    procs = []

    def cleanup():
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        sh(f"BASE={STATE}/libvirt {HARNESS}/libvirt/stop.sh", check=False)
        sh(f"BASE={STATE}/masakari {HARNESS}/masakari/stop.sh", check=False)

    try:
        print(f"starting Masakari (Keystone), libvirtd, mimamorid and masakari-instancemonitor in {STATE}",
              file=sys.stderr)
        sh(f"BASE={STATE}/masakari MODE=keystone ENGINE=none DEDUP_WINDOW=0 MASAKARI_PORT={free_port()} "
           f"KS_PORT={free_port()} NOVA_PORT={free_port()} {HARNESS}/masakari/start.sh")
        menv = source_env(f"{STATE}/masakari/env.sh")
        sh(f"BASE={STATE}/masakari {HARNESS}/masakari/add-host.sh bench-segment {MIM_HOST} {MM_HOST}")
        db = f"{STATE}/masakari/data/masakari.sqlite"
        with sqlite3.connect(db) as c:
            c.executescript("""
                CREATE TABLE IF NOT EXISTS bench_stored (uuid TEXT, host_uuid TEXT, unix REAL);
                CREATE TRIGGER IF NOT EXISTS bench_stored_at AFTER INSERT ON notifications BEGIN
                  INSERT INTO bench_stored VALUES (NEW.notification_uuid, NEW.source_host_uuid,
                    (julianday('now') - 2440587.5) * 86400.0);
                END;""")
            hosts = dict(c.execute("SELECT name, uuid FROM hosts WHERE deleted = 0"))
        sh(f"BASE={STATE}/libvirt GUESTS='bench1:qboot' {HARNESS}/libvirt/start.sh")
        lenv = source_env(f"{STATE}/libvirt/env.sh")
        uri = lenv["LIBVIRT_DEFAULT_URI"]
        os.makedirs(f"{STATE}/mimamorid")
        with open(f"{STATE}/mimamori.conf", "w") as f:
            f.write(f"[node]\nhostname = {MIM_HOST}\nstate_dir = {STATE}/mimamorid\n"
                    f"[masakari]\nauth_url = {menv['OS_AUTH_URL']}\nusername = {menv['OS_USERNAME']}\n"
                    f"password = {menv['OS_PASSWORD']}\nproject_name = {menv['OS_PROJECT_NAME']}\n"
                    f"[instance]\nlibvirt_uri = {uri}\n"
                    f"[control]\nsocket = {STATE}/control.sock\n"
                    f"[metrics]\nlisten = 127.0.0.1:{free_port()}\n")
        with open(f"{STATE}/masakarimonitors.conf", "w") as f:
            f.write(f"[DEFAULT]\nhostname = {MM_HOST}\n[libvirt]\nconnection_uri = {uri}\n"
                    f"[api]\nauth_url = {menv['OS_AUTH_URL']}\nusername = {menv['OS_USERNAME']}\n"
                    f"password = {menv['OS_PASSWORD']}\nproject_name = {menv['OS_PROJECT_NAME']}\n"
                    "user_domain_name = Default\nproject_domain_name = Default\nregion = RegionOne\n")
        procs.append(subprocess.Popen([mimamorid, "--config", f"{STATE}/mimamori.conf"],
                                      stdout=open(f"{STATE}/mimamorid.log", "w"), stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(["/usr/bin/masakari-instancemonitor", "--config-file",
                                       f"{STATE}/masakarimonitors.conf", "--log-file", f"{STATE}/instancemonitor.log"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        status = lambda: json.load(open(f"{STATE}/mimamorid/status.json"))
        wait(lambda: os.path.exists(f"{STATE}/mimamorid/status.json") and status()["libvirt"]["connected"],
             20, "mimamorid")
        time.sleep(3)  # masakari-instancemonitor has no readiness signal: give it time to subscribe
        virsh = f"LIBVIRT_DEFAULT_URI='{uri}' virsh -q"
        pidfile = f"{lenv['LIBVIRT_QEMU_PIDDIR']}/bench1.pid"
        rows = []
        # One more kill than measured: the first request after start pays
        # Masakari's (and the monitors') cold start; it is shown apart.
        for i in range(n + 1):
            sh(f"{virsh} start bench1")
            pid = int(open(pidfile).read())
            wait(lambda: pid in status()["guest_pids"], 10, "mimamorid to map the guest")
            time.sleep(0.5)  # both monitors idle before the kill
            with sqlite3.connect(db) as c:
                seen = c.execute("SELECT count(*) FROM bench_stored").fetchone()[0]
            kill_mono, kill_real = map(int, sh(f"{killstamp} {pid} 9").split())

            def stored():
                with sqlite3.connect(db) as c:
                    got = c.execute("SELECT host_uuid, unix FROM bench_stored LIMIT -1 OFFSET ?", (seen,)).fetchall()
                return got if {h for h, _ in got} >= {hosts[MIM_HOST], hosts[MM_HOST]} else None
            got = dict(wait(stored, 60, f"both notifications of kill {i}"))
            ev = None
            for line in open(f"{STATE}/mimamorid/events.jsonl"):
                e = json.loads(line)
                if e.get("verdict") == "guest_failed" and e.get("pid") == pid:
                    ev = e
            rows.append({
                "user": (ev["mono_ns"]["received"] - kill_mono) / 1e6,
                "verdict": (ev["mono_ns"]["verdict"] - kill_mono) / 1e6,
                "mim": got[hosts[MIM_HOST]] * 1e3 - kill_real / 1e6,
                "mm": got[hosts[MM_HOST]] * 1e3 - kill_real / 1e6,
            })
            print(f"kill {i:2d}/{n}{' (warm-up)' if i == 0 else ''}: kernel->user {rows[-1]['user']:.3f} ms, verdict {rows[-1]['verdict']:.3f} ms, "
                  f"stored: mimamori {rows[-1]['mim']:.1f} ms, masakari-instance-monitor {rows[-1]['mm']:.1f} ms",
                  file=sys.stderr)
            wait(lambda: sh(f"{virsh} domstate bench1") .startswith("shut off"), 10, "libvirt to see the guest stopped")
        foot = {name: footprint(p.pid) for name, p in zip(("mimamorid", "masakari-instancemonitor"), procs)}
    finally:
        cleanup()

    cold, rows = rows[0], rows[1:]

    def line(name, key):
        xs = [r[key] for r in rows]
        return f"| {name} | {pct(xs, 50):.2f} | {pct(xs, 99):.2f} | {max(xs):.2f} |"
    print(f"\n`tools/bench instance {n}`: {n} SIGKILLs of a KVM guest's qemu, Keystone mode, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs\n")
    print("| from the kill to ... (ms) | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(line("mimamori: kernel event in user space", "user"))
    print(line("mimamori: verdict", "verdict"))
    print(line("mimamori: notification stored by Masakari", "mim"))
    print(line("masakari-instance-monitor: notification stored by Masakari", "mm"))
    print(f"\nwarm-up kill (first after start, not in the table): stored after {cold['mim']:.1f} ms (mimamori), "
          f"{cold['mm']:.1f} ms (masakari-instance-monitor)")
    ratio = pct([r["mm"] for r in rows], 50) / pct([r["mim"] for r in rows], 50)
    print(f"\nmedian kill -> stored: mimamori is {ratio:.1f}x sooner than masakari-instance-monitor")
    print("\n| after the kills, libvirt connected | RSS (MiB) | PSS (MiB) | threads |")
    print("|---|---|---|---|")
    for name, (rss, pss, nth) in foot.items():
        print(f"| {name} | {rss / 1024:.1f} | {pss / 1024:.1f} | {nth} |")


def footprint(pid):
    """RSS and PSS (KiB) and threads of pid (its main process: the monitors run one)."""
    vals = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if v.strip().endswith("kB"):
                vals[k] = int(v.split()[0])
    return vals.get("Rss", 0), vals.get("Pss", 0), len(os.listdir(f"/proc/{pid}/task"))


if __name__ == "__main__":
    main()
