"""LocalLens vs deface side by side in one run (issue #11): both CLIs as a user runs them, on the same photos and
720p video, alternating per input; then each side's detections compared, and where each side's time goes.

Inputs: bench/faces_inputs.py (14 photos from 0.3 to 12 MP, a 10 s 1280 x 720 clip with five moving faces),
made once into .cache/faces_bench/. deface: `.venvs/deface/bin/deface IN -o OUT --thresh T` (tools/make_deface_venv.sh;
replacewith blur, its default), ours: `locallens process IN --effect none --faces blur --face-threshold T --out DIR`
(photos also `--format jpg`: JPEG in, JPEG out, as deface writes), or bench/faces_core_cli.py (the core directly)
where the CLI has no `--faces` yet (`--ours auto` picks). Same threshold both sides (`--threshold`, default 0.2:
deface's default, so deface runs exactly as its users run it).

1. Per input (each photo, the video): `--repeats` runs of each CLI in a fresh process, the order flipped every
   time so machine noise hits both alike; wall-clock medians (process start and model load included: what a user
   waits for) and the children's CPU seconds.
2. Folder: each CLI once on the whole photo folder per round (`--rounds`): photos/s with the start paid once.
3. Agreement: deface's boxes (bench/deface_worker.py: its own CenterFace code at its own scale) vs ours (the faces
   stage's `find`: what the CLI hides, tiled for photos over 1920 px, before tracking; FaceDetector at full size
   where the core has no faces stage) on every photo and every 5th video frame: F1 at box IoU 0.5, at the run's
   threshold and at 0.5.
4. Profile: each side's steps timed in process (start, imports, model load, decode, detect, blur, encode).
Writes bench/results/faces_vs_deface.json.

    .venv/bin/python bench/bench_faces_vs_deface.py [--threshold 0.2] [--repeats 3] [--rounds 2]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import faces_inputs  # noqa: E402
import faces_profile  # noqa: E402
from faces_agreement import agreement  # noqa: E402

DEFACE_VENV = REPO / ".venvs" / "deface"
LOCALLENS = Path(sys.executable).parent / "locallens"
TARGET_RATIO = 3.0


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def cli_has_faces() -> bool:
    """Whether `locallens process` takes `--faces` (the faces stage has landed)."""
    out = subprocess.run([str(LOCALLENS), "process", "--help"], capture_output=True, text=True, check=False).stdout
    return "--faces" in out


def ours_command(inp: Path, out_dir: Path, threshold: float, mode: str, photo: bool) -> list[str]:
    fmt = ["--format", "jpg"] if photo else []
    if mode == "cli":
        return [str(LOCALLENS), "process", str(inp), "--effect", "none", "--faces", "blur", "--face-threshold",
                str(threshold), "--out", str(out_dir), *fmt]
    return [sys.executable, str(REPO / "bench" / "faces_core_cli.py"), str(inp), "--face-threshold", str(threshold),
            "--out", str(out_dir), *fmt]


def deface_command(inp: Path, out: Path | None, threshold: float) -> list[str]:
    return [str(DEFACE_VENV / "bin" / "deface"), str(inp), *(["-o", str(out)] if out else []), "--thresh",
            str(threshold)]


def timed_run(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, children's CPU s, output) of one process; SystemExit if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout + proc.stderr


def side_by_side(inputs: list[Path], threshold: float, mode: str, repeats: int, work: Path) -> dict:
    """Each input through both CLIs `repeats` times, alternating which goes first."""
    runs: dict[str, dict[str, dict[str, list[float]]]] = {
        p.name: {s: {"wall": [], "cpu": []} for s in ("ours", "deface")} for p in inputs}
    printed = {}
    for rep in range(repeats):
        for k, inp in enumerate(inputs):
            photo = inp.suffix.lower() == ".jpg"
            order = ("ours", "deface") if (rep + k) % 2 == 0 else ("deface", "ours")
            for side in order:
                out = work / f"{side}-{rep}-{k}"
                out.mkdir()
                cmd = (ours_command(inp, out, threshold, mode, photo) if side == "ours"
                       else deface_command(inp, out / inp.name, threshold))
                wall, cpu, text = timed_run(cmd)
                if not any(out.iterdir()):
                    raise SystemExit(f"{side} wrote nothing for {inp.name}: {text[-500:]}")
                runs[inp.name][side]["wall"].append(wall)
                runs[inp.name][side]["cpu"].append(cpu)
                printed.setdefault(side, text.strip().splitlines()[-3:])
                shutil.rmtree(out)
            r = runs[inp.name]
            print(f"  [{rep + 1}/{repeats}] {inp.name:>36}: ours {r['ours']['wall'][-1]:6.2f} s, "
                  f"deface {r['deface']['wall'][-1]:6.2f} s", flush=True)
    rows = {}
    for name, sides in runs.items():
        row = {f"{s}_{m}_s": median(v[m]) for s, v in sides.items() for m in ("wall", "cpu")}
        row["ratio"] = round(row["deface_wall_s"] / row["ours_wall_s"], 2)
        row["runs"] = sides
        rows[name] = row
    return {"rows": rows, "printed_tail": printed}


def totals(rows: dict, names: list[str]) -> dict:
    ours = sum(rows[n]["ours_wall_s"] for n in names)
    deface = sum(rows[n]["deface_wall_s"] for n in names)
    cpu_o, cpu_d = sum(rows[n]["ours_cpu_s"] for n in names), sum(rows[n]["deface_cpu_s"] for n in names)
    return {"inputs": len(names), "ours_s": round(ours, 3), "deface_s": round(deface, 3),
            "ratio": round(deface / ours, 2), "meets_3x": deface / ours >= TARGET_RATIO,
            "ours_cpu_s": round(cpu_o, 3), "deface_cpu_s": round(cpu_d, 3), "ratio_cpu": round(cpu_d / cpu_o, 2)}


def folder_rounds(photos: list[Path], threshold: float, mode: str, rounds: int, work: Path) -> dict:
    """Each CLI on a folder of the photos once per round (deface on a fresh copy: it writes next to its inputs)."""
    src = work / "folder-src"
    src.mkdir()
    for photo in photos:
        shutil.copy2(photo, src / photo.name)
    walls: dict[str, list[float]] = {"ours": [], "deface": []}
    cpus: dict[str, list[float]] = {"ours": [], "deface": []}
    for rnd in range(rounds):
        for side in (("ours", "deface") if rnd % 2 == 0 else ("deface", "ours")):
            if side == "ours":
                out = work / f"folder-ours-{rnd}"
                cmd = ours_command(src, out, threshold, mode, photo=True)
            else:
                out = work / f"folder-deface-{rnd}"
                shutil.copytree(src, out)
                cmd = deface_command(out, None, threshold)
            wall, cpu, _ = timed_run(cmd)
            walls[side].append(wall)
            cpus[side].append(cpu)
            shutil.rmtree(out)
        print(f"  folder round {rnd + 1}/{rounds}: ours {walls['ours'][-1]:.2f} s, deface {walls['deface'][-1]:.2f} s",
              flush=True)
    n = len(photos)
    o, d = median(walls["ours"]), median(walls["deface"])
    return {"photos": n, "ours_s": o, "deface_s": d, "ours_photos_per_s": round(n / o, 3),
            "deface_photos_per_s": round(n / d, 3), "ratio": round(d / o, 2), "meets_3x": d / o >= TARGET_RATIO,
            "ours_cpu_s": median(cpus["ours"]), "deface_cpu_s": median(cpus["deface"]), "walls": walls}


def markdown(result: dict) -> str:
    """The docs/benchmarks.md tables for one run's JSON."""
    rows = result["per_input"]
    sizes = result["inputs"]["photos"]
    lines = ["| input | size | ours s (CPU s) | deface s (CPU s) | deface / ours |", "| --- | --- | --- | --- | --- |"]
    for name, r in rows.items():
        size = "x".join(map(str, sizes[name])) if name in sizes else "x".join(map(str, result["inputs"]["video_size"]))
        lines.append(f"| {name} | {size} | {r['ours_wall_s']:.2f} ({r['ours_cpu_s']:.2f}) "
                     f"| {r['deface_wall_s']:.2f} ({r['deface_cpu_s']:.2f}) | {r['ratio']:.2f}x |")
    lines += ["", "| throughput | ours s | deface s | ours / deface | >= 3x |", "| --- | --- | --- | --- | --- |"]
    labels = {"photos_one_process_each": "photos, one process each (sum of medians)",
              "photo_folder": "photo folder, one process", "video": "video (one process)"}
    for key, s in result["summary"].items():
        lines.append(f"| {labels[key]} | {s['ours_s']:.2f} | {s['deface_s']:.2f} | **{s['ratio']:.2f}x** "
                     f"| {'yes' if s['meets_3x'] else 'no'} |")
    lines += ["", "| agreement (F1 at IoU 0.5, ours vs deface) | F1 | both | ours only | deface only |",
              "| --- | --- | --- | --- | --- |"]
    for key, a in result["agreement"].items():
        lines.append(f"| {key} ({a['images']} images or frames) | {a['f1']:.3f} | {a['tp']} | {a['fp']} "
                     f"| {a['fn']} |")
    prof = result["profile"]
    d, o = prof["deface"], prof["ours"]
    loads = o["model_load_s"]
    lines += ["", "| where the time goes (in process) | ours | deface |", "| --- | --- | --- |",
              f"| process start + imports (`--version`) | {o['process_start_s']:.2f} s "
              f"| {d['process_start_s']:.2f} s |",
              f"| model load and checks | {loads:.2f} s | {d['model_load_s']:.2f} s |"]
    for step in ("read", "detect", "write"):
        lines.append(f"| photos: {step}, sum over all (ms) | {sum(p[step] for p in o['photos_ms'].values()):.0f} "
                     f"| {sum(p[step] for p in d['photos_ms'].values()):.0f} |")
    lines.append(f"| photos: blur (ms, sum) | {sum(p['blur'] for p in o['photos_ms'].values()):.0f} "
                 f"| {sum(p['anonymize'] for p in d['photos_ms'].values()):.0f} |")
    for step, dstep in (("read", "read"), ("detect", "detect"), ("blur", "anonymize"), ("write", "write")):
        lines.append(f"| video: {step} per frame (ms, median) | {o['video']['ms_median'][step]:.1f} "
                     f"| {d['video']['ms_median'][dstep]:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ours", choices=("auto", "cli", "core"), default="auto")
    parser.add_argument("--stride", type=int, default=5, help="video frames compared: every N-th")
    parser.add_argument("--video-seconds", type=float, default=10.0, help="the clip's length (30 fps)")
    parser.add_argument("--clip", choices=("f2", "own"), default="f2", help="the video: tools/make_face_video.py's "
                        "(default) or bench/faces_inputs.py's own")
    parser.add_argument("--photos", default="", help="only the photos whose names contain one of these "
                        "comma-separated words (a quick check); default all")
    parser.add_argument("--reuse-deface", action="store_true", help="deface's in-process boxes and steps from "
                        "the last run with --reuse-deface on the same inputs (.cache/faces_bench), if there")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "faces_vs_deface.json")
    args = parser.parse_args(argv)
    if not (DEFACE_VENV / "bin" / "deface").is_file():
        raise SystemExit("no .venvs/deface: run bash tools/make_deface_venv.sh")
    mode = args.ours if args.ours != "auto" else ("cli" if cli_has_faces() else "core")
    # deface's pip install ships its bytecode; a checkout run with PYTHONDONTWRITEBYTECODE=1 (as here) would
    # compile every desktop_app module at each of our starts (~0.09 s): compile it once, as an install does.
    compileall.compile_dir(str(REPO / "desktop_app"), quiet=1)
    photos, video = faces_inputs.ensure(frames=round(args.video_seconds * faces_inputs.VIDEO_FPS), clip=args.clip)
    if args.photos:
        photos = [p for p in photos if any(w in p.name for w in args.photos.split(","))]
    load_start = os.getloadavg()
    print(f"ours: {mode}; threshold {args.threshold}; {len(photos)} photos + {video.name}; load {load_start[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="faces-vs-deface-") as tmp:
        work = Path(tmp)
        print("1. per input, alternating:")
        per = side_by_side([*photos, video], args.threshold, mode, args.repeats, work)
        print("2. folder:")
        folder = folder_rounds(photos, args.threshold, mode, args.rounds, work)
    names = [p.name for p in photos]
    summary = {"photos_one_process_each": totals(per["rows"], names),
               "video": totals(per["rows"], [video.name]), "photo_folder": folder}
    print("3. agreement and 4. profile:")
    kept = faces_inputs.CACHE / f"deface_worker-{min(args.threshold, 0.5)}-{video.stem}-{args.stride}.json"
    deface_side = faces_profile.deface_steps(photos, video, min(args.threshold, 0.5), args.stride,
                                             kept if args.reuse_deface else None)
    ours_side = faces_profile.ours_steps(photos, video, min(args.threshold, 0.5), args.stride)
    reference = {**{n: p["boxes"] for n, p in deface_side["photos"].items()},
                 **{f"video#{i}": b for i, b in deface_side["video"]["boxes"].items()}}
    mine = {**{n: p["boxes"] for n, p in ours_side["photos"].items()},
            **{f"video#{i}": b for i, b in ours_side["video"]["boxes"].items()}}
    agree = {}
    for t in sorted({args.threshold, 0.5}):
        photos_only = {n: v for n, v in reference.items() if not n.startswith("video#")}
        agree[f"photos@{t}"] = agreement(photos_only, mine, t)
        agree[f"video@{t}"] = agreement({n: v for n, v in reference.items() if n.startswith("video#")}, mine, t)
    for key, a in agree.items():
        print(f"  agreement {key}: F1 {a['f1']:.3f} (tp {a['tp']}, ours only {a['fp']}, deface only {a['fn']})")
    result = {
        "benchmark": "faces_vs_deface", "ours_mode": mode, "threshold": args.threshold,
        "threshold_why": "deface's default (0.2): deface runs exactly as its users run it; agreement also at 0.5 "
                         "(LocalLens's default)",
        "repeats": args.repeats, "rounds": args.rounds, "target_ratio": TARGET_RATIO,
        "inputs": {"photos": {p.name: faces_profile.image_size(p) for p in photos}, "video": video.name,
                   "video_frames": round(args.video_seconds * faces_inputs.VIDEO_FPS),
                   "video_size": list(faces_inputs.VIDEO_SIZE)},
        "deface": {k: deface_side[k] for k in ("deface", "backend", "providers", "printed", "import_s",
                                                "model_load_s")},
        "summary": summary, "per_input": per["rows"], "cli_output_tail": per["printed_tail"],
        "agreement": agree,
        "profile": {"deface": faces_profile.strip_boxes(deface_side), "ours": faces_profile.strip_boxes(ours_side)},
        "load_average_start": list(load_start), "load_average_end": list(os.getloadavg()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    for key, s in summary.items():
        print(f"  {key}: ours {s['ours_s']:.2f} s, deface {s['deface_s']:.2f} s, ratio {s['ratio']:.2f}x "
              f"({'meets' if s['meets_3x'] else 'MISSES'} {TARGET_RATIO:.0f}x)")
    print("\n" + markdown(result) + "\n")
    print(f"wrote {args.json}; load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
