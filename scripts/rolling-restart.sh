#!/usr/bin/env bash
# Rolling restarts of two demo instances behind haproxy, under steady load: every request
# must succeed. See scripts/README.md.
#
#   scripts/rolling-restart.sh [--demo hyper_tokio|hyper_smol] [--restarts N]
#       [--lame-duck-ms N] [--duration S] [--concurrency N] [--check-inter-ms N]
#       [--drain-timeout-ms N] [--quick] [--keep]
#
# Exits 0 only if no request failed, every restart happened, and every instance exited 0.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
demo=hyper_tokio
restarts=10
check_inter_ms=200
lame_duck_ms=""
drain_timeout_ms=10000
duration=40
concurrency=32
keep=0

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
while [ $# -gt 0 ]; do
    case "$1" in
        --demo) demo=$2; shift 2 ;;
        --restarts) restarts=$2; shift 2 ;;
        --lame-duck-ms) lame_duck_ms=$2; shift 2 ;;
        --drain-timeout-ms) drain_timeout_ms=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --check-inter-ms) check_inter_ms=$2; shift 2 ;;
        --quick) restarts=2; duration=6; shift ;;
        --keep) keep=1; shift ;;
        -h|--help) usage ;;
        *) echo "rolling-restart: unknown option $1" >&2; usage ;;
    esac
done
case "$demo" in hyper_tokio|hyper_smol) ;; *) echo "rolling-restart: --demo must be hyper_tokio or hyper_smol" >&2; exit 64 ;; esac
# A little longer than the health-check interval (haproxy marks the server down after one
# failed check, `fall 1`), so haproxy stops sending before the listener closes.
lame_duck_ms=${lame_duck_ms:-$(( check_inter_ms * 3 ))}

log() { echo "rolling-restart: $*" >&2; }

# --- haproxy -----------------------------------------------------------------------------
if ! command -v haproxy >/dev/null; then
    log "installing haproxy (Debian package)"
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq haproxy >/dev/null
fi

# --- builds ------------------------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$root/target}
log "building $demo and the load client (release)"
(cd "$root" && cargo build -q --release -p lameduck-examples --example "$demo")
(cd "$root/scripts/loadgen" && CARGO_TARGET_DIR=$target cargo build -q --release)
demo_bin=$target/release/examples/$demo
loadgen_bin=$target/release/lameduck-loadgen

# --- ports, files, cleanup ---------------------------------------------------------------
read -r front_port stats_port port_a port_b < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)
work=$(mktemp -d /tmp/rolling-restart.XXXXXX)
declare -A pid=() port=([a]=$port_a [b]=$port_b)
haproxy_pid=""; loadgen_pid=""
cleanup() {
    # Reaped here with stderr closed, so bash prints no "Killed" notice for each of them.
    {
        for p in "${pid[@]}" $haproxy_pid $loadgen_pid; do kill -KILL "$p" || true; done
        wait || true
    } 2>/dev/null
    if [ "$keep" -eq 1 ]; then log "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

cat > "$work/haproxy.cfg" <<EOF
global
    log stdout format raw local0 info
    maxconn 4096
defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    retries 0
    no option redispatch
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend web
    bind 127.0.0.1:$front_port
    default_backend demo
backend demo
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter ${check_inter_ms}ms fastinter ${check_inter_ms}ms downinter ${check_inter_ms}ms rise 1 fall 1
    server a 127.0.0.1:$port_a check
    server b 127.0.0.1:$port_b check
listen stats
    bind 127.0.0.1:$stats_port
    stats enable
    stats uri /stats
EOF

server_status() { # name -> UP, DOWN, ...
    curl -fsS "http://127.0.0.1:$stats_port/stats;csv" 2>/dev/null \
        | awk -F, -v s="$1" '$1 == "demo" && $2 == s { print $18 }'
}

is_up() { [ "$(server_status "$1")" = UP ]; }

wait_for() { # seconds, description, command...
    local until=$(( $(date +%s%N) + $1 * 1000000000 )) what=$2; shift 2
    until "$@"; do
        if [ "$(date +%s%N)" -gt "$until" ]; then log "timed out waiting for $what"; return 1; fi
        sleep 0.02
    done
}

start_instance() { # name
    local name=$1 out=$work/$1.$(date +%s%N).log
    "$demo_bin" --addr "127.0.0.1:${port[$name]}" --lame-duck-ms "$lame_duck_ms" \
        --drain-timeout-ms "$drain_timeout_ms" >"$out" 2>&1 &
    pid[$name]=$!
    wait_for 10 "$name to listen" grep -qs '^listening on ' "$out" || { cat "$out" >&2; return 1; }
    wait_for 10 "haproxy to see $name up" is_up "$name"
}

stop_instance() { # name; sets last_exit (in this shell: `wait` needs the parent)
    last_exit=0
    kill -TERM "${pid[$1]}"
    wait "${pid[$1]}" || last_exit=$?
    unset "pid[$1]"
}

# --- run ---------------------------------------------------------------------------------
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
wait_for 10 "haproxy stats" curl -fs -o /dev/null "http://127.0.0.1:$stats_port/stats;csv"
start_instance a
start_instance b
log "demo=$demo lame_duck_ms=$lame_duck_ms check_inter_ms=$check_inter_ms haproxy=127.0.0.1:$front_port backends=$port_a,$port_b"

"$loadgen_bin" --addr "127.0.0.1:$front_port" --concurrency "$concurrency" \
    --duration-s $(( duration + 600 )) --stop-file "$work/stop" >"$work/loadgen.out" &
loadgen_pid=$!
begin=$(date +%s%N)
done_restarts=0
bad_exits=""
slot_ns=$(( duration * 1000000000 / (restarts + 1) ))
for (( r = 1; r <= restarts; r++ )); do
    while [ "$(date +%s%N)" -lt $(( begin + r * slot_ns )) ]; do sleep 0.05; done
    name=$([ $(( r % 2 )) -eq 1 ] && echo a || echo b)
    t0=$(date +%s%N)
    stop_instance "$name"
    code=$last_exit
    t1=$(date +%s%N)
    start_instance "$name"
    t2=$(date +%s%N)
    done_restarts=$r
    [ "$code" -eq 0 ] || bad_exits="$bad_exits $name:$code"
    log "restart $r/$restarts: $name exited $code after $(( (t1 - t0) / 1000000 )) ms, up again after $(( (t2 - t1) / 1000000 )) ms"
done
while [ "$(date +%s%N)" -lt $(( begin + duration * 1000000000 )) ]; do sleep 0.05; done
touch "$work/stop"
load_code=0
wait "$loadgen_pid" || load_code=$?
loadgen_pid=""
cat "$work/loadgen.out"

totals=$(grep '^loadgen: requests=' "$work/loadgen.out")
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $totals"; }
echo "rolling-restart: demo=$demo lame_duck_ms=$lame_duck_ms restarts=$done_restarts requests=$(get requests) failures=$(get failures) p50_ms=$(get p50_ms) p99_ms=$(get p99_ms) instance_exit_codes=${bad_exits:-all-0}"
if grep -qv '^\s*$' "$work/haproxy.log" && [ "$(get failures)" != 0 ]; then
    log "haproxy's log of abnormal requests (first 10):"
    grep -v 'is UP\|is DOWN' "$work/haproxy.log" | head -10 >&2 || true
fi
[ "$load_code" -eq 0 ] && [ "$done_restarts" -eq "$restarts" ] && [ -z "$bad_exits" ]
