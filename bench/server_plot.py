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


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def plot(result: dict, png: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    lat_batch, thr, lat_delay = axes
    for key, res in result["sizes"].items():
        colour = COLOURS.get(key, "tab:gray")
        local = res["in_process"]
        for kind, style in (("python", "o-"), ("node", "s--")):
            batching = res.get(f"{kind}_batching", {}).get("batching", [])
            if batching:
                sizes = [r["batch"] for r in batching]
                lat_batch.plot(sizes, [_nan(r["median_ms"]) for r in batching], style, color=colour,
                               label=f"{key} {kind} median")
                if kind == "python":
                    lat_batch.plot(sizes, [_nan(r["p99_ms"]) for r in batching], "o:", color=colour, alpha=0.5,
                                   label=f"{key} {kind} p99")
        lat_batch.axhline(_nan(local["median_ms"]), color=colour, lw=1, ls="--")
        for kind, style in (("python", "o-"), ("node", "s--")):
            rows = res.get(kind, {}).get("clients", [])
            if rows:
                thr.plot([r["clients"] for r in rows], [r["fps"] for r in rows], style, color=colour,
                         label=f"{key} {kind}, N clients")
        for kind, style in (("python", "^-."), ("node", "v-.")):
            batching = res.get(f"{kind}_batching", {}).get("batching", [])
            if batching:
                thr.plot([r["batch"] for r in batching], [r["fps"] for r in batching], style, color=colour,
                         alpha=0.7, label=f"{key} {kind}, batch N")
        thr.axhline(local["fps"], color=colour, lw=1.5, ls=":", label=f"{key} in-process (one user)")
        for kind, marker in (("python", "o"), ("node", "s")):
            rows = res.get(kind, {}).get("delay", [])
            plain = [r for r in rows if r["depth"] == 1]
            piped = [r for r in rows if r["depth"] > 1]
            if plain:
                lat_delay.plot([r["delay_ms"] for r in plain], [_nan(r["median_ms"]) for r in plain], marker + "-",
                               color=colour, label=f"{key} {kind}, one at a time")
                lat_delay.plot([r["delay_ms"] for r in piped], [_nan(r["median_ms"]) for r in piped], marker + ":",
                               color=colour, alpha=0.6, label=f"{key} {kind}, pipelined")
        lat_delay.axhline(_nan(local["median_ms"]), color=colour, lw=1, ls="--")
    lat_batch.set(xscale="log", yscale="log", xlabel="micro-batch size N (N clients)",
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


def _ms(value: float | None) -> str:
    """A latency for a table: one decimal, "-" where no frame came back."""
    return "-" if value is None else f"{value:.1f}"


def tables(result: dict) -> str:
    """The docs/benchmarks.md tables for one run."""
    lines = ["| size | way | one client: median / p99 ms | one client fps | most fps, N clients | most fps, batch N "
             "(mean batch) | RSS idle / peak MB |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, res in result["sizes"].items():
        local = res["in_process"]
        lines.append(f"| {key} | in-process (app) | {_ms(local['median_ms'])} / {_ms(local['p99_ms'])} "
                     f"| {local['fps']:.1f} | - | - | {local['rss_mb']:.0f} (peak, the app's core alone) |")
        for kind in ("python", "node"):
            r = res.get(kind)
            if not r:
                continue
            live, best = r["live"], max(r["clients"], key=lambda row: row["fps"])
            batch = "-"
            rss = r["rss"]
            if res.get(f"{kind}_batching"):
                b = max(res[f"{kind}_batching"]["batching"], key=lambda row: row["fps"])
                batch = f"{b['fps']:.1f} at {b['batch']} ({b['mean_batch']:.1f})"
                brss = res[f"{kind}_batching"]["rss"]
                rss = {"idle_mb": rss["idle_mb"], "peak_mb": max(rss["peak_mb"], brss["peak_mb"])}
            lines.append(f"| {key} | {kind} server | {_ms(live['median_ms'])} / {_ms(live['p99_ms'])} | "
                         f"{live['fps']:.1f} | {best['fps']:.1f} at {best['clients']} | {batch} "
                         f"| {rss['idle_mb']:.0f} / {rss['peak_mb']:.0f} |")
    lines += ["", "| size | server | one client's round trip ms "
              "| in the server: JPEG decode / pipeline / JPEG encode ms "
              "| the rest: client JPEG encode + decode, HTTP ms |", "| --- | --- | --- | --- | --- |"]
    for key, res in result["sizes"].items():
        for kind in ("python", "node"):
            live = res.get(kind, {}).get("live")
            if not live or live["median_ms"] is None:
                continue
            parts = live.get("server_ms", {})
            inside = sum(parts.values())
            lines.append(f"| {key} | {kind} | {live['median_ms']:.1f} | {parts.get('decode', 0):.1f} / "
                         f"{parts.get('process', 0):.1f} / {parts.get('encode', 0):.1f} "
                         f"| {live['median_ms'] - inside:.1f} |")
    lines += ["", "| size | server | one-way delay ms | one at a time: fps, median / p99 ms "
              "| pipelined: in flight, fps, median / p99 ms |", "| --- | --- | --- | --- | --- |"]
    for key, res in result["sizes"].items():
        for kind in ("python", "node"):
            rows = res.get(kind, {}).get("delay", [])
            for plain, piped in zip(rows[::2], rows[1::2], strict=True):
                lines.append(f"| {key} | {kind} | {plain['delay_ms']:.0f} | {plain['fps']:.1f}, "
                             f"{_ms(plain['median_ms'])} / {_ms(plain['p99_ms'])} | {piped['depth']}, "
                             f"{piped['fps']:.1f}, {_ms(piped['median_ms'])} / {_ms(piped['p99_ms'])} |")
    lines += ["", "| size | way | fps at 1, 2, 4, 8, 16, 32, 64 clients (or batch) |", "| --- | --- | --- |"]
    for key, res in result["sizes"].items():
        for kind, rows in (("python", res.get("python", {}).get("clients", [])),
                           ("python, micro-batched", res.get("python_batching", {}).get("batching", [])),
                           ("node", res.get("node", {}).get("clients", [])),
                           ("node, micro-batched", res.get("node_batching", {}).get("batching", []))):
            if rows:
                lines.append(f"| {key} | {kind} | " + ", ".join(f"{r['fps']:.1f}" for r in rows) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results" / "server.json")
    data = json.loads(path.read_text())
    plot(data, path.with_suffix(".png"))
    print(tables(data))
