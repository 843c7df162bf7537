"""bench/results/server.png from bench/results/server.json: latency vs micro-batch size, throughput vs clients,
and one client's latency and fps vs the one-way network delay.

    .venvs/server/bin/python bench/server_plot.py [bench/results/server.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BUDGET_MS = 1000.0 / 30.0
COLOURS = {"640x480": "tab:blue", "1280x720": "tab:orange"}


def plot(result: dict, png: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    lat_batch, thr, lat_delay = axes
    for key, res in result["sizes"].items():
        colour = COLOURS.get(key, "tab:gray")
        local = res["in_process"]
        batching = res.get("python_batching", {}).get("batching", [])
        if batching:
            sizes = [r["batch"] for r in batching]
            lat_batch.plot(sizes, [r["median_ms"] for r in batching], "o-", color=colour, label=f"{key} median")
            lat_batch.plot(sizes, [r["p99_ms"] for r in batching], "o:", color=colour, label=f"{key} p99")
        lat_batch.axhline(local["median_ms"], color=colour, lw=1, ls="--")
        for kind, style in (("python", "o-"), ("node", "s--")):
            rows = res.get(kind, {}).get("clients", [])
            if rows:
                thr.plot([r["clients"] for r in rows], [r["fps"] for r in rows], style, color=colour,
                         label=f"{key} {kind}, N clients")
        if batching:
            thr.plot(sizes, [r["fps"] for r in batching], "^-.", color=colour, label=f"{key} python, batch N")
        thr.axhline(local["fps"], color=colour, lw=1.5, ls=":", label=f"{key} in-process (one user)")
        for kind, marker in (("python", "o"), ("node", "s")):
            rows = res.get(kind, {}).get("delay", [])
            plain = [r for r in rows if r["depth"] == 1]
            piped = [r for r in rows if r["depth"] > 1]
            if plain:
                lat_delay.plot([r["delay_ms"] for r in plain], [r["median_ms"] for r in plain], marker + "-",
                               color=colour, label=f"{key} {kind}, one at a time")
                lat_delay.plot([r["delay_ms"] for r in piped], [r["median_ms"] for r in piped], marker + ":",
                               color=colour, alpha=0.6, label=f"{key} {kind}, pipelined")
        lat_delay.axhline(local["median_ms"], color=colour, lw=1, ls="--")
    lat_batch.set(xscale="log", yscale="log", xlabel="micro-batch size N (N clients, python server)",
                  ylabel="round-trip latency, ms", title="Latency vs batch size (dashed: in-process)")
    lat_batch.set_xticks([1, 2, 4, 8, 16, 32, 64], labels=["1", "2", "4", "8", "16", "32", "64"])
    thr.set(xscale="log", xlabel="concurrent clients / batch size", ylabel="frames per second, all clients",
            title="Server throughput vs one device")
    thr.set_xticks([1, 2, 4, 8, 16, 32, 64], labels=["1", "2", "4", "8", "16", "32", "64"])
    lat_delay.axhline(BUDGET_MS, color="red", lw=1, label="33 ms: one 30 fps frame")
    lat_delay.set(xlabel="one-way network delay, ms (simulated)", ylabel="capture to composed frame, ms",
                  title="One client vs network delay (dashed: in-process)")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    load = result.get("load_average_end", [0])[0]
    fig.suptitle(f"On the device or on a server? blur, {result['model']}; loopback on 2 shared cores "
                 f"(load {load:.1f}){' QUICK RUN' if result.get('quick') else ''}", fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results" / "server.json")
    plot(json.loads(path.read_text()), path.with_suffix(".png"))
