#!/bin/bash
# list-notifications.sh [QUERY] - print, as JSON, the notifications stored by
# the Masakari of start.sh (same BASE): GET /v1/notifications[?QUERY], the API's
# own document {"notifications": [{notification_uuid, type, hostname, status,
# generated_time, payload, source_host_uuid, created_at...}, ...]}.
# QUERY is passed as is, e.g. 'type=VM', 'generated-since=2025-01-01T00:00:00',
# 'source_host_uuid=UUID&status=new', 'sort_key=generated_time&sort_dir=asc'.
# In keystone mode a token of the service user is fetched first.
# Exit 1 (and the body on stderr) unless the API answers 200.  A GET: a timeout
# (HTTP_TIMEOUT [20] s), refused connection or 5xx is retried (HTTP_ATTEMPTS [5] tries).
#   BASE [$MASAKARI_BASE (set by env.sh), else ${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)]
set -uo pipefail
BASE=${BASE:-${MASAKARI_BASE:-${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)}}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$BASE/env.sh" ] || { echo "list-notifications.sh: no $BASE/env.sh: run start.sh first (same BASE)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$BASE/env.sh"
H=(-H 'OpenStack-API-Version: instance-ha 1.2')
if [ "$MASAKARI_MODE" = keystone ]; then
    TOK=$("$HERE/get-token.sh") || exit 1
    H+=(-H "X-Auth-Token: $TOK")
fi
OUT=$(curl -s --connect-timeout 5 --max-time "${HTTP_TIMEOUT:-20}" --retry $(( ${HTTP_ATTEMPTS:-5} - 1 )) \
        --retry-connrefused --retry-delay 1 -w '\n%{http_code}' "${H[@]}" "$MASAKARI_URL/notifications${1:+?$1}") || {
    echo "list-notifications.sh: cannot reach $MASAKARI_URL" >&2; exit 1; }
CODE=${OUT##*$'\n'}; BODY=${OUT%$'\n'*}
[ "$CODE" = 200 ] || { echo "list-notifications.sh: HTTP $CODE: $BODY" >&2; exit 1; }
printf '%s\n' "$BODY"
