#!/usr/bin/env python3
"""SIGUSR2 upgrades of a demo under load sent straight to its port (no load balancer).

    python3 scripts/upgrade-demo-load.py target/debug/examples/hyper_tokio 30

Starts the demo on a free port, runs 4 client threads (a new connection per `GET /`,
`connection: close`), sends SIGUSR2 N times in a row (each to the pid the previous one
handed over to, after the predecessor printed its report), then stops the last one and
prints answered / failed / refused. Not part of CI: the library's own check is
`core/tests/upgrade/` (`scripts/upgrade-in-place.sh`).
"""
import socket, threading, time, subprocess, sys, re, os, signal
exe = sys.argv[1]; n = int(sys.argv[2])
p = subprocess.Popen([exe, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
lines = []
def reader():
    for l in p.stdout: lines.append(l.strip())
threading.Thread(target=reader, daemon=True).start()
while not any(l.startswith("listening") for l in lines): time.sleep(0.01)
port = int(re.search(r":(\d+)$", lines[0]).group(1))
stop = False; ok = [0]; fail = {}; refused = [0]
def client():
    while not stop:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except ConnectionRefusedError:
            refused[0] += 1; continue
        try:
            s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            d = b""
            while True:
                c = s.recv(4096)
                if not c: break
                d += c
            if d.startswith(b"HTTP/1.1 200"): ok[0] += 1
            else: fail["bad:"+repr(d[:20])] = fail.get("bad:"+repr(d[:20]),0)+1
        except Exception as e:
            fail[str(e)] = fail.get(str(e),0)+1
        finally: s.close()
ts = [threading.Thread(target=client) for _ in range(4)]
[t.start() for t in ts]
time.sleep(0.5)
pid = p.pid
for i in range(n):
    os.kill(pid, signal.SIGUSR2)
    while True:
        m = [l for l in lines if l.startswith("upgrade:")]
        if len(m) > i: break
        time.sleep(0.01)
    new = int(m[i].split()[-1]); 
    while sum(1 for l in lines if l.startswith("shutdown:")) <= i: time.sleep(0.01)
    pid = new; time.sleep(0.3)
stop = True; [t.join() for t in ts]
os.kill(pid, signal.SIGTERM); time.sleep(1.5)
print(f"{n} upgrades: ok {ok[0]} failed {sum(fail.values())} refused {refused[0]} {fail}")
