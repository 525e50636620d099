#!/usr/bin/python3
"""Keystone's public WSGI application (what /usr/bin/keystone-wsgi-public
serves), for uwsgi's native threads, with one fix.

The deadlock this removes (Keystone hung on token requests after a fresh
start, more often on a loaded machine): keystone imports osprofiler, whose
loginsight driver imports oslo_concurrency.lockutils, which imports eventlet
(optionally; nothing is monkey-patched).  oslo.log 5.0.1's setup() then sees
eventlet in sys.modules and swaps the logging module's lock for an
eventlet.green.threading.RLock and every handler's lock for a PipeMutex
(_fix_eventlet_logging).  Those locks are made for green threads of ONE
native thread; uwsgi runs 4 native threads.  When two requests contend for a
logging lock (creating loggers and handlers on the first requests after a
start: more overlap when the machine is slow), the waiter parks on its own
thread's eventlet hub and is never woken ("greenlet.error: cannot switch to a
different thread" in the uwsgi log), holding up every later request that logs;
GET /v3 still answered.  Later oslo.log releases apply the swap only when
eventlet monkey-patched threading: that is what this does.
Reproduction: tests/harness/masakari/ks-stress.sh.
"""
import sys

from oslo_log import log as oslo_log

_fix_eventlet_logging = oslo_log._fix_eventlet_logging


def _fix_only_when_patched():
    eventlet = sys.modules.get('eventlet')
    if eventlet:
        from eventlet import patcher
        if patcher.is_monkey_patched('thread'):
            _fix_eventlet_logging()


oslo_log._fix_eventlet_logging = _fix_only_when_patched

from keystone.server.wsgi import initialize_public_application  # noqa: E402

application = initialize_public_application()
