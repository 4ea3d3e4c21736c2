#!/usr/bin/env python3
"""Prints the criterion results of `cargo bench -p lameduck-benches` as markdown tables.

    python3 benches/scripts/criterion_tables.py [CRITERION_DIR]

CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion (or target/criterion). One table per
benchmark group: each bench's mean and median (criterion's point estimates), and the ratio
of each lameduck figure in the group (its `lameduck_*` benches) to it: below 1 means
lameduck is faster.
"""
import json
import os
import sys
from pathlib import Path


def fmt(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def main() -> None:
    default = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report"):
        rows = []
        for bench in sorted(p for p in group.iterdir() if p.is_dir() and p.name != "report"):
            estimates = bench / "new" / "estimates.json"
            if not estimates.exists():
                continue
            data = json.loads(estimates.read_text())
            rows.append((bench.name, data["mean"]["point_estimate"], data["median"]["point_estimate"]))
        if not rows:
            continue
        ours = [(name, mean) for name, mean, _ in rows if name.startswith("lameduck")]
        print(f"\n### {group.name}\n")
        print("| bench | mean | median |" + "".join(f" {n} ÷ this |" for n, _ in ours))
        print("| --- | ---: | ---: |" + " ---: |" * len(ours))
        for name, mean, median in rows:
            ratios = "".join(f" {m / mean:.2f}× |" for _, m in ours)
            print(f"| {name} | {fmt(mean)} | {fmt(median)} |{ratios}")


if __name__ == "__main__":
    main()
