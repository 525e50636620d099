#!/bin/bash
# start.sh - bring up a REAL OpenStack Masakari (Debian 12 packages, Masakari
# 14.0.2) on 127.0.0.1 for mimamori's integration tests and demo.
#
#   masakari-api (eventlet, sqlite)      http://127.0.0.1:$MASAKARI_PORT/v1
#   Keystone 22 (uwsgi, sqlite, fernet)  http://127.0.0.1:$KS_PORT/v3   (MODE=keystone)
#   nova-stub.py (tiny fake Nova 2.53)   http://127.0.0.1:$NOVA_PORT/v2.1 (MODE=keystone)
#   masakari-engine                      ENGINE=fake: polls the DB; ENGINE=rabbit:
#                                        RPC through rabbitmq-server (+ epmd)
#
# Env knobs [defaults]:
#   BASE [${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)]  state dir: etc/ data/ log/
#                 run/ (one PID file per process started) and env.sh.  Tests
#                 pass their own BASE; pass the same BASE to every script here.
#   MODE [keystone]   keystone | noauth (no Keystone, no Nova, no token; hosts are
#                     put in the DB by add-host.sh; requests run as admin)
#   ENGINE [fake]     fake | rabbit | none  (fake: no broker, the engine picks
#                     notifications up by polling the DB every ENGINE_POLL s)
#   NOVA_STUB [1 in keystone mode, 0 in noauth]  run nova-stub.py
#   NOVA_HOSTS [all]  all: Nova knows every host name except nonova*;
#                     registered: only hosts registered by add-host.sh
#   DEDUP_WINDOW [180] duplicate_notification_detection_interval (s); tests that
#                     kill the same guest repeatedly use 0 or 1 (else HTTP 409)
#   FRESH [1]         wipe data/ and log/ first
#   ENGINE_WAIT [5] ENGINE_POLL [5]  recovery-flow waits / DB polling (s)
#   KS_PORT MASAKARI_PORT NOVA_PORT RABBIT_PORT RABBIT_DIST_PORT EPMD_PORT
#                 [a free port each, picked at start in 20000-31999 (below the
#                 kernel's ephemeral range, so no outgoing connection takes it
#                 meanwhile)]  an explicit value wins; env.sh exports them, so
#                 two stacks run side by side on one machine
#   LISTEN_HOST [127.0.0.1]  address masakari-api binds to and MASAKARI_URL
#                 names (e.g. an address in a network namespace the stack runs
#                 in: tests/harness/mesh/).  Keystone, Nova stub and RabbitMQ
#                 stay on 127.0.0.1, so other namespaces reach noauth mode only.
#   ADMIN_PASS [adminpass] SERVICE_PASS [masakaripass]
#   START_TIMEOUT [120] deadline (s) of each start-up step (a bootstrap command,
#                 a service answering, the registration); on expiry one message
#                 names the step and its log and shows the log's tail
#   HTTP_TIMEOUT [20] HTTP_ATTEMPTS [5]  per request / tries of the Keystone
#                 registration (ks-register.py)
#   DB_CACHE [${TMPDIR:-/tmp}/mimamori-masakari-cache-$(id -un)]  freshly created
#                 databases (+ Keystone keys) are kept here, keyed by package
#                 versions, these scripts and passwords, and copied on the next
#                 start (-10 s keystone, -5 s noauth); the catalog's endpoint
#                 URLs are rewritten to this start's ports.  Empty: no cache.
# Nothing is installed here: missing Debian packages are named, install them
# with tools/deps.  Writes $BASE/env.sh (also printed): MASAKARI_URL, OS_* of the
# service user (masakari / $SERVICE_PASS / project service, admin role),
# MASAKARI_ADMIN_* (Keystone admin), MASAKARI_MODE, MASAKARI_BASE.
# Stop with stop.sh (same BASE); a failed start stops what it had started.
set -euo pipefail

BASE=${BASE:-${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)}
MODE=${MODE:-keystone}
ENGINE=${ENGINE:-fake}
if [ "$MODE" = keystone ]; then NOVA_STUB=${NOVA_STUB:-1}; else NOVA_STUB=${NOVA_STUB:-0}; fi
NOVA_HOSTS=${NOVA_HOSTS:-all}
FRESH=${FRESH:-1}
DEDUP_WINDOW=${DEDUP_WINDOW:-180}
ENGINE_WAIT=${ENGINE_WAIT:-5}
ENGINE_POLL=${ENGINE_POLL:-5}
KS_PORT=${KS_PORT:-}
MASAKARI_PORT=${MASAKARI_PORT:-}
LISTEN_HOST=${LISTEN_HOST:-127.0.0.1}
NOVA_PORT=${NOVA_PORT:-}
RABBIT_PORT=${RABBIT_PORT:-}
RABBIT_DIST_PORT=${RABBIT_DIST_PORT:-}
EPMD_PORT=${EPMD_PORT:-}
ADMIN_PASS=${ADMIN_PASS:-adminpass}
SERVICE_PASS=${SERVICE_PASS:-masakaripass}
START_TIMEOUT=${START_TIMEOUT:-120}
export HTTP_TIMEOUT=${HTTP_TIMEOUT:-20} HTTP_ATTEMPTS=${HTTP_ATTEMPTS:-5}
DB_CACHE=${DB_CACHE-${TMPDIR:-/tmp}/mimamori-masakari-cache-$(id -un)}
PY=/usr/bin/python3            # never a pyenv/venv python: the Debian modules live here
HERE=$(cd "$(dirname "$0")" && pwd)
T0=$EPOCHREALTIME

log() { printf '[masakari %6.2fs] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../run-id.sh"   # free_port
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() { # VAR: keep an explicit value, else a free port (run-id.sh) not picked here already
    local -n port=$1
    [ -n "$port" ] && return 0
    local p
    for _ in $(seq 1 20); do
        p=$(free_port) || break
        case " $PICKED " in *" $p "*) continue ;; esac
        port=$p; PICKED="$PICKED $p"; return 0
    done
    die "no free port found for $1"; }
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }
fail_step() { # step log what: one message naming the step and its log, then the log's tail
    log "ERROR: step '$1' $3 (log: $2)"
    [ -s "$2" ] && tail -n 15 "$2" | sed 's/^/    | /' >&2
    exit 1; }
wait_step() { # pid step log: a background start-up step, bounded by START_TIMEOUT from STEP_T0
    local end=$(( ${STEP_T0%.*} + START_TIMEOUT )) rc=0
    while kill -0 "$1" 2>/dev/null; do
        if (( ${EPOCHREALTIME%.*} >= end )); then
            kill_tree "$1"; fail_step "$2" "$3" "did not finish within ${START_TIMEOUT}s"; fi
        sleep 0.1
    done
    wait "$1" || rc=$?
    [ "$rc" = 0 ] || fail_step "$2" "$3" "failed (rc=$rc)"; }
wait_http() { # step url pidfile-name log: until the service answers (any HTTP status), within START_TIMEOUT
    local end=$(( ${EPOCHREALTIME%.*} + START_TIMEOUT )) pid
    pid=$(cat "$BASE/run/$3.pid")
    while (( ${EPOCHREALTIME%.*} < end )); do
        curl -s -o /dev/null --connect-timeout 2 --max-time 5 "$2" && return 0
        alive "$pid" || fail_step "$1" "$4" "failed: $3 (pid $pid) exited"
        sleep 0.1; done
    fail_step "$1" "$4" "did not answer $2 within ${START_TIMEOUT}s"; }
kill_tree() { # pid: the process and its descendants (bootstrap subshells)
    local k; for k in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$k"; done
    kill "$1" 2>/dev/null || true; }
spawn() { # name cmd...  -> background, own session, pid in run/name.pid, output in log/name.out
    local n=$1; shift
    setsid "$@" > "$BASE/log/$n.out" 2>&1 < /dev/null &
    echo $! > "$BASE/run/$n.pid"; }

case $MODE in keystone|noauth) ;; *) die "MODE must be keystone|noauth (got '$MODE')";; esac
case $ENGINE in rabbit|fake|none) ;; *) die "ENGINE must be rabbit|fake|none (got '$ENGINE')";; esac
case $NOVA_HOSTS in all|registered) ;; *) die "NOVA_HOSTS must be all|registered";; esac
[ "$MODE" = keystone ] && [ "$NOVA_STUB" != 1 ] && log "warning: MODE=keystone without NOVA_STUB: adding hosts needs a Nova"
[ -x "$PY" ] || die "missing $PY (Debian package python3; run tools/deps)"

# ------------------------------------------------------------------ dependencies (never installed here)
PKGS="masakari-api python3-masakari curl iproute2"
[ "$ENGINE" != none ] && PKGS="$PKGS masakari-engine"
[ "$MODE" = keystone ] && PKGS="$PKGS keystone uwsgi-core uwsgi-plugin-python3"
[ "$ENGINE" = rabbit ] && PKGS="$PKGS rabbitmq-server"
MISSING=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING="$MISSING $p"
done
[ -z "$MISSING" ] || die "missing Debian package(s):$MISSING -- install them with tools/deps (as root)"

mkdir -p "$BASE" && BASE=$(cd "$BASE" && pwd) || die "cannot create state dir BASE=$BASE"
PICKED=""
for v in MASAKARI_PORT KS_PORT NOVA_PORT RABBIT_PORT RABBIT_DIST_PORT EPMD_PORT; do pick_port $v; done

# ------------------------------------------------------------------ previous run, clean slate
if ls "$BASE"/run/*.pid > /dev/null 2>&1; then
    log "previous run found in $BASE, stopping it"
    BASE=$BASE "$HERE/stop.sh" >&2 || true
fi
[ "$FRESH" = 1 ] && rm -rf "$BASE/data" "$BASE/log" "$BASE/env.sh"
rm -f "$BASE/env.sh"
mkdir -p "$BASE"/{etc/keystone,data/keystone,data/rabbitmq,log/rabbitmq,run}
chmod 700 "$BASE/data/rabbitmq"
for p in $MASAKARI_PORT $([ "$MODE" = keystone ] && echo "$KS_PORT") \
         $([ "$NOVA_STUB" = 1 ] && echo "$NOVA_PORT") \
         $([ "$ENGINE" = rabbit ] && echo "$RABBIT_PORT $RABBIT_DIST_PORT"); do
    port_busy "$p" && die "port $p already in use (move it with the *_PORT knobs)"
done

# From here on, anything that fails stops what was started (by recorded PID).
BOOT_PIDS=()
STARTED=0
on_exit() {
    local rc=$?
    [ "$STARTED" = 1 ] && return 0
    local p
    for p in "${BOOT_PIDS[@]}"; do kill_tree "$p"; done
    log "start failed (rc=$rc): stopping what was started; logs in $BASE/log"
    BASE=$BASE "$HERE/stop.sh" >&2 || true
    exit $(( rc == 0 ? 1 : rc ))
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wal() { $PY -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$1"; }

# ------------------------------------------------------------------ configs
KC=(--config-file "$BASE/etc/keystone/keystone.conf")
cat > "$BASE/etc/keystone/keystone.conf" <<EOF
[DEFAULT]
log_dir = $BASE/log
log_file = keystone.log
[database]
connection = sqlite:///$BASE/data/keystone/keystone.sqlite
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = $BASE/data/keystone/fernet-keys
[fernet_receipts]
key_repository = $BASE/data/keystone/fernet-keys
[credential]
key_repository = $BASE/data/keystone/credential-keys
EOF

case $ENGINE in
    rabbit) TRANSPORT="rabbit://guest:guest@127.0.0.1:$RABBIT_PORT/"; NEW_AGE=10 ;;
    *)      TRANSPORT="fake:/"; NEW_AGE=1 ;;
esac
MC=(--config-file "$BASE/etc/masakari.conf")
cat > "$BASE/etc/masakari.conf" <<EOF
[DEFAULT]
auth_strategy = $([ "$MODE" = keystone ] && echo keystone || echo noauth2)
api_paste_config = /etc/masakari/api-paste.ini
masakari_api_listen = $LISTEN_HOST
masakari_api_listen_port = $MASAKARI_PORT
masakari_api_workers = 1
transport_url = $TRANSPORT
log_dir = $BASE/log
state_path = $BASE/data
duplicate_notification_detection_interval = $DEDUP_WINDOW
# privileged account masakari uses towards Nova (host-name check, recovery)
os_privileged_user_name = masakari
os_privileged_user_password = $SERVICE_PASS
os_privileged_user_tenant = service
os_privileged_user_auth_url = http://127.0.0.1:$KS_PORT/v3
# pitfall: the defaults are lower-case "default" = a domain NAME -> 401 from Keystone
os_user_domain_name = Default
os_project_domain_name = Default
os_region_name = RegionOne
nova_catalog_admin_info = compute:nova:publicURL
# engine: DB polling for new/error notifications + short recovery waits
process_unfinished_notifications_interval = $ENGINE_POLL
retry_notification_new_status_interval = $NEW_AGE
periodic_fuzzy_delay = 0
periodic_interval_max = $ENGINE_POLL
wait_period_after_service_update = $ENGINE_WAIT
wait_period_after_evacuation = $ENGINE_WAIT
wait_period_after_power_off = $ENGINE_WAIT
wait_period_after_power_on = $ENGINE_WAIT
verify_interval = 1
[database]
connection = sqlite:///$BASE/data/masakari.sqlite
[taskflow]
connection = sqlite:///$BASE/data/taskflow.sqlite
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:$KS_PORT
auth_url = http://127.0.0.1:$KS_PORT
auth_type = password
username = masakari
password = $SERVICE_PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
[oslo_concurrency]
lock_path = $BASE/run
EOF

# RabbitMQ: everything under $BASE, loopback only, node name unique per BASE
NODE="mimamori$(printf '%s' "$BASE" | cksum | cut -d' ' -f1)@localhost"
cat > "$BASE/etc/rabbitmq-env.sh" <<EOF
export HOME=$BASE/data/rabbitmq
export RABBITMQ_CONF_ENV_FILE=$BASE/etc/rabbitmq-env.conf
export RABBITMQ_NODENAME=$NODE
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$RABBIT_PORT
export RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=$EPMD_PORT
export RABBITMQ_MNESIA_BASE=$BASE/data/rabbitmq/mnesia
export RABBITMQ_LOG_BASE=$BASE/log/rabbitmq
export RABBITMQ_PID_FILE=$BASE/run/rabbitmq-beam.pid
export RABBITMQ_CONFIG_FILE=$BASE/etc/rabbitmq
export RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/etc/rabbitmq-enabled-plugins
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
: > "$BASE/etc/rabbitmq-env.conf"
echo '[].' > "$BASE/etc/rabbitmq-enabled-plugins"
cat > "$BASE/etc/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$RABBIT_PORT
loopback_users.guest = true
log.console = false
log.file.level = warning
EOF

# ------------------------------------------------------------------ bootstrap (in parallel)
# Creating the databases costs ~5 s (masakari) and ~10 s (keystone) of Python
# imports; the result depends only on the package versions, these scripts and
# the passwords, so it is kept in DB_CACHE and copied on later starts.  The
# ports (free ones, different at every start) only appear in Keystone's
# catalog: rewritten after the copy (catalog_ports), not part of the key.
CACHE_M="" CACHE_K=""
if [ -n "$DB_CACHE" ]; then
    VERS=$(dpkg-query -W -f='${Package}=${Version} ' python3-masakari python3-keystone python3-taskflow 2>/dev/null || true)
    SUM=$(cat "$0" "$HERE/ks-register.py" | cksum)
    CACHE_M=$DB_CACHE/masakari-$(printf '%s' "$VERS|$SUM" | sha256sum | cut -c1-16)
    CACHE_K=$DB_CACHE/keystone-$(printf '%s' "$VERS|$SUM|$ADMIN_PASS|$SERVICE_PASS" | sha256sum | cut -c1-16)
    mkdir -p "$DB_CACHE" 2>/dev/null || { log "warning: cannot create DB_CACHE=$DB_CACHE, not caching"; DB_CACHE="" CACHE_M="" CACHE_K=""; }
fi
sqlite_copy() { # src dst: consistent copy, also of a live WAL database
    $PY -c "import sqlite3,sys
s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()" "$1" "$2"; }
cache_put() { # cache-dir file|dir...  (atomic publish; a concurrent writer may win)
    local dst=$1 tmp f; shift
    [ -n "$dst" ] && [ ! -d "$dst" ] || return 0
    tmp=$(mktemp -d "$DB_CACHE/.tmp.XXXXXX") || return 0
    for f in "$@"; do
        case $f in *.sqlite) sqlite_copy "$f" "$tmp/${f##*/}" ;; *) cp -a "$f" "$tmp/" ;; esac || { rm -rf "$tmp"; return 0; }
    done
    mv -T "$tmp" "$dst" 2>/dev/null || rm -rf "$tmp"
    # entries unused for 3 days (older package versions or scripts) go away
    find "$DB_CACHE" -mindepth 1 -maxdepth 1 -mtime +3 -exec rm -rf {} + 2>/dev/null || true
}
catalog_ports() { # keystone.sqlite: point every endpoint at this start's ports
    $PY - "$1" "$KS_PORT" "$MASAKARI_PORT" "$NOVA_PORT" <<'EOF'
import sqlite3, sys
db, ks, masakari, nova = sys.argv[1:5]
url = {'identity': 'http://127.0.0.1:%s/v3/' % ks,
       'instance-ha': 'http://127.0.0.1:%s/v1/$(tenant_id)s' % masakari,
       'compute': 'http://127.0.0.1:%s/v2.1' % nova}
c = sqlite3.connect(db, timeout=30)
with c:
    for stype, u in url.items():
        c.execute('UPDATE endpoint SET url=? WHERE service_id IN '
                  '(SELECT id FROM service WHERE type=?)', (u, stype))
c.close()
EOF
}
# FRESH=0 with databases in place: keep them (db sync is idempotent), no cache
[ -e "$BASE/data/masakari.sqlite" ] && CACHE_M=""
[ -e "$BASE/data/keystone/keystone.sqlite" ] && CACHE_K=""
CACHED_M=0 CACHED_K=0
[ -n "$CACHE_M" ] && [ -f "$CACHE_M/masakari.sqlite" ] && [ -f "$CACHE_M/taskflow.sqlite" ] && CACHED_M=1
[ "$MODE" = keystone ] && [ -n "$CACHE_K" ] && [ -f "$CACHE_K/keystone.sqlite" ] && CACHED_K=1
log "bootstrapping (mode=$MODE engine=$ENGINE base=$BASE db-cache: masakari=$CACHED_M keystone=$CACHED_K)"
if [ "$ENGINE" = rabbit ]; then
    # our own epmd in the foreground (recorded, stopped by stop.sh); an epmd
    # already listening on EPMD_PORT is shared and left alone
    if ! port_busy "$EPMD_PORT"; then
        spawn epmd epmd -address 127.0.0.1 -port "$EPMD_PORT"
        for _ in $(seq 1 100); do port_busy "$EPMD_PORT" && break; sleep 0.1; done
        port_busy "$EPMD_PORT" || fail_step epmd "$BASE/log/epmd.out" "did not listen on $EPMD_PORT within 10s"
    fi
    ( . "$BASE/etc/rabbitmq-env.sh"; spawn rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server )
fi
# Each bootstrap step runs in the background with its own log; wait_step
# bounds it by START_TIMEOUT and names it (and its log) when it fails or hangs.
STEP_T0=$EPOCHREALTIME
BOOT_NAMES=() BOOT_LOGS=()
boot_bg() { BOOT_PIDS+=($!) BOOT_NAMES+=("$1") BOOT_LOGS+=("$BASE/log/$2"); } # step log (after cmd &)
if [ $CACHED_M = 1 ]; then
    cp "$CACHE_M/masakari.sqlite" "$CACHE_M/taskflow.sqlite" "$BASE/data/"; touch "$CACHE_M"
else
    ( set -e
      $PY "$HERE/masakari-compat.py" manage "${MC[@]}" db sync
      wal "$BASE/data/masakari.sqlite"
      $PY - "$BASE/data/taskflow.sqlite" <<'EOF'
import contextlib, sys
from taskflow.persistence import backends
b = backends.fetch({'connection': 'sqlite:///' + sys.argv[1]})
with contextlib.closing(b.get_connection()) as c:
    c.upgrade()
EOF
      wal "$BASE/data/taskflow.sqlite" ) > "$BASE/log/db-sync.out" 2>&1 &
    boot_bg "masakari db sync" db-sync.out
fi
if [ "$MODE" = keystone ] && [ $CACHED_K = 1 ]; then
    cp -a "$CACHE_K/keystone.sqlite" "$CACHE_K/fernet-keys" "$CACHE_K/credential-keys" "$BASE/data/keystone/"; touch "$CACHE_K"
    catalog_ports "$BASE/data/keystone/keystone.sqlite" > "$BASE/log/catalog-ports.out" 2>&1 ||
        fail_step "keystone catalog ports" "$BASE/log/catalog-ports.out" failed
elif [ "$MODE" = keystone ]; then
    ( keystone-manage "${KC[@]}" db_sync && wal "$BASE/data/keystone/keystone.sqlite" &&
      keystone-manage "${KC[@]}" bootstrap --bootstrap-password "$ADMIN_PASS" \
        --bootstrap-username admin --bootstrap-project-name admin \
        --bootstrap-role-name admin --bootstrap-service-name keystone \
        --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "http://127.0.0.1:$KS_PORT/v3/" \
        --bootstrap-public-url "http://127.0.0.1:$KS_PORT/v3/" \
        --bootstrap-internal-url "http://127.0.0.1:$KS_PORT/v3/" ) > "$BASE/log/keystone-manage.out" 2>&1 &
    boot_bg "keystone db_sync + bootstrap" keystone-manage.out
    keystone-manage "${KC[@]}" fernet_setup --keystone-user root --keystone-group root > "$BASE/log/fernet-setup.out" 2>&1 &
    boot_bg "keystone fernet_setup" fernet-setup.out
    keystone-manage "${KC[@]}" credential_setup --keystone-user root --keystone-group root > "$BASE/log/credential-setup.out" 2>&1 &
    boot_bg "keystone credential_setup" credential-setup.out
fi
# the Nova stub needs no database: start it right away
[ "$NOVA_STUB" = 1 ] && spawn nova-stub $PY "$HERE/nova-stub.py" --hosts "$NOVA_HOSTS" "$NOVA_PORT"
for i in "${!BOOT_PIDS[@]}"; do wait_step "${BOOT_PIDS[i]}" "${BOOT_NAMES[i]}" "${BOOT_LOGS[i]}"; done
BOOT_PIDS=()
[ $CACHED_M = 0 ] && cache_put "$CACHE_M" "$BASE/data/masakari.sqlite" "$BASE/data/taskflow.sqlite"
log "databases ready"

# ------------------------------------------------------------------ services
if [ "$MODE" = keystone ]; then
    # uwsgi, 4 native threads, keystone-wsgi.py: Debian's entry point deadlocked
    # on logging locks made for eventlet (see there)
    spawn keystone "$HERE/keystone-uwsgi.sh" "$KS_PORT" "$BASE/etc/keystone" "$BASE/run"
fi
# the API process and the engine import in parallel with Keystone's start-up;
# the API only talks to Keystone when the first request arrives
spawn masakari-api $PY "$HERE/masakari-compat.py" api "${MC[@]}" --log-file "$BASE/log/masakari-api.log"
if [ "$ENGINE" = rabbit ]; then
    ( . "$BASE/etc/rabbitmq-env.sh"
      timeout -k 5 "$START_TIMEOUT" /usr/lib/rabbitmq/bin/rabbitmqctl wait --timeout "$START_TIMEOUT" \
        "$BASE/run/rabbitmq-beam.pid" > "$BASE/log/rabbitmqctl-wait.out" 2>&1 ) \
        || fail_step rabbitmq "$BASE/log/rabbitmq.out" "did not start within ${START_TIMEOUT}s (also log/rabbitmq/, log/rabbitmqctl-wait.out)"
    log "rabbitmq ready on 127.0.0.1:$RABBIT_PORT"
fi
[ "$ENGINE" != none ] && spawn masakari-engine $PY "$HERE/masakari-compat.py" engine "${MC[@]}" --log-file "$BASE/log/masakari-engine.log"

if [ "$MODE" = keystone ]; then
    wait_http "keystone start" "http://127.0.0.1:$KS_PORT/v3" keystone "$BASE/log/keystone.out"
    log "keystone ready on 127.0.0.1:$KS_PORT"
    if [ $CACHED_K = 0 ]; then
        # bounded twice: every request (HTTP_TIMEOUT x HTTP_ATTEMPTS), and the step
        timeout -k 5 "$START_TIMEOUT" $PY "$HERE/ks-register.py" "http://127.0.0.1:$KS_PORT" "$ADMIN_PASS" "$SERVICE_PASS" \
            "http://127.0.0.1:$MASAKARI_PORT/v1/\$(tenant_id)s" "http://127.0.0.1:$NOVA_PORT/v2.1" \
            > "$BASE/log/ks-register.out" 2>&1 || {
            # what Keystone's threads were doing (uwsgi's python tracebacker), then the message
            # (bounded: a stopped worker never answers; set -e: every status is ignored here)
            for tb in "$BASE"/run/keystone-tb*; do
                [ -S "$tb" ] || continue
                echo "== keystone threads ($tb)"
                timeout -k 1 5 uwsgi-core --connect-and-read "$tb" || echo "(no answer from the tracebacker)"
            done >> "$BASE/log/ks-register.out" 2>&1
            fail_step "keystone registration" "$BASE/log/ks-register.out" "failed (Keystone log: log/keystone.out, log/keystone.log)"; }
        cache_put "$CACHE_K" "$BASE/data/keystone/keystone.sqlite" \
            "$BASE/data/keystone/fernet-keys" "$BASE/data/keystone/credential-keys"
    fi
fi
if [ "$NOVA_STUB" = 1 ]; then
    wait_http "nova-stub start" "http://127.0.0.1:$NOVA_PORT/" nova-stub "$BASE/log/nova-stub.out"
fi
wait_http "masakari-api start" "http://$LISTEN_HOST:$MASAKARI_PORT/" masakari-api "$BASE/log/masakari-api.log"
log "masakari-api ready on $LISTEN_HOST:$MASAKARI_PORT"
if [ "$ENGINE" != none ]; then
    end=$(( ${EPOCHREALTIME%.*} + START_TIMEOUT ))
    while (( ${EPOCHREALTIME%.*} < end )); do
        grep -q 'Starting ha_engine' "$BASE/log/masakari-engine.log" 2>/dev/null && break
        [ -d "/proc/$(cat "$BASE/run/masakari-engine.pid")" ] || break
        sleep 0.1
    done
    grep -q 'Starting ha_engine' "$BASE/log/masakari-engine.log" 2>/dev/null ||
        fail_step "masakari-engine start" "$BASE/log/masakari-engine.log" "did not log 'Starting ha_engine' within ${START_TIMEOUT}s, or exited (also log/masakari-engine.out)"
    [ "$ENGINE" = rabbit ] && sleep 1   # let the RPC consumer declare its queue
    log "masakari-engine started"
fi

cat > "$BASE/env.sh.tmp" <<EOF
# written by tests/harness/masakari/start.sh; . this file
export MASAKARI_BASE=$(printf %q "$BASE") MASAKARI_MODE=$MODE MASAKARI_ENGINE=$ENGINE
export MASAKARI_URL=http://$LISTEN_HOST:$MASAKARI_PORT/v1
export MASAKARI_PORT=$MASAKARI_PORT KS_PORT=$KS_PORT NOVA_PORT=$NOVA_PORT
export RABBIT_PORT=$RABBIT_PORT RABBIT_DIST_PORT=$RABBIT_DIST_PORT EPMD_PORT=$EPMD_PORT
export NOVA_URL=$([ "$NOVA_STUB" = 1 ] && echo "http://127.0.0.1:$NOVA_PORT/v2.1")
# service user (what a monitor / mimamorid uses; admin role in project service)
export OS_AUTH_URL=$([ "$MODE" = keystone ] && echo "http://127.0.0.1:$KS_PORT/v3")
export OS_USERNAME=masakari OS_PASSWORD=$(printf %q "$SERVICE_PASS") OS_PROJECT_NAME=service
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME=RegionOne
export OS_IDENTITY_API_VERSION=3 OS_INTERFACE=public
# Keystone admin
export MASAKARI_ADMIN_USERNAME=admin MASAKARI_ADMIN_PASSWORD=$(printf %q "$ADMIN_PASS") MASAKARI_ADMIN_PROJECT_NAME=admin
EOF
mv "$BASE/env.sh.tmp" "$BASE/env.sh"
STARTED=1
log "stack up (mode=$MODE engine=$ENGINE) in $BASE"
cat "$BASE/env.sh"
