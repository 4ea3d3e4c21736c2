#!/usr/bin/env bash
# Pooled keep-alive clients behind a layer-4 balancer (the kube-proxy model): haproxy in
# `mode tcp`, with an HTTP health check on /healthz, in front of two demo instances; 16
# clients that each reuse one keep-alive connection, 2 ms between requests, no retries;
# SIGTERM to one instance at a time (1.5 s lame duck), each restarted. Only *new*
# connections move when an instance turns unhealthy, so every pooled connection leaves the
# dying instance only when the instance tells it to (`connection: close` from the first
# signal) or closes it. See scripts/README.md.
#
#   scripts/l4-pool.sh [--demo hyper_tokio|hyper_smol] [--restarts N] [--without-goodbye]
#       [--quick] [--keep]
#
# --without-goodbye runs the instances with the goodbye at the drain
# (LAMEDUCK_DEMO_GOODBYE=drain, lameduck::Goodbye::Drain), to show what it buys.
# Exits 0 only if no request failed and every instance exited 0.
set -euo pipefail

demo=hyper_tokio
restarts=10
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --demo) demo=$2; shift 2 ;;
        --restarts) restarts=$2; shift 2 ;;
        --without-goodbye|--keep) extra+=("$1"); shift ;;
        --quick) restarts=3; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 64 ;;
        *) echo "l4-pool: unknown option $1" >&2; exit 64 ;;
    esac
done
exec "$(dirname "$0")/rolling-restart.sh" --lb haproxy --haproxy-mode tcp --demo "$demo" \
    --restarts "$restarts" --duration $(( restarts * 4 + 4 )) --concurrency 16 --pause-ms 2 \
    --lame-duck-ms 1500 --check-inter-ms 200 "${extra[@]}"
