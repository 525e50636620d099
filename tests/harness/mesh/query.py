#!/usr/bin/python3
"""query.py ACTION [ARGS] - what the mesh of start.sh (same BASE) sees and did.

  views [NAME...]               each daemon's view of the members, one line each
  wait-alive TIMEOUT [NAME...]  wait until each listed daemon [all] sees every
                                configured member ALIVE (exit 1 on timeout,
                                with the views on stderr)
  alive NAME                    the members NAME's daemon holds ALIVE
  state OBSERVER MEMBER         MEMBER's state in OBSERVER's view (ALIVE, DEAD...)
  posted [NAME...]              JSON {node: [{id, type, hostname, queued, result,
                                http_status}]}: the notifications each daemon
                                queued, from its event log
  fences                        JSON list of {start, end, actor, target, rc}
  mesh-events NAME [SINCE]      JSON list of the mesh notes in NAME's events.jsonl
                                ({time (unix s), detail}), after unix time SINCE
  takeover-wait                 seconds after a stored notification within which
                                a backup notifier's duplicate would be stored
                                (from the nodes' [fencing] and [masakari] timeouts)
Reads BASE/env.sh; talks to the daemons through mimamorictl --json.
"""
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_env():
    base = os.environ.get("BASE") or os.environ.get("MESH_BASE") or \
        os.path.join(os.environ.get("TMPDIR", "/tmp"), "mimamori-mesh-" + os.environ.get("USER", "root"))
    path = os.path.join(base, "env.sh")
    if not os.path.exists(path):
        sys.exit(f"query.py: no {path}: run start.sh first (same BASE)")
    out = subprocess.run(["bash", "-c", f". '{path}' && env -0"], capture_output=True, text=True).stdout
    env = dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)
    return base, env


BASE, ENV = load_env()
NAMES = ENV["MESH_NAMES"].split()
CTL = ENV["MESH_MIMAMORICTL"]


def ctl(name, *args, timeout_ms=1500):
    sock = os.path.join(BASE, "nodes", name, "control.sock")
    r = subprocess.run([CTL, "--socket", sock, "--timeout", str(timeout_ms), "--json", *args],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def view(name):
    """{member: state} as NAME's daemon sees it (`mimamorictl members`); None
    when it does not answer, or answers with an error (its mesh is off)."""
    d = ctl(name, "members")
    if d is None:
        return None
    out = {}
    for m in d.get("members", []):
        out[m.get("name")] = m.get("state", "MEMBER_STATE_UNKNOWN").replace("MEMBER_STATE_", "")
    return out


# The agreement's timing (mesh/agreement.c, agreement_config_default; the
# daemon sets only the fence timeout, from [fencing] timeout): a backup
# notifier takes over a notifier it no longer hears from takeover_step =
# claim_settle + fence_timeout + notify_timeout after the last progress it
# heard, and the notifier re-sends its progress every resend_interval.
AGR_CLAIM_SETTLE_S = 0.1
AGR_NOTIFY_TIMEOUT_S = 30.0
AGR_RESEND_INTERVAL_S = 1.0


def conf_value(name, section, key):
    """KEY of [SECTION] in NAME's mimamori.conf (what start.sh wrote), or None."""
    import configparser
    c = configparser.ConfigParser(interpolation=None)
    c.read(os.path.join(BASE, "nodes", name, "mimamori.conf"))
    return c.get(section, key, fallback=None)


def takeover_wait():
    """Seconds after a notification was stored within which a backup's
    duplicate would be stored: the takeover step with the configured
    [fencing] timeout, a resend interval, and the backup's own POST
    ([masakari] timeout). Judging "exactly one notification" earlier proves
    nothing about the backups."""
    def each(section, key):
        vals = [conf_value(n, section, key) for n in NAMES]
        if None in vals:
            sys.exit(f"query.py: [{section}] {key} missing from a node's mimamori.conf")
        return max(float(v) for v in vals)
    fence, post = each("fencing", "timeout"), each("masakari", "timeout")
    return AGR_CLAIM_SETTLE_S + fence + AGR_NOTIFY_TIMEOUT_S + AGR_RESEND_INTERVAL_S + post


def views_text(names):
    lines = []
    for n in names:
        v = view(n)
        if v is None:
            lines.append(f"{n}: (no answer)")
        else:
            lines.append(f"{n}: " + " ".join(f"{m}={v.get(m, '-')}" for m in NAMES))
    return "\n".join(lines)


def all_alive(names):
    for n in names:
        v = view(n)
        if v is None or any(v.get(m) != "ALIVE" for m in NAMES):
            return False
    return True


QUEUED = re.compile(r"^(\S+) notification for (\S+) queued as outbox (\d+)$")


def posted(name):
    """The mesh notifications NAME's daemon queued (its event log: "TYPE
    notification for HOST queued as outbox ID"), with the outcome of their
    delivery (the log's delivery records; delivered entries leave the outbox)."""
    out, by_id = [], {}
    path = os.path.join(BASE, "nodes", name, "state", "events.jsonl")
    try:
        lines = open(path).readlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("type") == "note" and e.get("what") == "mesh":
            m = QUEUED.match(e.get("detail", ""))
            if m:
                rec = {"id": int(m.group(3)), "type": m.group(1), "hostname": m.group(2),
                       "queued": parse_time(e["time"]), "result": None, "http_status": None}
                out.append(rec)
                by_id[rec["id"]] = rec
        elif e.get("type") == "delivery" and e.get("outbox_id") in by_id:
            rec = by_id[e["outbox_id"]]
            rec["result"], rec["http_status"] = e.get("result"), e.get("http_status")
            rec["answered"] = parse_time(e["time"])
    return out


def fences():
    out = []
    try:
        for line in open(os.path.join(BASE, "fence.log")):
            f = line.split()
            if len(f) == 5:
                out.append({"start": float(f[0]), "end": float(f[1]), "actor": f[2], "target": f[3], "rc": int(f[4])})
    except FileNotFoundError:
        pass
    return out


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()


def mesh_events(name, since=0.0):
    out = []
    path = os.path.join(BASE, "nodes", name, "state", "events.jsonl")
    try:
        lines = open(path).readlines()
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
                out.append({"time": t, "detail": e.get("detail", "")})
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    a, args = sys.argv[1], sys.argv[2:]
    if a == "views":
        print(views_text(args or NAMES))
    elif a == "wait-alive":
        timeout = float(args[0])
        names = args[1:] or NAMES
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all_alive(names):
                return 0
            time.sleep(0.2)
        sys.stderr.write(f"query.py: not all alive after {timeout}s:\n{views_text(names)}\n")
        return 1
    elif a == "alive":
        v = view(args[0]) or {}
        print(" ".join(m for m in NAMES if v.get(m) == "ALIVE"))
    elif a == "state":
        v = view(args[0])
        print("NOANSWER" if v is None else v.get(args[1], "NONE"))
    elif a == "posted":
        print(json.dumps({n: posted(n) for n in (args or NAMES)}))
    elif a == "fences":
        print(json.dumps(fences()))
    elif a == "takeover-wait":
        print(f"{takeover_wait():.1f}")
    elif a == "mesh-events":
        print(json.dumps(mesh_events(args[0], float(args[1]) if len(args) > 1 else 0.0)))
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
