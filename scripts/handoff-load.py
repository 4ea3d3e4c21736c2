#!/usr/bin/env python3
"""Replacing a demo server N times in a row under load sent straight to its port, three ways:

    python3 scripts/handoff-load.py target/release/examples/hyper_tokio 30 takeover
    python3 scripts/handoff-load.py target/release/examples/hyper_tokio 30 sigusr2
    python3 scripts/handoff-load.py target/release/examples/hyper_tokio 30 restart
    python3 scripts/handoff-load.py target/release/examples/hyper_tokio 30 fdstore

- takeover: a successor started separately, `--take-over PATH` (the old server runs with
  `--control PATH`); waits for the successor's `upgrade: took over from pid` and the old
  server's exit (which must be 0).
- sigusr2: the in-place upgrade, SIGUSR2 to the server that serves.
- restart: SIGTERM, wait for the exit, start a new process on the same port.
- fdstore: `restart` as systemd does it with a file-descriptor store: this script is the
  service manager (`NOTIFY_SOCKET`, `FDSTORE=1`), keeps the socket the first server stores,
  and starts each next server with it as fd 3 (`LISTEN_FDS=1`, `LISTEN_PID`).

Load: 4 threads opening a new connection per `GET /` (`connection: close`), and 2 keep-alive
threads sending `GET /` one after another on one connection, reconnecting when the server
closes it. Prints answered / failed / refused for the first kind and answered / lost for the
keep-alive kind (a request sent on a kept connection that got no response). Not part of CI
(child-process tests in examples/tests/handoff.rs check the same with a few hand-offs).
"""
import os, re, signal, socket, subprocess, sys, tempfile, threading, time

exe, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
workdir = tempfile.mkdtemp(prefix="lameduck-handoff-")
control = os.path.join(workdir, "control.sock")
pid_file = os.path.join(workdir, "server.pid")


notify = os.path.join(workdir, "notify.sock")
manager = None
stored = None
env = dict(os.environ)
if mode == "fdstore":
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(notify)
    env.update(NOTIFY_SOCKET=notify, FDSTORE="1")


class Server:
    def __init__(self, args, fd=None):
        self.lines = []
        command = [exe, *args]
        if fd is not None:
            # The stored socket as fd 3, with LISTEN_PID = the server's own pid.
            command = ["/bin/sh", "-c", f'exec 3<&{fd}; LISTEN_PID=$$; export LISTEN_PID; '
                       'LISTEN_FDS=1; export LISTEN_FDS; exec "$0" "$@"', *command]
        self.p = subprocess.Popen(command, stdout=subprocess.PIPE, env=env,
                                  pass_fds=() if fd is None else (fd,),
                                  stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.p.stdout:
            self.lines.append(line.strip())

    def wait_line(self, prefix, bound=20):
        end = time.time() + bound
        while time.time() < end:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            if self.p.poll() is not None and not any(l.startswith(prefix) for l in self.lines):
                time.sleep(0.05)
                if not any(l.startswith(prefix) for l in self.lines):
                    sys.exit(f"server {self.p.pid} exited {self.p.returncode} before {prefix!r}: {self.lines}")
            time.sleep(0.005)
        sys.exit(f"no {prefix!r} from {self.p.pid}: {self.lines}")


base = ["--lame-duck-ms", "0"]
if mode == "takeover":
    base += ["--control", control, "--pid-file", pid_file]
server = Server(["--addr", "127.0.0.1:0", *base])
port = int(re.search(r":(\d+)$", server.wait_line("listening on")).group(1))
if mode == "fdstore":
    manager.settimeout(10)
    while stored is None:
        message, fds, _, _ = socket.recv_fds(manager, 4096, 4)
        if message.startswith(b"FDSTORE=1"):
            stored = fds[0]

stop = False
counts = {"ok": 0, "failed": 0, "refused": 0, "kept_ok": 0, "kept_lost": 0}
lock = threading.Lock()


def count(key):
    with lock:
        counts[key] += 1


def fresh():
    while not stop:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except ConnectionRefusedError:
            count("refused"); continue
        except OSError:
            count("failed"); continue
        try:
            s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            count("ok" if data.startswith(b"HTTP/1.1 200") else "failed")
        except OSError:
            count("failed")
        finally:
            s.close()


def response(s, buf):
    """One response on a kept connection: (ok, close, rest), or None at EOF first."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            return None
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
    while len(rest) < length:
        chunk = s.recv(4096)
        if not chunk:
            return None
        rest += chunk
    close = re.search(rb"connection: *close", head, re.I) is not None
    return head.startswith(b"HTTP/1.1 200"), close, rest[length:]


def kept():
    s = None
    buf = b""
    while not stop:
        if s is None:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                buf = b""
            except ConnectionRefusedError:
                count("refused"); continue
            except OSError:
                count("kept_lost"); continue
        try:
            s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            got = response(s, buf)
        except OSError:
            got = None
        if got is None:
            count("kept_lost"); s.close(); s = None; continue
        ok, close, buf = got
        count("kept_ok" if ok else "kept_lost")
        if close:
            s.close(); s = None
        time.sleep(0.001)


threads = [threading.Thread(target=fresh) for _ in range(4)] + \
          [threading.Thread(target=kept) for _ in range(2)]
for t in threads:
    t.start()
time.sleep(0.5)
pid = server.p.pid
start = time.time()
for i in range(n):
    if mode == "takeover":
        new = Server(["--take-over", control, *base])
        new.wait_line("upgrade: took over from pid")
        if server.p.wait(timeout=30) != 0:
            sys.exit(f"the old server exited {server.p.returncode}: {server.lines}")
        server = new
    elif mode == "sigusr2":
        # The successors' stdout is the first server's pipe: count its lines.
        os.kill(pid, signal.SIGUSR2)
        while sum(1 for l in server.lines if l.startswith("upgrade: ")) <= i:
            time.sleep(0.005)
        line = [l for l in server.lines if l.startswith("upgrade: ")][i]
        if not line.startswith("upgrade: handed over to pid "):
            sys.exit(line)
        while sum(1 for l in server.lines if l.startswith("shutdown: ")) <= i:
            time.sleep(0.005)
        pid = int(line.split()[-1])
    elif mode == "fdstore":
        server.p.send_signal(signal.SIGTERM)
        server.p.wait(timeout=60)
        server = Server(["--addr", f"127.0.0.1:{port}", *base], fd=stored)
        server.wait_line("listening on")
    else:
        server.p.send_signal(signal.SIGTERM)
        server.p.wait(timeout=60)
        server = Server(["--addr", f"127.0.0.1:{port}", *base])
        server.wait_line("listening on")
    time.sleep(0.2)
elapsed = time.time() - start
stop = True
for t in threads:
    t.join()
os.kill(pid if mode == "sigusr2" else server.p.pid, signal.SIGTERM)
time.sleep(1)
print(f"{mode}: {n} in {elapsed:.1f} s; new connection per request: ok {counts['ok']} "
      f"failed {counts['failed']} refused {counts['refused']}; keep-alive: ok "
      f"{counts['kept_ok']} lost {counts['kept_lost']}")
