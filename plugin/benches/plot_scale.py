#!/usr/bin/env python3
"""Draws the cost curve (BENCHMARKS.md, "The cost curve") from the `scale users=...` lines that
`cargo bench -p dagu-auth --bench scale` prints.

Usage: plugin/benches/plot_scale.py LOG [OUT.png]   (needs matplotlib: pip install matplotlib)
The last line per size wins, so a log holding several runs plots the newest.
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# (series as (field, legend), title, unit, the target at 1,000,000 users or None). A series whose
# field a log lacks (an older run) is left out.
PANELS = [
    ([("open_ms", None)], "Engine::open", "ms", 1000),
    ([("rss_cached_mib", None)], "resident memory, sessions cached", "MiB", 300),
    (
        [
            ("authorize_hot_rr_ns", "10,000 sessions in turn"),
            ("floor_rr_ns", "floor, same"),
            ("authorize_hot_ns", "all cached, random"),
            ("floor_random_ns", "floor, same"),
        ],
        "authorize, hot (p50)",
        "ns",
        300,
    ),
    ([("authorize_cold_us", None)], "authorize, cold (p50)", "us", None),
    ([("page_us", None)], "GET /users, page of 50 (p50)", "us", 1000),
    ([("verify_s", "db verify"), ("backup_s", "online backup")], "verify and backup", "s", 10),
]


def read(path):
    rows = {}
    with open(path, encoding="utf-8") as log:
        for line in log:
            line = line.strip()
            if not line.startswith("scale users="):
                continue
            fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
            rows[int(fields["users"])] = fields
    return [rows[users] for users in sorted(rows)]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[2] if len(sys.argv) > 2 else "plugin/benches/scale.png"
    rows = read(sys.argv[1])
    if not rows:
        sys.exit(f"no `scale users=` lines in {sys.argv[1]}")
    users = [int(row["users"]) for row in rows]
    figure, axes = plt.subplots(2, 3, figsize=(12, 7))
    for axis, (series, label, unit, target) in zip(axes.flat, PANELS):
        for field, legend in series:
            if all(field in row for row in rows):
                values = [float(row[field]) for row in rows]
                axis.plot(users, values, marker="o", label=legend)
        if target is not None:
            axis.axhline(target, color="red", linestyle="--", linewidth=1, label="target at 1M")
        if target is not None or len(series) > 1:
            axis.legend(loc="upper left", fontsize=8)
        axis.set_xscale("log")
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("users")
        axis.set_ylabel(unit)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
    figure.suptitle("dagu-auth: cost by number of users (plugin/benches/scale.rs)")
    figure.tight_layout()
    figure.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
