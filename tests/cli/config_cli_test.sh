#!/bin/bash
# mimamorid's command line and configuration errors, as an operator meets
# them: a clear message naming file, line and key, exit code 2, and nothing
# started (no state directory created). Needs no root.
. "$(dirname "$0")/../harness/lib.sh"
set -u
MIMAMORID=$1
tap_plan 8
state_dir cli

good=$STATE_DIR/good.conf
printf '[node]\nhostname = c1\nstate_dir = %s/state\n[masakari]\nendpoint_override = http://127.0.0.1:1/v1\n' \
    "$STATE_DIR" > "$good"
out=$("$MIMAMORID" --config "$good" --check-config 2>&1); rc=$?
tap_is "$rc" 0 "--check-config accepts a valid file"

bad=$STATE_DIR/bad.conf
printf '[node]\nhostname = c1\nstate_dir = %s/state\n[masakari]\nendpoint_override = http://x/v1\ntimout = 5\n' \
    "$STATE_DIR" > "$bad"
out=$("$MIMAMORID" --config "$bad" 2>&1); rc=$?
tap_is "$rc" 2 "an unknown key exits with code 2"
tap_check "the message names file, line and key" grep -q "bad.conf:6: \[masakari\] timout" <<< "$out"
tap_check "nothing was started (no state directory)" test ! -e "$STATE_DIR/state"

out=$("$MIMAMORID" --config "$STATE_DIR/missing.conf" 2>&1); rc=$?
tap_is "$rc" 2 "a missing config file exits with code 2"
tap_check "the message names the missing file" grep -q "missing.conf" <<< "$out"

printf '[node]\nhostname = c1\n[masakari]\nauth_url = http://127.0.0.1:5000/v3\n' > "$STATE_DIR/noauth.conf"
out=$("$MIMAMORID" --config "$STATE_DIR/noauth.conf" 2>&1); rc=$?
tap_is "$rc" 2 "Keystone mode without credentials exits with code 2"
tap_check "the message says what is missing" grep -qi "username" <<< "$out"
tap_done
