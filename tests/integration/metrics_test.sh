#!/bin/bash
# mimamorid's Prometheus endpoint on real components: the page passes
# promtool's checks, a real Prometheus scrapes it and loads the alert rules,
# and a failure the eBPF probe sees (a process named like qemu, killed)
# reaches Prometheus as mimamori_verdicts_total{verdict="unmapped_exit"};
# a watched process's death gives a notification that waits in the outbox
# (outbox and notification metrics).
#   metrics_test.sh MIMAMORID VERSION
# Masakari and libvirt are deliberately absent (a closed port, a missing
# socket): metrics must work while the daemon retries them.
. "$(dirname "$0")/../harness/lib.sh"
set -u

MIMAMORID=$1
VERSION=$2
# Ports found free at start (never the defaults 9877, 9090), so that a
# developer's daemon or Prometheus, or another run of this test, keeps running.
METRICS_PORT=${T_METRICS_PORT:-$(free_port)}
PROM_PORT=${T_PROM_PORT:-$(free_port)}
METRICS_URL=http://127.0.0.1:$METRICS_PORT/metrics
PROM_URL=http://127.0.0.1:$PROM_PORT

require_root
require_cmd curl promtool prometheus
[ -x "$MIMAMORID" ] || tap_bail "no mimamorid at $MIMAMORID"

# A busy port would make us test someone else's server.
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
for p in "$METRICS_PORT" "$PROM_PORT"; do
    port_busy "$p" && tap_bail "127.0.0.1:$p is in use (set T_METRICS_PORT / T_PROM_PORT)"
done

tap_plan 20
state_dir metrics

# ---- mimamorid, with nothing to talk to but the kernel
DSTATE=$STATE_DIR/mimamorid
CONF=$STATE_DIR/mimamori.conf
mkdir -p "$DSTATE"
{
    printf '[node]\nhostname = metrics-test\nstate_dir = %s\n' "$DSTATE"
    printf '[masakari]\nendpoint_override = http://127.0.0.1:1/v1\n'
    printf '[instance]\nlibvirt_uri = qemu+unix:///system?socket=%s/no-libvirtd.sock\n' "$STATE_DIR"
    # ebpf, not auto: the pidfd fallback would miss the short-lived victim
    printf '[probe]\nmode = ebpf\n[process]\nwatched = nova-compute\n'
    printf '[metrics]\nlisten = 127.0.0.1:%s\n' "$METRICS_PORT"
    printf '[control]\nsocket = %s/control.sock\n' "$STATE_DIR"   # not /run/mimamori's
} > "$CONF"

tap_check "mimamorid accepts [metrics] listen" "$MIMAMORID" --config "$CONF" --check-config ||
    tap_bail "[metrics] listen is not understood by this mimamorid"

DAEMON_PID="" DAEMON_RC=""
stop_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_RC=$?
    DAEMON_PID=""
}
on_cleanup stop_daemon
on_cleanup 'tap_diag "--- mimamorid log (tail)"; tail -n 30 "$STATE_DIR/mimamorid.log" | while IFS= read -r l; do tap_diag "$l"; done'
"$MIMAMORID" --config "$CONF" >> "$STATE_DIR/mimamorid.log" 2>&1 &
DAEMON_PID=$!
# started here, not inside tap_check: that runs in a subshell
if wait_for "curl -sf --max-time 5 -o /dev/null '$METRICS_URL'" 20; then tap_ok "GET /metrics answers while Masakari and libvirt are unreachable"
else tap_bail "mimamorid's /metrics did not come up"; fi

# ---- the page itself
scrape() { curl -sf --max-time 10 --retry 2 "$METRICS_URL"; }
sample() { # SERIES -> its value on a fresh scrape ("" when absent)
    scrape | awk -v s="$1" 'index($0, s " ") == 1 { print $2; exit }'
}
PAGE=$STATE_DIR/page.txt
HEADERS=$STATE_DIR/headers.txt
curl -sf --max-time 10 --retry 2 -D "$HEADERS" -o "$PAGE" "$METRICS_URL" || tap_bail "cannot fetch $METRICS_URL"
tap_is "$(tr -d '\r' < "$HEADERS" | awk -F': ' 'tolower($1) == "content-type" { print $2 }')" \
    "text/plain; version=0.0.4; charset=utf-8" "Content-Type is the text exposition format 0.0.4"
tap_check "promtool check metrics accepts the page" promtool check metrics < "$PAGE"
tap_is "$(awk '/^mimamori_build_info\{/' "$PAGE")" "mimamori_build_info{version=\"$VERSION\"} 1" \
    "build_info carries the version"
tap_is "$(sample 'mimamori_probe_mode{mode="ebpf"}') $(sample mimamori_probe_degraded)" "1 0" \
    "probe mode ebpf, not degraded"
tap_is "$(sample mimamori_libvirt_connected)" 0 "libvirt_connected is 0 with no libvirtd (refreshed per scrape)"
tap_is "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/")" 404 "other paths: 404"
tap_is "$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %header{allow}' -X POST -d x "$METRICS_URL")" \
    "405 GET, HEAD" "other methods: 405 with Allow"

# ---- a real Prometheus, scraping every second, with the alert rules
PROM_PID=""
stop_prometheus() {
    [ -n "$PROM_PID" ] || return 0
    kill -TERM "$PROM_PID" 2>/dev/null
    wait "$PROM_PID" 2>/dev/null
    PROM_PID=""
}
cat > "$STATE_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $REPO_ROOT/etc/prometheus/mimamori-alerts.yml
scrape_configs:
  - job_name: mimamori
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
EOF
on_cleanup stop_prometheus
on_cleanup 'tap_diag "--- prometheus log (tail)"; tail -n 15 "$STATE_DIR/prometheus.log" | while IFS= read -r l; do tap_diag "$l"; done'
prometheus --config.file="$STATE_DIR/prometheus.yml" --storage.tsdb.path="$STATE_DIR/prometheus" \
    --web.listen-address="127.0.0.1:$PROM_PORT" > "$STATE_DIR/prometheus.log" 2>&1 &
PROM_PID=$!
wait_for "curl -sf --max-time 5 -o /dev/null '$PROM_URL/-/ready'" 30 || tap_bail "Prometheus did not become ready"

query() { # PROMQL -> the first result's value, or "" when there is none
    curl -sf --max-time 10 --retry 2 --get --data-urlencode "query=$1" "$PROM_URL/api/v1/query" |
        json_eval 'd["data"]["result"][0]["value"][1] if d["data"]["result"] else ""'
}
tap_check "Prometheus scrapes mimamorid (up == 1)" \
    wait_for "[ \"\$(query 'up{job=\"mimamori\"}')\" = 1 ]" 20
# The rules' metric names are the daemon's: with libvirt absent, the
# disconnected alert is pending (it fires after 2 minutes).
alert_state() { # ALERTNAME -> pending/firing, inactive; "" when Prometheus did not answer
    curl -sf --max-time 10 --retry 2 "$PROM_URL/api/v1/alerts" |
        json_eval "next((a['state'] for a in d['data']['alerts'] if a['labels']['alertname'] == '$1'), 'inactive')"
}
tap_check "the alert rules load and see the daemon: MimamoriLibvirtDisconnected is pending" \
    wait_for "[ \"\$(alert_state MimamoriLibvirtDisconnected)\" = pending ]" 20
tap_is "$(alert_state MimamoriProbeDegraded)" inactive "MimamoriProbeDegraded stays inactive with eBPF"

# ---- a failure: a process named like qemu, killed; it maps to no guest.
# The probe sees the whole host: the counters are compared with their
# values before, and the verdict is tied to this victim in events.jsonl.
BEFORE=$(sample 'mimamori_probe_events_total{cause="signal"}')
BEFORE_VERDICTS=$(sample 'mimamori_verdicts_total{verdict="unmapped_exit"}')
mkdir -p "$STATE_DIR/bin"
cp /bin/sleep "$STATE_DIR/bin/qemu-system-x86_64"
"$STATE_DIR/bin/qemu-system-x86_64" 600 &
VICTIM=$!
on_cleanup "kill -KILL $VICTIM 2>/dev/null"
# SIGKILL before the exec would kill a bash the probe does not watch.
wait_for "[ \"\$(cat /proc/$VICTIM/comm)\" = qemu-system-x86 ]" 5 || tap_bail "the victim did not start"
kill -KILL "$VICTIM"
wait "$VICTIM" 2>/dev/null
victim_verdicts() {
    "$PY" - "$DSTATE/events.jsonl" "$VICTIM" <<'PYEOF'
import json, sys
print(sum(1 for l in open(sys.argv[1])
          if (e := json.loads(l)).get('verdict') == 'unmapped_exit' and e.get('pid') == int(sys.argv[2])))
PYEOF
}
tap_check "the daemon's verdict on the victim is unmapped_exit" wait_for "[ \$(victim_verdicts) = 1 ]" 10
tap_check "Prometheus sees it: mimamori_verdicts_total{verdict=\"unmapped_exit\"} went up" \
    wait_for "[ \"\$(query 'mimamori_verdicts_total{verdict=\"unmapped_exit\"} > ${BEFORE_VERDICTS:-0}')\" != '' ]" 20
tap_check "probe_events_total{cause=\"signal\"} counted the SIGKILL" \
    test "$(sample 'mimamori_probe_events_total{cause="signal"}')" -gt "${BEFORE:-0}"
tap_check "the detection latency was observed" \
    test "$(sample mimamori_detection_latency_seconds_count)" -ge 1

# ---- a watched process dies: notified, but Masakari is a closed port
cp /bin/sleep "$STATE_DIR/bin/nova-compute"
"$STATE_DIR/bin/nova-compute" 600 &
VICTIM=$!
on_cleanup "kill -KILL $VICTIM 2>/dev/null"
wait_for "[ \"\$(cat /proc/$VICTIM/comm)\" = nova-compute ]" 5 || tap_bail "the nova-compute victim did not start"
kill -KILL "$VICTIM"
wait "$VICTIM" 2>/dev/null
tap_check "the notification waits in the outbox: mimamori_outbox_pending 1 (refreshed per scrape)" \
    wait_for "[ \"\$(sample mimamori_outbox_pending)\" = 1 ]" 10
tap_check "its failed attempts count as notifications_total{type=\"PROCESS\",result=\"retry\"}" \
    wait_for "[ \"\$(sample 'mimamori_notifications_total{type=\"PROCESS\",result=\"retry\"}')\" -ge 1 ]" 10
tap_is "$(sample mimamori_masakari_reachable)" 0 "masakari_reachable is 0: no HTTP answer"

# While Prometheus keeps scraping: the server stops before what its refresh reads.
stop_daemon
tap_is "$DAEMON_RC" 0 "mimamorid stops cleanly on SIGTERM while scraped (exit 0, no sanitizer report)"

tap_done
