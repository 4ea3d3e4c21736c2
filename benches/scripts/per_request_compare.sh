#!/bin/bash
# Compares builds of the per-request bench (`benches/hyper_request.rs`): runs each binary in
# turn, N times, and prints per binary and setting the median, mean and spread of the runs'
# round-by-round ratios (lameduck-hyper ÷ bare hyper-util, the `rounds` column).
#
#   benches/scripts/per_request_compare.sh 10 ../before/hyper_request target/release/deps/hyper_request-<hash>
#
# Copy each binary out of target/ first: two checkouts built into one target directory
# give the bench binary the same name.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 N BINARY..." >&2
  exit 64
fi
n=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$n"); do
  for bin in "$@"; do
    "$bin" --bench zzz 2>&1 | grep lameduck_hyper |
      awk -v b="$bin" 'NR==1{s="1conn_current_thread"} NR==2{s="2conns_2threads"} {gsub("×","",$6); print b, s, $6}' >>"$out"
  done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    binary, setting, ratio = line.split()
    runs[(binary, setting)].append(float(ratio))
for (binary, setting), ratios in sorted(runs.items()):
    spread = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
    print(f"{binary} {setting}: runs={len(ratios)} median={statistics.median(ratios):.4f} "
          f"mean={statistics.mean(ratios):.4f} sd={spread:.4f}")
PY
