#!/usr/bin/env bash
# Shutdown latency: SIGTERM to exit with N idle keep-alive connections, and last response to
# exit with 100 requests in flight, for the hyper_tokio demo (lameduck), the axum demo
# (lameduck) and plain `axum::serve` + `with_graceful_shutdown` as axum's docs build it.
#
#   benches/scripts/shutdown_latency.sh [RUNS]      (default 5 runs per server and case)
#
# Runs alternate between the servers. Loopback only. Needs up to 10 000 descriptors in the
# client and in the server: the script raises the soft limit to the hard one.
set -euo pipefail
RUNS=${1:-5}
cd "$(git rev-parse --show-toplevel)"
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p lameduck-benches --bins -p lameduck-examples --example hyper_tokio --example axum
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 10100 ]; then
  echo "need at least 10100 open files (ulimit -Hn is $(ulimit -Hn))" >&2
  exit 1
fi
"$TARGET/release/shutdown_latency" --runs "$RUNS" --idle 10,1000,10000 --inflight 100 --sleep-ms 500 \
  "lameduck=$TARGET/release/examples/hyper_tokio" \
  "lameduck_axum=$TARGET/release/examples/axum" \
  "axum_serve=$TARGET/release/axum_graceful"
