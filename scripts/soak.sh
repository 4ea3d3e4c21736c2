#!/usr/bin/env bash
# A soak: steady load through a load balancer for a long while, with many rolling restarts,
# sampling every second the RSS and open fds of each demo process and of the balancer.
# Not for CI (10 minutes by default). See scripts/README.md.
#
#   scripts/soak.sh [--demo hyper_tokio|hyper_smol] [--lb haproxy|caddy]
#       [--duration S] [--restarts N] [--keep]
#
# Prints, per process, its first and its peak RSS and fd count; then, over the instance
# processes in start order, the peaks of the first and the last five. Exits non-zero if
# the rolling restart failed or the later instances peak more than 25 % above the first
# ones (RSS) or above them at all by more than 8 fds.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
demo=hyper_tokio
lb=haproxy
duration=600
restarts=100
keep=""

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
while [ $# -gt 0 ]; do
    case "$1" in
        --demo) demo=$2; shift 2 ;;
        --lb) lb=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --restarts) restarts=$2; shift 2 ;;
        --keep) keep=--keep; shift ;;
        -h|--help) usage ;;
        *) echo "soak: unknown option $1" >&2; usage ;;
    esac
done

samples=$(mktemp /tmp/soak-samples.XXXXXX)
status=0
"$root/scripts/rolling-restart.sh" --demo "$demo" --lb "$lb" --duration "$duration" \
    --restarts "$restarts" --sample-file "$samples" $keep || status=$?

# samples: time name pid rss_kb fds
python3 - "$samples" <<'EOF' || status=$?
import sys
procs = {}
for line in open(sys.argv[1]):
    t, name, pid, rss, fds = line.split()
    p = procs.setdefault(pid, {"name": name, "first": (int(rss), int(fds)), "peak_rss": 0, "peak_fds": 0, "t0": int(t), "n": 0})
    p["peak_rss"] = max(p["peak_rss"], int(rss))
    p["peak_fds"] = max(p["peak_fds"], int(fds))
    p["n"] += 1
order = sorted(procs.items(), key=lambda kv: kv[1]["t0"])
for pid, p in order:
    if p["name"] == "lb":
        print(f"soak: balancer pid {pid}: rss {p['first'][0]} -> peak {p['peak_rss']} kB, fds {p['first'][1]} -> peak {p['peak_fds']} over {p['n']} s")
inst = [p for _, p in order if p["name"] != "lb" and p["n"] >= 2]
print(f"soak: {len(inst)} demo processes sampled")
if len(inst) < 10:
    print("soak: too few instances to compare"); sys.exit(0)
first, last = inst[:5], inst[-5:]
def peak(ps, k): return max(p[k] for p in ps)
fr, lr = peak(first, "peak_rss"), peak(last, "peak_rss")
ff, lf = peak(first, "peak_fds"), peak(last, "peak_fds")
print(f"soak: instance peak rss: first five {fr} kB, last five {lr} kB; peak fds: first five {ff}, last five {lf}")
bad = lr > fr * 1.25 or lf > ff + 8
print("soak: " + ("GROWING" if bad else "flat"))
sys.exit(1 if bad else 0)
EOF
echo "soak: samples in $samples"
exit "$status"
