#!/usr/bin/env bash
# Rolling restarts of two demo instances behind haproxy or Caddy, under steady load: every
# request must succeed. See scripts/README.md.
#
#   scripts/rolling-restart.sh [--demo hyper_tokio|hyper_smol] [--lb haproxy|caddy]
#       [--restarts N] [--lame-duck-ms N] [--duration S] [--concurrency N]
#       [--check-inter-ms N] [--drain-timeout-ms N] [--kill9 R] [--sample-file PATH]
#       [--haproxy-mode http|tcp] [--pause-ms N] [--without-goodbye] [--quick] [--keep]
#
# Exits 0 only if no request failed, every restart happened, and every instance exited 0
# (with --kill9 R, restart R kills its instance with SIGKILL instead: its failures are
# counted and reported, and the exit status then asks only that every restart happened).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
demo=hyper_tokio
lb=haproxy
kill9=0
sample_file=""
restarts=10
check_inter_ms=200
lame_duck_ms=""
drain_timeout_ms=10000
duration=40
concurrency=32
keep=0
haproxy_mode=http
pause_ms=0
goodbye=first-signal

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
while [ $# -gt 0 ]; do
    case "$1" in
        --demo) demo=$2; shift 2 ;;
        --lb) lb=$2; shift 2 ;;
        --kill9) kill9=$2; shift 2 ;;
        --sample-file) sample_file=$2; shift 2 ;;
        --restarts) restarts=$2; shift 2 ;;
        --lame-duck-ms) lame_duck_ms=$2; shift 2 ;;
        --drain-timeout-ms) drain_timeout_ms=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --check-inter-ms) check_inter_ms=$2; shift 2 ;;
        --haproxy-mode) haproxy_mode=$2; shift 2 ;;
        --pause-ms) pause_ms=$2; shift 2 ;;
        --without-goodbye) goodbye=drain; shift ;;
        --quick) restarts=2; duration=6; shift ;;
        --keep) keep=1; shift ;;
        -h|--help) usage ;;
        *) echo "rolling-restart: unknown option $1" >&2; usage ;;
    esac
done
case "$demo" in hyper_tokio|hyper_smol) ;; *) echo "rolling-restart: --demo must be hyper_tokio or hyper_smol" >&2; exit 64 ;; esac
case "$lb" in haproxy|caddy) ;; *) echo "rolling-restart: --lb must be haproxy or caddy" >&2; exit 64 ;; esac
case "$haproxy_mode" in http|tcp) ;; *) echo "rolling-restart: --haproxy-mode must be http or tcp" >&2; exit 64 ;; esac
# A little longer than the health-check interval (haproxy marks the server down after one
# failed check, `fall 1`), so haproxy stops sending before the listener closes.
lame_duck_ms=${lame_duck_ms:-$(( check_inter_ms * 3 ))}

log() { echo "rolling-restart: $*" >&2; }

# --- the load balancer -------------------------------------------------------------------
if ! command -v "$lb" >/dev/null; then
    log "installing $lb (Debian package)"
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq "$lb" >/dev/null
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
lb_pid=""; loadgen_pid=""; sampler_pid=""
cleanup() {
    # Reaped here with stderr closed, so bash prints no "Killed" notice for each of them.
    {
        for p in "${pid[@]}" $lb_pid $loadgen_pid $sampler_pid; do kill -KILL "$p" || true; done
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
    mode $haproxy_mode
    log global
    option $([ "$haproxy_mode" = http ] && echo httplog || echo tcplog)
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
    mode http
    stats enable
    stats uri /stats
EOF

# Caddy: active health checks on the same interval; no retries (`lb_try_duration` 0, the
# default), so a request sent to a closing instance fails visibly, as with haproxy.
# `least_conn`, not `round_robin`: Caddy 2.6's round robin advances one counter shared by
# all requests, so under concurrent load a request can land on the one unhealthy upstream
# at each of its tries and get "503 no upstreams available" while the other is healthy.
cat > "$work/Caddyfile" <<EOF
{
	admin 127.0.0.1:$stats_port
	auto_https off
	log {
		output file $work/caddy.log
		format json
	}
}
http://127.0.0.1:$front_port {
	reverse_proxy 127.0.0.1:$port_a 127.0.0.1:$port_b {
		lb_policy least_conn
		lb_try_duration 0
		health_uri /healthz
		health_interval ${check_inter_ms}ms
		health_timeout 1s
		health_status 200
	}
}
EOF

server_status() { # name -> UP, DOWN, ...
    curl -fsS "http://127.0.0.1:$stats_port/stats;csv" 2>/dev/null \
        | awk -F, -v s="$1" '$1 == "demo" && $2 == s { print $18 }'
}

is_up() { [ "$(server_status "$1")" = UP ]; }

# Caddy 2.6 does not expose an upstream's health (its admin API lists addresses and
# counts only), but its active health checker logs "host is up" when a host it had marked
# down passes a check again.
caddy_ups() { # host:port -> how many times Caddy logged it up
    grep -c "\"msg\":\"host is up\",\"host\":\"$1\"" "$work/caddy.log" 2>/dev/null || true
}
caddy_up_after() { [ "$(caddy_ups "$1")" -gt "$2" ]; }

# Until the balancer sends to the instance again.
lb_sees_up() { # name ups_before (Caddy: the count of its "host is up" lines before the start)
    case "$lb" in
        haproxy) wait_for 10 "haproxy to see $1 up" is_up "$1" ;;
        caddy)
            # A restart quicker than a check interval may never be seen down: then there
            # is no new line, and the host is up as far as Caddy knows.
            wait_for 3 "caddy to see $1 up" caddy_up_after "127.0.0.1:${port[$1]}" "$2" || true
            ;;
    esac
}

wait_for() { # seconds, description, command...
    local until=$(( $(date +%s%N) + $1 * 1000000000 )) what=$2; shift 2
    until "$@"; do
        if [ "$(date +%s%N)" -gt "$until" ]; then log "timed out waiting for $what"; return 1; fi
        sleep 0.02
    done
}

start_instance() { # name
    local name=$1 out=$work/$1.$(date +%s%N).log
    local ups; ups=$(caddy_ups "127.0.0.1:${port[$1]}")
    # --without-goodbye: connection: close and GOAWAY only from the drain, as before the
    # goodbye moved to the first signal (the demos' measurement switch).
    LAMEDUCK_DEMO_GOODBYE=$goodbye "$demo_bin" --addr "127.0.0.1:${port[$name]}" --lame-duck-ms "$lame_duck_ms" \
        --drain-timeout-ms "$drain_timeout_ms" >"$out" 2>&1 &
    pid[$name]=$!
    echo "${pid[$name]}" >"$work/pid.$name"
    wait_for 10 "$name to listen" grep -qs '^listening on ' "$out" || { cat "$out" >&2; return 1; }
    lb_sees_up "$name" "$ups"
}

stop_instance() { # name [signal]; sets last_exit (in this shell: `wait` needs the parent)
    last_exit=0
    kill "-${2:-TERM}" "${pid[$1]}"
    wait "${pid[$1]}" || last_exit=$?
    unset "pid[$1]"
}

# Requests in flight on an instance, from its /metrics: what a SIGKILL takes with it.
active_requests() { # name
    curl -fsS --max-time 1 "http://127.0.0.1:${port[$1]}/metrics" 2>/dev/null \
        | awk '/^lameduck_connections\{state="active"\}/ { print $2 }'
}

# Every second: time, instance, pid, RSS (kB) and open fds of each live instance and of
# the balancer (for scripts/soak.sh).
sample() {
    while :; do
        now=$(date +%s)
        for f in "$work"/pid.*; do
            p=$(cat "$f" 2>/dev/null) || continue
            rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
            [ -n "$rss" ] || continue
            # An instance that exits between the two reads fails `find`, and with pipefail
            # and errexit that would end the sampler: skip it instead.
            fds=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) || continue
            echo "$now ${f##*/pid.} $p $rss $fds"
        done
        sleep 1
    done >>"$sample_file"
}

# --- run ---------------------------------------------------------------------------------
case "$lb" in
    haproxy)
        haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
        lb_pid=$!
        wait_for 10 "haproxy stats" curl -fs -o /dev/null "http://127.0.0.1:$stats_port/stats;csv"
        ;;
    caddy)
        # Its autosaved config and storage go to the work directory, not the home.
        XDG_CONFIG_HOME=$work XDG_DATA_HOME=$work \
            caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.out" 2>&1 &
        lb_pid=$!
        wait_for 10 "caddy's admin API" curl -fs -o /dev/null "http://127.0.0.1:$stats_port/config/"
        ;;
esac
echo "$lb_pid" >"$work/pid.lb"
start_instance a
start_instance b
log "demo=$demo lb=$lb haproxy_mode=$haproxy_mode goodbye=$goodbye pause_ms=$pause_ms lame_duck_ms=$lame_duck_ms check_inter_ms=$check_inter_ms front=127.0.0.1:$front_port backends=$port_a,$port_b"
if [ -n "$sample_file" ]; then
    sample &
    sampler_pid=$!
fi

"$loadgen_bin" --addr "127.0.0.1:$front_port" --concurrency "$concurrency" \
    --pause-ms "$pause_ms" --duration-s $(( duration + 600 )) --stop-file "$work/stop" >"$work/loadgen.out" &
loadgen_pid=$!
begin=$(date +%s%N)
done_restarts=0
killed=""
bad_exits=""
slot_ns=$(( duration * 1000000000 / (restarts + 1) ))
for (( r = 1; r <= restarts; r++ )); do
    while [ "$(date +%s%N)" -lt $(( begin + r * slot_ns )) ]; do sleep 0.05; done
    name=$([ $(( r % 2 )) -eq 1 ] && echo a || echo b)
    t0=$(date +%s%N)
    if [ "$r" -eq "$kill9" ]; then
        held=$(active_requests "$name" || true)
        stop_instance "$name" KILL
        killed="$name held_active=${held:-?}"
    else
        stop_instance "$name"
    fi
    code=$last_exit
    t1=$(date +%s%N)
    start_instance "$name"
    t2=$(date +%s%N)
    done_restarts=$r
    [ "$code" -eq 0 ] || [ "$r" -eq "$kill9" ] || bad_exits="$bad_exits $name:$code"
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
echo "rolling-restart: demo=$demo lb=$lb$([ "$lb" = haproxy ] && echo " mode=$haproxy_mode") goodbye=$goodbye lame_duck_ms=$lame_duck_ms restarts=$done_restarts requests=$(get requests) failures=$(get failures) p50_ms=$(get p50_ms) p99_ms=$(get p99_ms) instance_exit_codes=${bad_exits:-all-0}${killed:+ killed=$killed}"
if [ "$lb" = haproxy ] && grep -qv '^\s*$' "$work/haproxy.log" && [ "$(get failures)" != 0 ]; then
    log "haproxy's log of abnormal requests (first 10):"
    grep -v 'is UP\|is DOWN' "$work/haproxy.log" | head -10 >&2 || true
fi
if [ "$kill9" -gt 0 ]; then
    [ "$done_restarts" -eq "$restarts" ] && [ -z "$bad_exits" ]
else
    [ "$load_code" -eq 0 ] && [ "$done_restarts" -eq "$restarts" ] && [ -z "$bad_exits" ]
fi
