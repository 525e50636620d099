#!/usr/bin/python3
"""tools/check_count.py - tools/check's count of its test runs.

usage: check_count.py [--run NAME RC TESTLOG]... [--failed-step TEXT]...
  --run NAME RC TESTLOG  one `meson test` run: its step name, meson's exit
                         status and its meson-logs/testlog.json (one JSON
                         object per line: name, result, returncode, stdout)
  --failed-step TEXT     a step that failed without test results of its own
                         (a failed tools/deps, say): counts as one failure

Every test of every log counts once:
  failed   meson's result is not OK, EXPECTEDFAIL or SKIP (FAIL, TIMEOUT,
           ERROR, UNEXPECTEDPASS, INTERRUPT...);
  skipped  meson says SKIP, or it exited 77, or its output has a skipped
           part, which meson counts as OK: a TAP `ok N ... # SKIP` or
           `# TODO` line, `1..0 # SKIP`, cmocka's `[  SKIPPED ]`;
  passed   otherwise.
A run that wrote no log, ran no test, or exited non-zero with no failed test
in its log counts as one failure too.

A skip is allowed only when MIMAMORI_ALLOW_SKIP (a developer's partial run:
space-separated test names: the last part of what `meson test --list`
prints, `probe` for `mimamori:integration / probe`, or suite/name,
`integration/metrics`, where two suites have a test of that name; CI sets none)
names the test; an allowed skip still counts as skipped.

Prints the failed and skipped tests with their reasons, then one last line
`N passed, N failed, N skipped`. Exit status 0 when nothing failed and every
skip is allowed, 1 otherwise, 2 on bad usage.
"""
import json
import os
import re
import sys

OK_RESULTS = {"OK", "EXPECTEDFAIL"}
# TAP: `ok 3 - desc # SKIP why`, `not ok 4 # TODO why` (directives are
# case-insensitive and may be longer words: "# skipped"); the plan `1..0 # SKIP`.
TAP_DIRECTIVE = re.compile(r"^\s*(not\s+)?ok\b[^#]*#\s*(skip|todo)", re.IGNORECASE)
TAP_SKIP_ALL = re.compile(r"^\s*1\.\.0\b.*#\s*skip", re.IGNORECASE)
CMOCKA_SKIPPED = re.compile(r"^\s*\[\s*SKIPPED\s*\]")
# the lines that say why: TAP, cmocka (its fail_msg prints "ERROR: ..."),
# the sanitizers ("==PID==ERROR: AddressSanitizer", UBSan's "runtime error:")
FAILURE_LINE = re.compile(r"^\s*(not\s+ok\b|Bail out!|\[\s*FAILED\s*\]|\[\s*ERROR\s*\]|"
                          r"(==\d+==)?ERROR:|FAIL\b)|runtime error:")
MAX_REASONS = 6
MAX_WIDTH = 200


def clip(line):
    line = line.strip()
    return line if len(line) <= MAX_WIDTH else line[:MAX_WIDTH - 3] + "..."


def unique(lines):
    seen, out = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out


def last_lines(text, n):
    return [clip(l) for l in text.splitlines() if l.strip()][-n:]


def judge(test):
    """-> ("passed" | "failed" | "skipped", [reason lines])"""
    result = str(test.get("result", "?"))
    # meson keeps a test's stderr apart when the test has a separate one
    out = (test.get("stdout") or "") + "\n" + (test.get("stderr") or "")
    rc = test.get("returncode")
    lines = out.splitlines()
    failures = unique(clip(l) for l in lines if FAILURE_LINE.match(l))
    skips = unique(clip(l) for l in lines
                   if TAP_DIRECTIVE.match(l) or TAP_SKIP_ALL.match(l) or CMOCKA_SKIPPED.match(l))
    # exit 77 is "skipped" under meson's exitcode protocol; under TAP meson
    # may call it a failure: a skip it is, unless a part of it failed.
    skipped_by_77 = rc == 77 and not failures
    if result not in OK_RESULTS and result != "SKIP" and not skipped_by_77:
        why = [f"result {result}" + (f", exit status {rc}" if rc not in (None, 0) else "")]
        return "failed", why + (failures or last_lines(out, 3))
    if result == "SKIP" or skipped_by_77 or skips:
        why = skips or [f"meson: {result}" + (f", exit status {rc}" if rc not in (None, 0) else "")]
        if not skips:
            why += last_lines(out, 2)
        return "skipped", why
    return "passed", []


def allowance():
    return set(os.environ.get("MIMAMORI_ALLOW_SKIP", "").split())


def short_names(name):
    """meson's "project:suite / name" -> {"name", "suite/name"}"""
    suite, _, bare = name.rpartition(" / ")
    names = {bare}
    if suite:
        names.add(suite.split(":", 1)[-1] + "/" + bare)
    return names


def allowed(name, allow):
    return bool(short_names(name) & allow)


def read_log(path):
    """-> (tests, errors): the log's objects and the lines that were not"""
    tests, errors = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
                tests.append(obj)
            except ValueError as e:
                errors.append(f"{path}:{i}: unreadable ({e})")
    return tests, errors


def parse_args(argv):
    runs, failed_steps = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--run" and i + 3 < len(argv):
            runs.append((argv[i + 1], argv[i + 2], argv[i + 3]))
            i += 4
        elif argv[i] == "--failed-step" and i + 1 < len(argv):
            failed_steps.append(argv[i + 1])
            i += 2
        else:
            raise SystemExit(f"check_count.py: bad argument {argv[i]!r} (see its header)")
    return runs, failed_steps


def main(argv):
    try:
        runs, failed_steps = parse_args(argv)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    allow = allowance()
    passed = 0
    failed, skipped = [], []      # (name, [reasons], allowed)
    seen_names = set()
    for step in failed_steps:
        failed.append((f"step {step}", [], False))
    for step, rc, path in runs:
        try:
            tests, errors = read_log(path)
        except OSError as e:
            failed.append((f"step {step}", [f"meson test exited {rc} and left no test log "
                                            f"({e.strerror}: {path})"], False))
            continue
        for e in errors:
            failed.append((f"step {step}", [e], False))
        if not tests:
            failed.append((f"step {step}", [f"no test ran (meson test exited {rc}; {path})"], False))
            continue
        n_failed = 0
        for t in tests:
            name = str(t.get("name", "?"))
            seen_names |= short_names(name)
            verdict, why = judge(t)
            if verdict == "passed":
                passed += 1
            elif verdict == "failed":
                n_failed += 1
                failed.append((name, why, False))
            else:
                skipped.append((name, why, allowed(name, allow)))
        if rc != "0" and n_failed == 0 and not errors:
            failed.append((f"step {step}", [f"meson test exited {rc} although no test in "
                                            f"{path} failed"], False))

    for label, items in (("FAILED ", failed), ("SKIPPED", skipped)):
        for name, why, ok in items:
            note = " (allowed: MIMAMORI_ALLOW_SKIP)" if ok else ""
            print(f"{label} {name}{note}")
            for line in why[:MAX_REASONS]:
                print(f"        {line}")
            if len(why) > MAX_REASONS:
                print(f"        ... {len(why) - MAX_REASONS} more")
    if allow:
        print(f"allowance MIMAMORI_ALLOW_SKIP: {' '.join(sorted(allow))}")
        unknown = sorted(a for a in allow if a not in seen_names)
        if unknown:
            print(f"  (names no test of this run: {' '.join(unknown)})")
    unallowed = [s for s in skipped if not s[2]]
    if unallowed:
        print(f"{len(unallowed)} skipped test(s) not allowed: a skip is a failure "
              "(tools/deps installs the tools; MIMAMORI_ALLOW_SKIP allows named skips "
              "in a developer's partial run)")
    print(f"{passed} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 0 if not failed and not unallowed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
