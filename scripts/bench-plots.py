"""The plots of `make bench`, from its results.jsonl (argument: the output folder):
throughput against concurrency (the lifecycle and its no-op twin), API latency
percentiles against the offered rate (one panel per endpoint), and the worker's
resident memory against open workflows (one line per sticky-cache size)."""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out = Path(sys.argv[1])
lines = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines() if l.strip()]


def of(kind):
    return [l for l in lines if l["kind"] == kind]


runs = of("lifecycles")
if runs:
    fig, ax = plt.subplots(figsize=(6, 4))
    for shape, label in (("real", "lifecycle"), ("twin", "no-op twin")):
        pts = sorted((l["concurrency"], l["per_second"]) for l in runs if l["shape"] == shape)
        if pts:
            ax.plot([c for c, _ in pts], [t for _, t in pts], marker="o", label=label)
    ax.set_xlabel("lifecycles in flight (concurrency)")
    ax.set_ylabel("lifecycles per second")
    ax.set_title("Throughput against concurrency")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)

api = of("api")
if api:
    endpoints = list(dict.fromkeys(l["endpoint"] for l in api))
    fig, axes = plt.subplots(1, len(endpoints), figsize=(3.2 * len(endpoints), 3.6), sharey=False)
    if len(endpoints) == 1:
        axes = [axes]
    for ax, endpoint in zip(axes, endpoints):
        rows = sorted((l for l in api if l["endpoint"] == endpoint), key=lambda l: l["rate"])
        for p in ("p50", "p90", "p99"):
            ax.plot([l["rate"] for l in rows], [l.get(p + "_ms") for l in rows], marker="o", label=p)
        ax.set_title(endpoint, fontsize=9)
        ax.set_xlabel("offered req/s")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("latency (ms)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)

waiting = of("waiting")
if waiting:
    fig, ax = plt.subplots(figsize=(6, 4))
    for w in waiting:
        pts = w["samples"]
        ax.plot([n for n, _ in pts], [m for _, m in pts], marker=".", label=f"sticky cache {w['cache']}")
    ax.set_xlabel("open workflows waiting for a vet")
    ax.set_ylabel("worker resident memory (MiB)")
    ax.set_title("Memory against open workflows")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "memory.png", dpi=110)
print(f"plots in {out}")
