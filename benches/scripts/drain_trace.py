#!/usr/bin/env python3
"""Runs a Linux profiler on a server's SIGTERM -> exit, and on nothing else.

    python3 benches/scripts/drain_trace.py N SERVER [PROFILER ...]

Starts SERVER (`SERVER --addr 127.0.0.1:0`, which prints `listening on http://IP:PORT`),
opens N keep-alive connections and has one `GET /` answered on each, then attaches
PROFILER to the server (`PROFILER ... -p PID`), sends SIGTERM, waits for the exit and stops
the profiler. PROFILER defaults to `perf trace -s` (the system calls of each thread, with
counts and times); `perf record -g -o drain.data` gives a profile of the same span. What
the profiler prints goes to stderr as it comes.

    cargo build --release -p lameduck-benches --bins
    python3 benches/scripts/drain_trace.py 1000 target/release/lameduck_hyper
    python3 benches/scripts/drain_trace.py 1000 target/release/bare_hyper   # makes none

Needs N + 100 open files (`ulimit -n`) and the right to trace (root, or
kernel.perf_event_paranoid <= 1). The counts are exact; the times include the tracer's own
cost per system call.
"""
import resource
import signal
import socket
import subprocess
import sys
import time


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    count, server = int(sys.argv[1]), sys.argv[2]
    profiler = sys.argv[3:] or ["perf", "trace", "-s"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
    child = subprocess.Popen([server, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE)
    line = child.stdout.readline().decode()
    port = int(line.rsplit(":", 1)[1])
    conns = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(b"GET / HTTP/1.1\r\nhost: bench\r\n\r\n")
        conns.append(conn)
    for conn in conns:
        if not conn.recv(4096).startswith(b"HTTP/1.1 200"):
            sys.exit("a request was not answered 200")
    tracer = subprocess.Popen(profiler + ["-p", str(child.pid)])
    # perf attaches asynchronously and says nothing when it has: give it time.
    time.sleep(1.5)
    start = time.monotonic()
    child.send_signal(signal.SIGTERM)
    code = child.wait()
    took = time.monotonic() - start
    time.sleep(0.3)
    tracer.send_signal(signal.SIGINT)
    tracer.wait()
    print(f"{count} idle connections: SIGTERM -> exit {took * 1e3:.1f} ms (traced), exit code {code}")


if __name__ == "__main__":
    main()
