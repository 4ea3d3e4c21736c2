#!/usr/bin/env bash
# HTTP overhead: `GET /` throughput and latency of the hyper_tokio demo (lameduck) against a
# bare hyper server with no shutdown support, the axum demo (lameduck) and plain
# `axum::serve` + `with_graceful_shutdown`, in alternating runs.
#
#   benches/scripts/http_overhead.sh [ROUNDS] [SECONDS]      (defaults: 3 rounds, 8 s a run)
#
# HTTP/1.1 keep-alive with wrk at 64 and 4096 connections; HTTP/2 (h2c, prior knowledge)
# with h2load at 64 connections x 10 streams. Needs wrk and h2load (Debian: wrk,
# nghttp2-client), installed if missing. Loopback only; every run is bounded by SECONDS.
#
# The server and the load generator run on separate cores (taskset): the server on
# SERVER_CPUS (default: every core but the last), wrk/h2load on CLIENT_CPUS (default: the
# last core), so the load generator does not take the server's cycles. On one core both
# share it (and the figures say little).
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-8}
cd "$(git rev-parse --show-toplevel)"
TARGET=${CARGO_TARGET_DIR:-target}
if ! command -v wrk >/dev/null || ! command -v h2load >/dev/null; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  echo "installing wrk and h2load (Debian: wrk, nghttp2-client)" >&2
  $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq wrk nghttp2-client >/dev/null
fi
cargo build --release -q -p lameduck-benches --bins -p lameduck-examples --example hyper_tokio --example axum
ulimit -n "$(ulimit -Hn)"
CPUS=$(nproc)
if [ "$CPUS" -ge 2 ]; then
  SERVER_CPUS=${SERVER_CPUS:-0-$((CPUS - 2))}
  CLIENT_CPUS=${CLIENT_CPUS:-$((CPUS - 1))}
else
  SERVER_CPUS=${SERVER_CPUS:-0} CLIENT_CPUS=${CLIENT_CPUS:-0}
fi
echo "server on cores $SERVER_CPUS, load generator on cores $CLIENT_CPUS" >&2

SERVERS=(
  "bare_hyper=$TARGET/release/bare_hyper"
  "lameduck_hyper_tokio=$TARGET/release/examples/hyper_tokio"
  "lameduck_axum=$TARGET/release/examples/axum"
  "axum_serve=$TARGET/release/axum_graceful"
)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results

start() { # start BIN -> sets PID and ADDR
  taskset -c "$SERVER_CPUS" "$1" --addr 127.0.0.1:0 >"$WORK/out" 2>/dev/null &
  PID=$!
  for _ in $(seq 1 500); do
    ADDR=$(sed -n 's#^listening on http://##p' "$WORK/out")
    [ -n "$ADDR" ] && return 0
    sleep 0.01
  done
  echo "server $1 did not start" >&2; kill "$PID"; exit 1
}

stop() {
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s -> ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

for round in $(seq 1 "$ROUNDS"); do
  for case in "h1 64" "h1 4096" "h2 64"; do
    set -- $case
    proto=$1 conns=$2
    for entry in "${SERVERS[@]}"; do
      name=${entry%%=*} bin=${entry#*=}
      start "$bin"
      if [ "$proto" = h1 ]; then
        taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"${SECS}s" --latency "http://$ADDR/" >"$WORK/run" 2>&1 || true
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/run")
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/run")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/run")")
        errors=$(awk '/Socket errors|Non-2xx/ { print }' "$WORK/run" | tr '\n' ' ')
        [ -n "$rps" ] || { echo "wrk got nothing from $name:" >&2; tail -5 "$WORK/run" >&2; }
      else
        taskset -c "$CLIENT_CPUS" h2load -c"$conns" -m10 -D "$SECS" "http://$ADDR/" >"$WORK/run" 2>&1 || true
        rps=$(awk '/^finished in/ { gsub(",", "", $4); print $4 }' "$WORK/run")
        p50=$(awk '/^time for request:/ { print $6 }' "$WORK/run")
        p50=$(to_ms "$p50")  # h2load gives the mean here, not the median
        p99=NA
        errors=$(awk '/^requests:/ { print }' "$WORK/run")
        case "$rps" in ""|0|0.00) echo "h2load got nothing from $name:" >&2; tail -5 "$WORK/run" >&2 ;; esac
      fi
      stop
      # A failed run (no figure) is reported above and left out of the means.
      case "$rps" in ""|0|0.00) ;; *) echo "$proto $conns $name $rps $p50 $p99" >>"$RESULTS" ;; esac
      printf 'round %s %-3s %5s conns %-22s %10s req/s  p50 %8s ms  p99 %8s ms %s\n' \
        "$round" "$proto" "$conns" "$name" "$rps" "$p50" "$p99" "$errors"
    done
  done
done

echo
echo "mean over the successful runs of $ROUNDS rounds (ratio = req/s against bare_hyper; p50 for h2 is h2load's mean)"
printf "%-4s %6s %-22s %12s %8s %10s %10s\n" "http" "conns" "server" "req/s" "ratio" "p50 ms" "p99 ms"
awk '
  { key = $1 " " $2 " " $3; n[key]++; rps[key] += $4; p50[key] += $5; if ($6 != "NA") p99[key] += $6; else p99[key] = "NA" }
  $3 == "bare_hyper" { base[$1 " " $2] += $4; bn[$1 " " $2]++ }
  END {
    for (key in n) {
      split(key, k, " ")
      b = base[k[1] " " k[2]] / bn[k[1] " " k[2]]
      q99 = (p99[key] == "NA") ? "NA" : sprintf("%.3f", p99[key] / n[key])
      printf "%-4s %6s %-22s %12.0f %8.3f %10.3f %10s\n", k[1], k[2], k[3], rps[key] / n[key], (rps[key] / n[key]) / b, p50[key] / n[key], q99
    }
  }' "$RESULTS" | sort -k1,1 -k2,2n -k3,3
