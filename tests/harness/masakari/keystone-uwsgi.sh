#!/bin/bash
# keystone-uwsgi.sh PORT CONFIG_DIR RUN_DIR - Keystone's public API under uwsgi
# in the foreground (start.sh spawns it; ks-stress.sh too): 1 process, 4 native
# threads, on 127.0.0.1:PORT, config from CONFIG_DIR/keystone.conf.
# RUN_DIR/keystone-tb1 is uwsgi's python tracebacker socket of the worker:
#   uwsgi-core --connect-and-read RUN_DIR/keystone-tb1   prints every thread's stack
#   KEYSTONE_WSGI [keystone-wsgi.py here]  the WSGI file (ks-stress.sh passes
#                 Debian's /usr/bin/keystone-wsgi-public to show the deadlock
#                 keystone-wsgi.py removes)
set -u
[ $# = 3 ] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
exec uwsgi-core --plugin python3 --http-socket "127.0.0.1:$1" \
    --wsgi-file "${KEYSTONE_WSGI:-$HERE/keystone-wsgi.py}" --master --processes 1 --threads 4 \
    --enable-threads --die-on-term --no-orphans --buffer-size 65535 \
    --add-header 'Connection: close' --env "OS_KEYSTONE_CONFIG_DIR=$2" \
    --py-tracebacker "$3/keystone-tb"
