#!/bin/bash
# get-token.sh [user] [password] [project]  -> prints a Keystone v3 token
# (project-scoped, domain Default).  Defaults come from the environment, so after
# `. "$BASE/env.sh"` it prints a token of the service user (masakari, admin role
# in project service), which may do everything the tests need.
#   OS_AUTH_URL [http://127.0.0.1:${KS_PORT:-5000}/v3]  OS_USERNAME [admin]
#   OS_PASSWORD [adminpass]  OS_PROJECT_NAME [admin]
#   HTTP_TIMEOUT [20] s per request, HTTP_ATTEMPTS [5] tries (a token request is
#   safe to repeat; timeouts, refused connections, 5xx are retried)
# Exit 1 (and nothing on stdout) when Keystone gives no token.
set -uo pipefail
U=${1:-${OS_USERNAME:-admin}}; P=${2:-${OS_PASSWORD:-adminpass}}; PR=${3:-${OS_PROJECT_NAME:-admin}}
URL=${OS_AUTH_URL:-http://127.0.0.1:${KS_PORT:-5000}/v3}
BODY=$(/usr/bin/python3 -c 'import json,sys; u,p,pr=sys.argv[1:4]; print(json.dumps({"auth":{
  "identity":{"methods":["password"],"password":{"user":{"name":u,"domain":{"id":"default"},"password":p}}},
  "scope":{"project":{"name":pr,"domain":{"id":"default"}}}}}))' "$U" "$P" "$PR") || exit 1
TOK=$(curl -s --connect-timeout 5 --max-time "${HTTP_TIMEOUT:-20}" --retry $(( ${HTTP_ATTEMPTS:-5} - 1 )) \
        --retry-connrefused --retry-delay 1 -o /dev/null -D - -H 'Content-Type: application/json' \
        -X POST "${URL%/}/auth/tokens" -d "$BODY" \
      | awk -F': ' 'tolower($1)=="x-subject-token"{gsub("\r","",$2);print $2}')
[ -n "$TOK" ] || { echo "get-token.sh: no token from $URL for $U/$PR" >&2; exit 1; }
echo "$TOK"
