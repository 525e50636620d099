#!/bin/bash
# api.sh ACTION [ARGS] - the Masakari of start.sh (same BASE), which listens
# only inside its namespace: the masakari harness scripts run there.
#   list [QUERY]            list-notifications.sh [QUERY] (JSON of the API)
#   add-host SEGMENT HOST...  add-host.sh
#   stored                  JSON list of {uuid, host, type, payload, unix,
#                           generated}: every notification Masakari stored,
#                           the time its row was inserted (SQLite trigger,
#                           ms) and its generated_time (UTC, as stored)
#   exec CMD...             CMD in the Masakari namespace
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"
[ $# -ge 1 ] || { sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }
mesh_load
M=$MESH_REPO/tests/harness/masakari
ACTION=$1; shift
case $ACTION in
list) exec nsenter --net="/run/netns/$MESH_API_NS" -- env BASE="$MESH_MASAKARI_BASE" "$M/list-notifications.sh" "$@" ;;
add-host) exec nsenter --net="/run/netns/$MESH_API_NS" -- env BASE="$MESH_MASAKARI_BASE" "$M/add-host.sh" "$@" ;;
stored) exec $PY - "$MESH_MASAKARI_DB" <<'PYEOF'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
hosts = dict(c.execute("SELECT uuid, name FROM hosts WHERE deleted = 0"))
rows = c.execute("SELECT s.uuid, s.host_uuid, s.type, s.payload, s.unix, n.generated_time "
                 "FROM mesh_stored s LEFT JOIN notifications n ON n.notification_uuid = s.uuid "
                 "ORDER BY s.unix").fetchall()
print(json.dumps([{"uuid": u, "host": hosts.get(h, h), "type": t,
                   "payload": json.loads(p) if p else None, "unix": x, "generated": g}
                  for u, h, t, p, x, g in rows]))
PYEOF
;;
exec) exec nsenter --net="/run/netns/$MESH_API_NS" -- "$@" ;;
*) mesh_die "unknown action $ACTION" ;;
esac
