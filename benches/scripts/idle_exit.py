#!/usr/bin/env python3
"""SIGTERM → exit of a demo server with idle clients that keep their sockets open.

    python3 benches/scripts/idle_exit.py target/release/examples/hyper_tokio \
        [--clients 10] [--runs 5] [--lame-duck-ms 300] [--kind asked|silent|closing]

Each run starts the demo on a free port, opens `--clients` connections, and then:

- asked (default): sends one `GET /` on each, reads the answer, and keeps the socket open
  without a word more, as a pooled keep-alive client does between requests;
- silent: sends nothing at all, as a browser's or a balancer's preconnected socket;
- closing: as asked, and closes its socket as soon as the server ends the stream (hyper's
  pool, browsers, haproxy).

It then sends SIGTERM and times the exit (milliseconds, from the signal to the process's
end), and prints each run, the median, and the demo's `shutdown:` line of the last run. A
run whose exit code is not 0 or whose report is not `drained=true` is printed as such: the
harness measures clean drains only.

Only the Python standard library is needed. Not part of CI: it measures, it asserts nothing
(the drains' behaviour is asserted in examples/tests/drains.rs and adapter-hyper/tests/linger.rs).
"""
import argparse, os, signal, socket, statistics, subprocess, sys, threading, time

parser = argparse.ArgumentParser()
parser.add_argument("demo")
parser.add_argument("--clients", type=int, default=10)
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--lame-duck-ms", type=int, default=300)
parser.add_argument("--kind", choices=["asked", "silent", "closing"], default="asked")
args = parser.parse_args()


def client(port, kind, sockets):
    s = socket.create_connection(("127.0.0.1", port))
    sockets.append(s)
    if kind == "silent":
        return
    s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    if kind == "closing":
        # Read until the server ends the stream, then close at once.
        def closer():
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
            s.close()

        threading.Thread(target=closer, daemon=True).start()


def run_once():
    proc = subprocess.Popen(
        [args.demo, "--addr", "127.0.0.1:0", "--lame-duck-ms", str(args.lame_duck_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        sys.exit(f"unexpected first line: {line!r}")
    port = int(line.rsplit(":", 1)[1])
    sockets = []
    for _ in range(args.clients):
        client(port, args.kind, sockets)
    time.sleep(0.05)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out = proc.stdout.read()
    code = proc.wait()
    elapsed = (time.monotonic() - start) * 1000
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass
    report = [l for l in out.splitlines() if l.startswith("shutdown:")]
    report = report[-1] if report else "(no shutdown line)"
    return elapsed, code, report


times = []
for i in range(args.runs):
    elapsed, code, report = run_once()
    clean = code == 0 and "drained=true" in report
    print(f"run {i + 1}: {elapsed:.1f} ms, exit {code}{'' if clean else ', NOT CLEAN'}")
    if clean:
        times.append(elapsed)
print(f"last report: {report}")
if times:
    print(
        f"{os.path.basename(args.demo)} {args.kind} clients={args.clients} "
        f"lame_duck_ms={args.lame_duck_ms}: median {statistics.median(times):.1f} ms "
        f"over {len(times)} clean runs"
    )
