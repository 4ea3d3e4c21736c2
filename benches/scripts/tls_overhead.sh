#!/usr/bin/env bash
# TLS: `GET /` throughput of lameduck_hyper::serve_tls (the `lameduck_hyper` bench server with
# --tls-cert) against axum-server with rustls (`axum_server_tls`, the peer axum users pick
# for TLS) and bare hyper behind a tokio-rustls handshake (`bare_hyper_tls`, no shutdown
# support), the same certificate, in alternating runs of one invocation.
#
#   benches/scripts/tls_overhead.sh [ROUNDS] [SECONDS]      (defaults: 3 rounds, 5 s a run)
#
# Two cases, HTTP/1.1 with wrk at 64 connections: keep-alive (the per-request cost once the
# handshake is paid) and a new connection per request (`Connection: close`: a full TLS
# handshake each, ECDSA P-256, no session resumption by wrk). Needs wrk and openssl (for the
# throw-away certificate), installed if missing. Loopback only; every run is bounded by
# SECONDS. Server on SERVER_CPUS, wrk on CLIENT_CPUS, as http_overhead.sh.
#
# Besides requests per second (wall time: on a shared machine it mostly measures the other
# processes), each run reports the server's CPU time per request (utime + stime from
# /proc/PID/stat, in clock ticks, over the requests wrk completed), which other load on the
# machine does not inflate: the per-request cost column compares that.
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-5}
cd "$(git rev-parse --show-toplevel)"
TARGET=${CARGO_TARGET_DIR:-target}
if ! command -v wrk >/dev/null || ! command -v openssl >/dev/null; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  echo "installing wrk and openssl" >&2
  $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq wrk openssl >/dev/null
fi
cargo build --release -q -p lameduck-benches --bin lameduck_hyper --bin bare_hyper_tls --bin axum_server_tls
ulimit -n "$(ulimit -Hn)"
CPUS=$(nproc)
if [ "$CPUS" -ge 2 ]; then
  SERVER_CPUS=${SERVER_CPUS:-0-$((CPUS - 2))}
  CLIENT_CPUS=${CLIENT_CPUS:-$((CPUS - 1))}
else
  SERVER_CPUS=${SERVER_CPUS:-0} CLIENT_CPUS=${CLIENT_CPUS:-0}
fi
echo "server on cores $SERVER_CPUS, load generator on cores $CLIENT_CPUS; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results
# One certificate for every server: ECDSA P-256, as rcgen and most ACME clients make.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost 2>/dev/null
TLS=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem")

SERVERS=(
  "bare_hyper_tls=$TARGET/release/bare_hyper_tls"
  "lameduck_hyper=$TARGET/release/lameduck_hyper"
  "axum_server=$TARGET/release/axum_server_tls"
)

start() { # start BIN -> sets PID and ADDR
  taskset -c "$SERVER_CPUS" "$1" --addr 127.0.0.1:0 "${TLS[@]}" >"$WORK/out" 2>/dev/null &
  PID=$!
  for _ in $(seq 1 500); do
    ADDR=$(sed -n 's#^listening on https://##p' "$WORK/out")
    [ -n "$ADDR" ] && return 0
    sleep 0.01
  done
  echo "server $1 did not start" >&2; kill "$PID"; exit 1
}

stop() {
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}

for round in $(seq 1 "$ROUNDS"); do
  for case in keepalive close; do
    header=()
    [ "$case" = close ] && header=(-H "Connection: close")
    for entry in "${SERVERS[@]}"; do
      name=${entry%%=*} bin=${entry#*=}
      start "$bin"
      ticks0=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
      taskset -c "$CLIENT_CPUS" wrk -t1 -c64 -d"${SECS}s" "${header[@]}" "https://$ADDR/" >"$WORK/run" 2>&1 || true
      ticks=$(( $(awk '{ print $14 + $15 }' "/proc/$PID/stat") - ticks0 ))
      stop
      rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/run")
      requests=$(awk '/requests in/ { print $1 }' "$WORK/run")
      errors=$(awk '/Socket errors|Non-2xx/ { print }' "$WORK/run" | tr '\n' ' ')
      cpu_us=$(awk -v t="$ticks" -v n="${requests:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "NA" }')
      case "$rps" in ""|0|0.00) echo "wrk got nothing from $name:" >&2; tail -5 "$WORK/run" >&2 ;;
        *) echo "$case $name $rps $cpu_us" >>"$RESULTS" ;; esac
      printf 'round %s %-9s %-15s %10s req/s %8s us CPU/request %s\n' "$round" "$case" "$name" "$rps" "$cpu_us" "$errors"
    done
  done
done

echo
echo "mean over the successful runs of $ROUNDS rounds (server CPU time per request: the cost)"
printf "%-9s %-15s %10s %14s %12s %14s %14s\n" case server req/s "÷ axum_server" "CPU us/req" "÷ axum_server" "÷ bare_hyper"
awk '
  { key = $1 " " $2; n[key]++; rps[key] += $3; cpu[key] += $4 }
  END {
    for (key in n) {
      split(key, k, " ")
      peer = k[1] " axum_server"; bare = k[1] " bare_hyper_tls"
      m = rps[key] / n[key]; c = cpu[key] / n[key]
      printf "%-9s %-15s %10.0f %14.3f %12.1f %14.3f %14.3f\n", k[1], k[2], m, m / (rps[peer] / n[peer]),
        c, c / (cpu[peer] / n[peer]), c / (cpu[bare] / n[bare])
    }
  }' "$RESULTS" | sort
