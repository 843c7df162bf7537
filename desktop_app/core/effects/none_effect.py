"""The `none` effect: the frame as it came (no model runs, nothing is composed); on the CLI with `--faces` only."""

from __future__ import annotations

from desktop_app.core.effects.registry import EffectSpec, register

SPEC = register(EffectSpec(name="none", title="None", params=(), model_kind=None, output="rgb", compose=None))
