#!/usr/bin/python3
"""Minimal in-memory stand-in for the Nova compute API (microversion 2.53).

Only what masakari-api/-engine call: os-services list/update, servers
get/list/actions, os-aggregates list.  No token check.

Which hosts exist (masakari-api asks `GET /os-services?host=NAME` before it
adds a host to a segment; no service -> HTTP 400 from Masakari):
  --hosts all         (default) every host name is a nova-compute service,
                      except names starting with "nonova" and names removed
                      with DELETE /stub/hosts/NAME
  --hosts registered  only names registered with PUT /stub/hosts/NAME
                      (tests/harness/masakari/add-host.sh does that)
Stub control (not Nova API): PUT|DELETE /stub/hosts/NAME, GET /stub/hosts.
Every server UUID exists, is ACTIVE, has metadata HA_Enabled=True and lives
on the first registered host (compute1 if none).
usage: nova-stub.py [--hosts all|registered] [port]   (binds 127.0.0.1 only)
"""
import argparse
import datetime
import json
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

LOCK = threading.Lock()
SERVICES = {}
SERVERS = {}
REGISTERED = []       # host names, in registration order
REMOVED = set()       # host names made unknown with DELETE /stub/hosts/NAME
HOSTS_MODE = 'all'


def now():
    return datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%S.000000')


def host_known(host):
    if host in REMOVED:
        return False
    if HOSTS_MODE == 'registered':
        return host in REGISTERED
    return host in REGISTERED or not host.startswith('nonova')


def service_for(host):
    with LOCK:
        if not host_known(host):
            return None
        if host not in SERVICES:
            SERVICES[host] = {
                'id': str(uuid.uuid5(uuid.NAMESPACE_DNS, host)),
                'binary': 'nova-compute', 'host': host, 'zone': 'nova',
                'status': 'enabled', 'state': 'up', 'disabled_reason': None,
                'forced_down': False, 'updated_at': now()}
        return SERVICES[host]


def server_for(sid):
    with LOCK:
        if sid not in SERVERS:
            home = REGISTERED[0] if REGISTERED else 'compute1'
            SERVERS[sid] = {
                'id': sid, 'name': 'vm-' + sid[:8], 'status': 'ACTIVE',
                'OS-EXT-STS:vm_state': 'active',
                'OS-EXT-SRV-ATTR:host': home,
                'OS-EXT-SRV-ATTR:hypervisor_hostname': home,
                'metadata': {'HA_Enabled': 'True'}, 'locked': False,
                'tenant_id': 'stub', 'user_id': 'stub', 'links': []}
        return SERVERS[sid]


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        sys.stderr.write('nova-stub %s %s\n' % (now(), fmt % args))

    def _send(self, code, body=None):
        data = b'' if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('OpenStack-API-Version', 'compute 2.53')
        self.send_header('X-OpenStack-Nova-API-Version', '2.53')
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return json.loads(self.rfile.read(n) or b'{}') if n else {}

    def _path(self):
        u = urlparse(self.path)
        p = re.sub(r'^/v2(\.1)?', '', u.path).rstrip('/')
        return p, {k: v[0] for k, v in parse_qs(u.query).items()}

    def _404(self, p):
        return self._send(404, {'itemNotFound': {'code': 404,
                                                 'message': 'stub: ' + p}})

    def do_GET(self):
        p, q = self._path()
        if p == '':
            return self._send(200, {'version': {
                'id': 'v2.1', 'status': 'CURRENT', 'version': '2.90',
                'min_version': '2.1', 'links': []}})
        if p == '/stub/hosts':
            with LOCK:
                return self._send(200, {'hosts': list(REGISTERED),
                                        'removed': sorted(REMOVED),
                                        'mode': HOSTS_MODE})
        if p == '/os-services':
            with LOCK:
                hosts = [q['host']] if 'host' in q else list(SERVICES)
            return self._send(200, {'services': [
                s for s in (service_for(h) for h in hosts) if s]})
        if p in ('/servers/detail', '/servers'):
            host = q.get('host')
            with LOCK:
                svs = [s for s in SERVERS.values()
                       if host is None or s['OS-EXT-SRV-ATTR:host'] == host]
            return self._send(200, {'servers': svs})
        m = re.match(r'^/servers/([0-9a-fA-F-]{36})$', p)
        if m:
            return self._send(200, {'server': server_for(m.group(1))})
        if p == '/os-aggregates':
            return self._send(200, {'aggregates': []})
        return self._404(p)

    def do_DELETE(self):
        p, _ = self._path()
        m = re.match(r'^/stub/hosts/(.+)$', p)
        if not m:
            return self._404(p)
        name = unquote(m.group(1))
        with LOCK:
            if name in REGISTERED:
                REGISTERED.remove(name)
            REMOVED.add(name)
            SERVICES.pop(name, None)
        return self._send(204)

    def do_PUT(self):
        p, _ = self._path()
        m = re.match(r'^/stub/hosts/(.+)$', p)
        if m:
            name = unquote(m.group(1))
            with LOCK:
                REMOVED.discard(name)
                if name not in REGISTERED:
                    REGISTERED.append(name)
            return self._send(201, {'host': name})
        m = re.match(r'^/os-services/(.+)$', p)
        if m:
            b = self._body()
            with LOCK:
                for s in SERVICES.values():
                    if s['id'] == m.group(1):
                        if 'status' in b:
                            s['status'] = b['status']
                            s['disabled_reason'] = b.get('disabled_reason')
                        if 'forced_down' in b:
                            s['forced_down'] = b['forced_down']
                        s['updated_at'] = now()
                        return self._send(200, {'service': s})
        return self._404(p)

    def do_POST(self):
        p, _ = self._path()
        m = re.match(r'^/servers/([0-9a-fA-F-]{36})/action$', p)
        if not m:
            return self._404(p)
        s = server_for(m.group(1))
        b = self._body()
        with LOCK:
            if 'os-stop' in b:
                s['OS-EXT-STS:vm_state'], s['status'] = 'stopped', 'SHUTOFF'
            elif 'os-start' in b:
                s['OS-EXT-STS:vm_state'], s['status'] = 'active', 'ACTIVE'
            elif 'os-resetState' in b:
                s['OS-EXT-STS:vm_state'] = b['os-resetState']['state']
            elif 'evacuate' in b:
                s['OS-EXT-SRV-ATTR:host'] = ((b['evacuate'] or {}).get('host')
                                             or 'evacuated-host')
                return self._send(200, {})
            elif 'lock' in b:
                s['locked'] = True
            elif 'unlock' in b:
                s['locked'] = False
        return self._send(202)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description='Nova API stand-in for Masakari')
    ap.add_argument('--hosts', choices=('all', 'registered'), default='all')
    ap.add_argument('port', nargs='?', type=int, default=8774)
    args = ap.parse_args()
    HOSTS_MODE = args.hosts
    port = args.port
    srv = ThreadingHTTPServer(('127.0.0.1', port), Handler)
    srv.daemon_threads = True
    print('nova-stub on http://127.0.0.1:%d/v2.1 (hosts: %s)' % (port, HOSTS_MODE),
          flush=True)
    srv.serve_forever()
