"""Live 720p blur + faces, before vs after (issue #11's <= 16 ms), in alternating A/B rounds on the same machine.

Runs bench/bench_faces_live.py (this checkout's copy, so both sides measure the same way) as a fresh process
against two code trees in turn, `--rounds` times per clip, the order flipped every round: `--before DIR` (an
export of an older commit, e.g. `git archive bed0ce9 | tar -x -C DIR`, with a link to this checkout's `.cache`;
the script copies the bench files it needs into DIR/bench) and this checkout. Per run: blur alone, blur + faces
(wall and CPU, median and mean), the share of frames detected and the load average; per clip and side the
median over rounds, and the after / before ratios of blur + faces and of the faces' own cost (blur + faces minus
blur alone in the same run, which cancels most of the machine's drift). Writes bench/results/faces_live_ab.json.

    .venv/bin/python bench/faces_live_ab.py --before /tmp/before [--rounds 3] [--clips f2 webcam]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FILES = ("bench_faces_live.py", "faces_inputs.py", "faces_core_cli.py")


def run_once(tree: Path, clip: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "live.json"
        subprocess.run([sys.executable, str(tree / "bench" / "bench_faces_live.py"), "--clip", clip,
                        "--json", str(out)], check=True, cwd=tree, stdout=subprocess.DEVNULL)
        r = json.loads(out.read_text())
    w, c = r["wall_ms"], r["cpu_ms"]
    return {"blur_wall_median": w["blur"]["median"], "blur_cpu_median": c["blur"]["median"],
            "blur_cpu_mean": c["blur"]["mean"],
            "faces_wall_median": w["blur+faces"]["median"], "faces_cpu_median": c["blur+faces"]["median"],
            "faces_wall_mean": w["blur+faces"]["mean"], "faces_cpu_mean": c["blur+faces"]["mean"],
            "faces_cost_cpu_mean": round(c["blur+faces"]["mean"] - c["blur"]["mean"], 3),
            "every_frame_cpu_mean": c.get("blur+faces every frame", {}).get("mean"),
            "detector_cpu_median": c["detector"]["median"],
            "frames_detected_share": r.get("frames_detected_share"),
            "stage_ms_mean": r.get("stage_ms_mean"), "load": [r.get("load_average_before"), r["load_average"]]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="an export of the older code (see the docstring)")
    ap.add_argument("--before-label", default="before")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clips", nargs="+", default=["f2", "webcam"])
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "faces_live_ab.json")
    args = ap.parse_args(argv)
    for name in FILES:
        shutil.copy2(REPO / "bench" / name, args.before / "bench" / name)
    trees = {"before": args.before, "after": REPO}
    runs: dict[str, dict[str, list[dict]]] = {clip: {"before": [], "after": []} for clip in args.clips}
    for r in range(args.rounds):
        for clip in args.clips:
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for side in order:
                one = run_once(trees[side], clip)
                runs[clip][side].append(one)
                print(f"round {r} {clip:>6} {side:>6}: blur {one['blur_cpu_mean']:.2f}, blur + faces "
                      f"{one['faces_cpu_mean']:.2f} ms CPU mean ({one['faces_cpu_median']:.2f} median), faces "
                      f"{one['faces_cost_cpu_mean']:.2f}, detected {one['frames_detected_share']}, load "
                      f"{one['load'][1][0]:.2f}", flush=True)
    summary = {}
    for clip, sides in runs.items():
        med = {side: {k: round(statistics.median(x[k] for x in rs), 3) for k in rs[0]
                      if all(isinstance(x[k], (int, float)) for x in rs)}
               for side, rs in sides.items()}
        summary[clip] = {**med, "ratio_after_before": {
            k: round(med["after"][k] / med["before"][k], 3) for k in
            ("faces_cpu_mean", "faces_cpu_median", "faces_wall_mean", "faces_cost_cpu_mean", "blur_cpu_mean",
             "detector_cpu_median") if k in med["after"] and k in med["before"]}}
    result = {"benchmark": "faces_live_ab", "before": args.before_label, "after": "this checkout",
              "rounds": args.rounds, "target_ms": 16.0, "summary": summary, "runs": runs,
              "cpus": os.cpu_count(), "load_average_end": list(os.getloadavg())}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
