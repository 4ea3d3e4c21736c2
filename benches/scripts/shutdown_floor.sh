#!/usr/bin/env bash
# SIGTERM → exit of the hyper_tokio and hyper_smol demos, and of the library alone on tokio
# (`lameduck_hyper`: bare_hyper's routes served by lameduck_hyper::serve), against their
# floors (the same hyper server with no shutdown support, ended by SIGTERM's default action),
# with N idle keep-alive connections; the runs of all seven servers interleaved; RSS per
# connection against the floor. Two graceful peers run against the tokio floor as well:
# `hyper_graceful` (bare_hyper with hyper-util's GracefulShutdown and nothing else: what
# closing every connection itself costs any graceful server) and `axum_graceful` (axum::serve
# with with_graceful_shutdown).
# Usage: benches/scripts/shutdown_floor.sh [RUNS]   (needs 10 100 open files, as
# shutdown_latency.sh). smol runs with SMOL_THREADS=2.
set -euo pipefail
RUNS=${1:-7}
cd "$(git rev-parse --show-toplevel)"
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p lameduck-benches --bins -p lameduck-examples --example hyper_tokio --example hyper_smol
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 10100 ]; then
  echo "need at least 10100 open files (ulimit -Hn is $(ulimit -Hn))" >&2
  exit 1
fi
SMOL_THREADS=2 "$TARGET/release/shutdown_latency" --runs "$RUNS" --idle 10,200,1000,10000 --inflight 0 \
  "bare=$TARGET/release/bare_hyper" \
  "bare_smol=$TARGET/release/bare_hyper_smol" \
  "graceful=$TARGET/release/hyper_graceful@bare" \
  "axum=$TARGET/release/axum_graceful@bare" \
  "lib=$TARGET/release/lameduck_hyper@bare" \
  "tokio=$TARGET/release/examples/hyper_tokio@bare" \
  "smol=$TARGET/release/examples/hyper_smol@bare_smol"
