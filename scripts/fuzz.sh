#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ for a bounded time. Not part of CI.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS (default 600) is the total budget, split evenly between the targets
# (default: every target in fuzz/fuzz_targets). Needs the nightly toolchain and
# cargo-fuzz (installed with `cargo install cargo-fuzz` if missing). New corpus
# entries land in fuzz/corpus/<target>/ (only the seed-* files are committed);
# a finding lands in fuzz/artifacts/<target>/ and makes the script exit non-zero.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
total=${1:-600}
shift || true
cd "$root/fuzz"
if [ $# -eq 0 ]; then
    set -- $(ls fuzz_targets | sed 's/\.rs$//')
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi
each=$(( total / $# ))
[ "$each" -ge 1 ] || each=1
status=0
for target in "$@"; do
    echo "== fuzz $target for ${each}s"
    mkdir -p "corpus/$target"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$each" -print_final_stats=1; then
        echo "== fuzz $target: FINDING (see fuzz/artifacts/$target)"
        status=1
    fi
done
exit $status
