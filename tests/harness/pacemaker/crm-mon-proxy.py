#!/usr/bin/python3
"""crm-mon-proxy.py - crm_mon of the test cluster for processes that cannot
enter its namespaces (mimamorid runs its [pacemaker] crm_mon without
capabilities, and in the mesh harness inside its own PID namespace).

  crm-mon-proxy.py serve SOCKET NODE [TIMEOUT_S]
      listen on the unix socket SOCKET (a path: it works across network and
      mount namespaces); for each client, run `pcmk-exec NODE crm_mon ARGS`
      (same BASE as start-cluster.sh) with a timeout [10 s] and send back its
      exit status and output.  Runs until SIGTERM.
  crm-mon-proxy.py client SOCKET ARGS...
      what to put in [pacemaker] crm_mon (through a wrapper script): prints
      crm_mon's output and exits with its status (2 when the proxy is down).
"""
import os
import socket
import struct
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))


def recv_all(s):
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def serve(path, node, timeout):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o600)
    srv.listen(16)

    def handle(c):
        with c:
            c.settimeout(5)
            try:
                req = b""
                while not req.endswith(b"\n"):
                    b = c.recv(4096)
                    if not b:
                        return
                    req += b
                args = [a for a in req[:-1].decode().split("\0") if a] if req != b"\n" else []
                try:
                    r = subprocess.run([os.path.join(HERE, "pcmk-exec"), node, "crm_mon", *args],
                                       capture_output=True, timeout=timeout)
                    rc, out = r.returncode, r.stdout
                except subprocess.TimeoutExpired:
                    rc, out = 124, b""
                c.sendall(struct.pack("!i", rc) + out)
            except OSError:
                pass

    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def client(path, args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall("\0".join(args).encode() + b"\n")
        data = recv_all(s)
    except OSError as e:
        sys.stderr.write(f"crm-mon-proxy: {path}: {e}\n")
        return 2
    if len(data) < 4:
        return 2
    sys.stdout.buffer.write(data[4:])
    return struct.unpack("!i", data[:4])[0] & 0xFF


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 10.0)
    elif len(sys.argv) >= 3 and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit(__doc__)
