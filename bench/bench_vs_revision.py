"""The live pipeline's cost in this tree against a git revision of it, side by side in one run (session 15).

A code change that should keep every output and only cost less is measured like this: a worktree of `--base` (a
temporary checkout, removed afterwards; the models are linked from this tree) and this tree each run
`desktop_app.benchmark.run_effect` (one ORT and one OpenCV thread, the bundled sample video's frames, the live
crop on) in a child process of their own, in blocks that alternate which goes first; medians over the blocks of
each block's median thread-CPU ms. Every variant is a live quality and an effect.

    .venv/bin/python bench/bench_vs_revision.py --base c8071e2 [--blocks 8] [--frames 100] [--size 1280x720]
        [--variants fast:blur best:blur] [--json bench/results/vs_revision.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEYS = ("total_cpu", "inference", "resize", "mask", "compose")

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import cv2
cv2.setNumThreads(1)
from desktop_app import benchmark
from desktop_app.core.params import EffectParams
from desktop_app.core.segmenter import Segmenter
w, h = (int(v) for v in sys.argv[2].split("x"))
frames = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in benchmark.sample_frames(24)[0]]
seg = Segmenter("auto", device="cpu", threads=1)
rows = {}
for variant in sys.argv[4:]:
    quality, effect = variant.split(":")
    params = EffectParams(effect=effect, live_quality=quality, background=benchmark.background_image())
    rows[variant] = benchmark.run_effect(seg, frames, params, int(sys.argv[3]), crop=True)
print(json.dumps(rows))
"""


def run_block(tree: Path, size: str, frames: int, variants: list[str]) -> dict:
    """One child process on `tree`: each variant's run_effect row."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), size, str(frames), *variants], cwd=tree,
                         check=True, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--variants", nargs="+", default=["fast:blur", "best:blur"])
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "vs_revision.json")
    args = parser.parse_args()
    base_rev = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=REPO, check=True, capture_output=True,
                              text=True).stdout.strip()
    head_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True, capture_output=True,
                              text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="locallens-base-") as tmp:
        base = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), base_rev], cwd=REPO, check=True)
        try:
            for model in (REPO / "models").glob("*.onnx"):  # git-lfs or large files may be absent in a worktree
                target = base / "models" / model.name
                if not target.exists() or target.stat().st_size != model.stat().st_size:
                    target.unlink(missing_ok=True)
                    target.symlink_to(model)
            trees = {f"base {base_rev}": base, f"tree (HEAD {head_rev} + changes)": REPO}
            rows: dict[str, dict[str, list[dict]]] = {name: {v: [] for v in args.variants} for name in trees}
            for block in range(args.blocks):
                order = list(trees) if block % 2 == 0 else list(trees)[::-1]
                for name in order:
                    for variant, row in run_block(trees[name], args.size, args.frames, args.variants).items():
                        rows[name][variant].append(row)
                print(f"block {block + 1}/{args.blocks} done", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO, check=False)
    table = {name: {v: {k: round(statistics.median(r[k] for r in rs), 3) for k in KEYS} for v, rs in by.items()}
             for name, by in rows.items()}
    names = list(table)
    ratios = {v: round(table[names[1]][v]["total_cpu"] / table[names[0]][v]["total_cpu"], 3) for v in args.variants}
    for name, by in table.items():
        for v, row in by.items():
            print(f"{name:32} {v:10} " + " ".join(f"{k} {row[k]}" for k in KEYS))
    print("tree / base total_cpu:", ratios)
    out = {"benchmark": "bench_vs_revision", "size": args.size, "blocks": args.blocks, "frames": args.frames,
           "table": table, "tree_over_base_total_cpu": ratios, "load_after": os.getloadavg()}
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
