#!/usr/bin/env bash
# In-place upgrades against stop-then-start, under the same load sent straight to the port
# (no load balancer). Runs the child-process suite core/tests/upgrade/ (whose binary is also
# the server it upgrades): its `upgrades-under-load` case, which fails on any refused or
# failed request, then its `restart-baseline` measurement. See scripts/README.md.
#
#   scripts/upgrade-in-place.sh [N]     N upgrades, then N restarts, in a row (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
UPGRADES="${1:-30}" cargo test -q -p lameduck --test upgrade -- upgrades-under-load restart-baseline
