#!/bin/bash
# add-host.sh SEGMENT HOST [HOST...] - make HOSTs members of the failover
# segment named SEGMENT on the stack started by start.sh (same BASE), so that
# Masakari accepts notifications for them.  Idempotent; prints the segment UUID.
#   MODE=keystone: segment and hosts through the API with a token of the service
#     user; each host is registered with the Nova stub first (PUT /stub/hosts/NAME:
#     masakari-api refuses a host Nova does not know, HTTP 400).
#   MODE=noauth: segment through the API, hosts inserted into the Masakari DB
#     (adding a host through the API needs Nova, and Nova needs Keystone).
# The mode and URLs come from $BASE/env.sh.  Env knobs:
#   BASE [$MASAKARI_BASE (set by env.sh), else ${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)]
#   RECOVERY_METHOD [auto]  auto|reserved_host|auto_priority|rh_priority (new segment)
#   RESERVED [0] ON_MAINTENANCE [0]  flags for the hosts added
#   HTTP_TIMEOUT [20] s per request, HTTP_ATTEMPTS [5] tries: a timeout, refused
#     connection or 5xx is retried (creations are safe to repeat: a 409 from a
#     retried POST means the earlier attempt landed, and the name is looked up)
# A host already in another segment is an error (Masakari: one segment per host).
set -euo pipefail
BASE=${BASE:-${MASAKARI_BASE:-${TMPDIR:-/tmp}/mimamori-masakari-$(id -un)}}
[ $# -ge 2 ] || { sed -n '2,15s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[ -f "$BASE/env.sh" ] || { echo "add-host.sh: no $BASE/env.sh: run start.sh first (same BASE)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$BASE/env.sh"
export RECOVERY_METHOD=${RECOVERY_METHOD:-auto} RESERVED=${RESERVED:-0} ON_MAINTENANCE=${ON_MAINTENANCE:-0}
exec /usr/bin/python3 - "$@" <<'PYEOF'
import datetime, json, os, sqlite3, sys, time, urllib.error, urllib.parse, urllib.request, uuid

seg_name, hosts = sys.argv[1], sys.argv[2:]
env = os.environ
mode, url = env['MASAKARI_MODE'], env['MASAKARI_URL'].rstrip('/')
reserved = env['RESERVED'] == '1'
maint = env['ON_MAINTENANCE'] == '1'
TIMEOUT = float(env.get('HTTP_TIMEOUT', '20'))
ATTEMPTS = int(env.get('HTTP_ATTEMPTS', '5'))


def die(msg):
    sys.stderr.write('add-host.sh: %s\n' % msg)
    sys.exit(1)


def http_once(method, full_url, body=None, headers=None):
    req = urllib.request.Request(full_url, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header('Content-Type', 'application/json')
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            data = r.read()
            return r.status, r.headers, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        data = e.read()
        try:
            return e.code, e.headers, json.loads(data)
        except ValueError:
            return e.code, e.headers, data.decode(errors='replace')


def http(method, full_url, body=None, headers=None):
    # bounded: ATTEMPTS tries of TIMEOUT s; no answer, a refused connection
    # or a 5xx is tried again, any other status is the caller's
    last = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            code, h, data = http_once(method, full_url, body, headers)
            if code < 500:
                return code, h, data
            last = 'HTTP %s %s' % (code, data)
        except OSError as e:   # URLError, timeout, reset
            last = repr(e)
        sys.stderr.write('add-host.sh: %s %s attempt %d/%d: %s\n'
                         % (method, full_url, attempt, ATTEMPTS, last))
        time.sleep(min(0.25 * 2 ** attempt, 4))
    die('%s %s: no answer after %d attempts of %gs (%s)' % (method, full_url, ATTEMPTS, TIMEOUT, last))


hdr = {'OpenStack-API-Version': 'instance-ha 1.2'}
if mode == 'keystone':
    auth = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': env['OS_USERNAME'], 'domain': {'id': 'default'},
        'password': env['OS_PASSWORD']}}},
        'scope': {'project': {'name': env['OS_PROJECT_NAME'], 'domain': {'id': 'default'}}}}}
    code, h, _ = http('POST', env['OS_AUTH_URL'].rstrip('/') + '/auth/tokens', auth)
    if code != 201:
        die('no token from Keystone (HTTP %s)' % code)
    hdr['X-Auth-Token'] = h['X-Subject-Token']


def api(method, path, body=None, ok=(200, 201, 202, 204)):
    code, _, data = http(method, url + path, body, hdr)
    if code not in ok:
        die('%s %s -> HTTP %s %s' % (method, path, code, data))
    return data


# ---- segment (by name)
segs = api('GET', '/segments?limit=1000')['segments']
seg = next((s for s in segs if s['name'] == seg_name), None)
if seg is None:
    seg = api('POST', '/segments', {'segment': {
        'name': seg_name, 'recovery_method': env['RECOVERY_METHOD'],
        'service_type': 'COMPUTE'}}, ok=(200, 201, 202, 409)) or {}
    if 'segment' in seg:
        seg = seg['segment']
    else:   # 409: a retried POST whose first attempt landed (names are unique)
        seg = next(s for s in api('GET', '/segments?limit=1000')['segments']
                   if s['name'] == seg_name)
seg_uuid = seg['uuid']

# ---- hosts
present = {h['name'] for h in api('GET', '/segments/%s/hosts?limit=1000' % seg_uuid)['hosts']}
for name in hosts:
    if name in present:
        continue
    if mode == 'keystone':
        if env.get('NOVA_URL'):
            nova = env['NOVA_URL'].rstrip('/')
            code, _, data = http('PUT', '%s/stub/hosts/%s' % (nova, urllib.parse.quote(name, safe='')))
            if code not in (200, 201):
                die('nova stub refused host %s: HTTP %s %s' % (name, code, data))
        r = api('POST', '/segments/%s/hosts' % seg_uuid, {'host': {
            'name': name, 'type': 'COMPUTE', 'control_attributes': 'SSH',
            'reserved': reserved, 'on_maintenance': maint}}, ok=(200, 201, 202, 409))
        if not (r and 'host' in r) and name not in {
                h['name'] for h in api('GET', '/segments/%s/hosts?limit=1000' % seg_uuid)['hosts']}:
            die('host %s: HTTP 409 (already in another segment?) %s' % (name, r))
    else:
        db = sqlite3.connect(os.path.join(env['MASAKARI_BASE'], 'data', 'masakari.sqlite'), timeout=30)
        with db:
            row = db.execute('SELECT failover_segment_id FROM hosts WHERE name=? AND deleted=0',
                             (name,)).fetchone()
            if row:
                die('host %s is already in segment %s' % (name, row[0]))
            db.execute('INSERT INTO hosts (created_at, deleted, uuid, name, reserved, type, '
                       'control_attributes, failover_segment_id, on_maintenance) '
                       "VALUES (?, 0, ?, ?, ?, 'COMPUTE', 'SSH', ?, ?)",
                       (datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S'),
                        str(uuid.uuid4()), name, int(reserved), seg_uuid, int(maint)))
        db.close()
    sys.stderr.write('add-host.sh: %s added to segment %s (%s)\n' % (name, seg_name, seg_uuid))
print(seg_uuid)
PYEOF
