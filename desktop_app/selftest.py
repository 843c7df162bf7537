"""`self-test`: every bundled model loads and runs, every effect works on the bundled sample. Exit 0 = healthy.

Installers and CI run it. It writes only into a temporary folder that it removes again. Whatever is broken
(a missing or tampered model file, a missing or invalid manifest), it prints one FAIL line per check and
always ends with its summary line, never a traceback.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from desktop_app import APP_NAME, __version__, paths

if TYPE_CHECKING:
    from desktop_app.core.engine import Device


class Check:
    """Collects named checks; each prints one line and a failure never stops the others."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.provider = ""  # the segmenter's execution provider, for the summary line

    def __call__(self, name: str, fn: Callable[[], str | None]) -> None:
        started = time.perf_counter()
        try:
            detail = fn() or ""
        except Exception as exc:  # report and carry on: the point is to see everything that is broken
            self.failures.append(name)
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}")
            return
        print(f"ok    {name} ({(time.perf_counter() - started) * 1000:.0f} ms){' ' + detail if detail else ''}")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _check_detections(people: list) -> str:
    """A detector's rule: it finds the astronaut, with her face in the upper middle of the sample."""
    _expect(len(people) >= 1, "no person found on the sample")
    best = people[0]
    x0, y0, x1, y1 = best.box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    _expect(best.score >= 0.5 and 0.2 < cx < 0.7 and 0.1 < cy < 0.6, f"the person found is not the astronaut: {best}")
    return f"{len(people)} person(s), score {best.score:.2f}"


def _check_faces(faces: list) -> str:
    """A face detector's rule: it finds the astronaut's face, once, in the upper middle of the sample."""
    _expect(len(faces) == 1, f"{len(faces)} faces found on the sample, not the astronaut's one")
    x0, y0, x1, y1 = faces[0].box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    _expect(faces[0].score >= 0.5 and 0.3 < cx < 0.6 and 0.1 < cy < 0.4, f"not the astronaut's face: {faces[0]}")
    return f"1 face, score {faces[0].score:.2f}"


def _check_body(model_id: str, device: Device, rgb: np.ndarray) -> str:
    """A body segmenter's rule: in the astronaut's body square (from the person detector) it is sure of a body,
    its nose lies near her face box (within half a face of it: her hips are out of the picture, so the model
    guesses more) and it marks part, not all, of the picture as her."""
    from desktop_app.core.body_segmenter import BodySegmenter
    from desktop_app.core.detector import PersonDetector

    people = PersonDetector(device=device).detect(rgb)
    _check_detections(people)
    body = BodySegmenter(device=device, model_id=model_id)
    mask = body.segment(rgb, people[0])
    height, width = rgb.shape[:2]
    x, y = mask.points[0, 0] / width, mask.points[0, 1] / height
    x0, y0, x1, y1 = people[0].box
    gx, gy = (x1 - x0) / 2, (y1 - y0) / 2
    _expect(mask.presence >= 0.5, f"no body seen (presence {mask.presence:.2f})")
    _expect(x0 - gx <= x <= x1 + gx and y0 - gy <= y <= y1 + gy, "the body's nose is not at the astronaut's face")
    person = float((mask.prob >= 0.5).mean())
    _expect(0.05 < person < 0.95, f"person coverage {person:.2f} on the sample")
    return f"{body.engine.provider}, presence {mask.presence:.2f}, person {person:.0%}"


def run_self_test(device: Device = "auto") -> int:
    check = Check()
    try:
        _run_checks(check, device)
    except Exception as exc:  # a bug in the checks themselves: still one line and the summary
        check.failures.append("self-test")
        print(f"FAIL  self-test: {type(exc).__name__}: {exc}")
    if check.failures:
        print(f"self-test FAILED: {len(check.failures)} check(s): {', '.join(check.failures)}")
        return 1
    print(f"self-test passed ({check.provider})")
    return 0


def _run_checks(check: Check, device: Device) -> None:
    from desktop_app.core import models
    from desktop_app.core.adapters import adapter_for
    from desktop_app.core.engine import InferenceEngine
    from desktop_app.core.frames import Frame
    from desktop_app.core.imageio import read_image, write_image
    from desktop_app.core.params import EffectParams
    from desktop_app.core.pipeline import Pipeline
    from desktop_app.core.segmenter import Segmenter

    print(f"{APP_NAME} {__version__} self-test (data: {paths.app_root()})")
    state: dict[str, object] = {}

    def load_sample() -> str:
        state["rgb"] = sample = read_image(paths.sample_image()).rgb
        return f"{paths.sample_image().name} {sample.shape[1]}x{sample.shape[0]}"

    def load_manifest() -> str:
        state["manifest"] = loaded = models.load_manifest()
        return f"{len(loaded.models)} model(s)"

    check("sample image", load_sample)
    check("model manifest", load_manifest)
    rgb, manifest = state.get("rgb"), state.get("manifest")
    if not isinstance(rgb, np.ndarray) or not isinstance(manifest, models.Manifest):
        return  # nothing below can run; the FAIL lines above say why

    for spec in manifest.models:
        for variant in spec.variants:
            def run_variant(spec=spec, variant=variant) -> str:
                models.verify(variant)
                if spec.kind == models.BODY_SEGMENTATION:
                    return _check_body(spec.id, device, rgb)
                engine = InferenceEngine(variant.path, device=device)
                adapter = adapter_for(spec, engine.input_meta)
                out = adapter.postprocess(engine.run(adapter.preprocess(rgb)))
                if spec.kind == models.DETECTION:
                    return f"{engine.provider}, {_check_detections(out)}"
                if spec.kind == models.FACE_DETECTION:
                    return f"{engine.provider}, {_check_faces(out)}"
                _expect(out.shape == (spec.input.size[1], spec.input.size[0]), f"mask shape {out.shape}")
                _expect(bool(np.isfinite(out).all()) and out.min() >= 0.0 and out.max() <= 1.0, "mask range")
                person = float((out > 0.5).mean())
                _expect(0.05 < person < 0.95, f"person coverage {person:.2f} on the sample")
                return f"{engine.provider}, person {person:.0%}"

            check(f"model {spec.id} {variant.precision}", run_variant)

    backgrounds = sorted((paths.assets_dir() / "backgrounds").glob("*.jpg"))

    def load_segmenter() -> str:
        state["segmenter"] = loaded = Segmenter(device=device)
        return f"{loaded.spec.id}, {loaded.provider}"

    check("segmenter (model auto)", load_segmenter)
    segmenter = state.get("segmenter")
    if not isinstance(segmenter, Segmenter):
        return  # the effects need a model; its FAIL line above names the problem
    check.provider = segmenter.provider
    frame = Frame(rgb, time.perf_counter(), 0, "self-test")

    def effect(params: EffectParams, verify: Callable[[np.ndarray, np.ndarray], None]) -> Callable[[], str]:
        def run() -> str:
            result = Pipeline(segmenter, params, temporal=False).process(frame)
            verify(result.pixels, result.mask if result.mask is not None else np.zeros(1))
            with tempfile.TemporaryDirectory(prefix="locallens-selftest-") as tmp:
                written = write_image(result.pixels, Path(tmp), f"selftest_{params.effect}", "png")
                back = read_image(written)
                _expect(back.rgb.shape[:2] == result.pixels.shape[:2], "written file reads back")
            return f"{result.total_ms:.1f} ms"

        return run

    def blurred(out: np.ndarray, mask: np.ndarray) -> None:
        _expect(out.shape == rgb.shape and out.dtype == np.uint8, "blur output shape")
        person = mask > 0.99
        _expect(person.mean() > 0.05, "the sample has a person")
        _expect(np.abs(out[person].astype(int) - rgb[person]).mean() < 1.0, "person pixels unchanged")
        background = mask < 0.02
        _expect(bool(background.any()), "the sample has background")
        _expect(np.abs(out[background].astype(int) - rgb[background]).mean() > 2, "background blurred")

    def replaced(out: np.ndarray, mask: np.ndarray) -> None:
        _expect(out.shape == rgb.shape, "replace output shape")
        _expect(not np.array_equal(out[mask < 0.02], rgb[mask < 0.02]), "background replaced")

    def cut_out(out: np.ndarray, mask: np.ndarray) -> None:
        _expect(out.shape == (*rgb.shape[:2], 4), "RGBA cut-out")
        alpha = out[..., 3]
        _expect(alpha[mask > 0.99].min() > 240 and alpha[mask < 0.02].max() < 10, "alpha follows the person")

    def solid(out: np.ndarray, mask: np.ndarray) -> None:
        _expect(tuple(out[mask < 0.001][0]) == (0, 177, 64), "solid colour behind the person")

    def mask_only(out: np.ndarray, _mask: np.ndarray) -> None:
        _expect(out.shape == rgb.shape[:2] and out.dtype == np.uint8, "8-bit mask at the photo's size")

    check("effect blur", effect(EffectParams("blur", strength=60), blurred))
    if backgrounds:
        check("effect replace", effect(EffectParams("replace", background=backgrounds[0]), replaced))
    else:
        check("effect replace", lambda: _expect(False, "no bundled backgrounds in assets/backgrounds"))
    check("effect remove (transparent)", effect(EffectParams("remove"), cut_out))
    check("effect remove (colour)", effect(EffectParams("remove", color=(0, 177, 64)), solid))
    check("effect mask", effect(EffectParams("mask"), mask_only))
    check("effect none", effect(EffectParams("none"), lambda out, _m: _expect(out is rgb, "unchanged")))

    def faces_hidden(out: np.ndarray, _mask: np.ndarray) -> None:
        _expect(out.shape == rgb.shape, "faces output shape")
        changed = (out != rgb).any(axis=2)
        _expect(0.01 < changed.mean() < 0.2, f"the face hidden, the rest kept ({changed.mean():.1%} changed)")
        ys, xs = np.nonzero(changed)
        centre = ((xs.min() + xs.max()) / 2 / rgb.shape[1], (ys.min() + ys.max()) / 2 / rgb.shape[0])
        _expect(0.3 < centre[0] < 0.6 and 0.1 < centre[1] < 0.4, f"what changed is the face (centre {centre})")

    check("faces blur (effect none)", effect(EffectParams("none", faces="blur"), faces_hidden))
