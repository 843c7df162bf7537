"""ONNX Runtime inference: execution-provider choice, per-provider session options, CPU fallback with a reason.

Defaults from `bench/bench_threads.py` (bench/results/threads.json; 2 shared cores, selfie-general FP32,
400 interleaved runs each). Idle, 2 threads with spinning on had the lowest median (0.71-0.80x of 1 thread)
but spinning burns the second core; with OpenCV blurring on another thread, as the live pipeline does, the
four settings gave 0.88-1.12x the inference median and 1 thread with spinning off left the blur thread as
much or more throughput (48.0 vs 44.0-47.3 blurs/s in the latest run, on the rewritten graph). So: 1
intra-op thread, spinning off.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort

Device = Literal["auto", "cpu", "gpu"]
DEVICES: tuple[str, ...] = ("auto", "cpu", "gpu")

CPU = "CPUExecutionProvider"
DML = "DmlExecutionProvider"
CUDA = "CUDAExecutionProvider"
COREML = "CoreMLExecutionProvider"
# (provider, platform prefix it works on or "" for any), in order of preference.
GPU_PREFERENCE: tuple[tuple[str, str], ...] = ((DML, "win32"), (CUDA, ""), (COREML, "darwin"))
GPU_PROVIDERS = frozenset(name for name, _ in GPU_PREFERENCE)

DEFAULT_THREADS = 1
DEFAULT_SPINNING = False

SessionFactory = Callable[[str, ort.SessionOptions, list[str]], Any]

_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


class ModelLoadError(RuntimeError):
    """The model file could not be loaded even on the CPU."""


@dataclass(frozen=True, slots=True)
class TensorMeta:
    """A session input or output: name, shape (None for a dynamic dimension), numpy dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: type

    @classmethod
    def from_ort(cls, arg: Any) -> TensorMeta:
        shape = tuple(d if isinstance(d, int) and d > 0 else None for d in arg.shape)
        return cls(name=arg.name, shape=shape, dtype=_ORT_TYPES.get(arg.type, np.float32))


def as_device(text: str) -> Device:
    """`text` as a Device ("auto" for anything unknown: a hand-edited setting, say)."""
    return "cpu" if text == "cpu" else "gpu" if text == "gpu" else "auto"


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers."""
    return list(ort.get_available_providers())


def is_gpu_provider(provider: str) -> bool:
    return provider in GPU_PROVIDERS


def choose_providers(device: Device, available: list[str], platform: str) -> list[str]:
    """Providers to request, best first; CPU always last. `cpu` -> CPU only; `auto`/`gpu` -> best GPU + CPU.

    DirectML only counts on Windows and CoreML only on macOS; anything else (e.g. Azure) is ignored.
    """
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device != "cpu":
        for provider, platform_prefix in GPU_PREFERENCE:
            if provider in available and platform.startswith(platform_prefix):
                return [provider, CPU]
    return [CPU]


def session_options(
    provider: str, threads: int = DEFAULT_THREADS, spinning: bool = DEFAULT_SPINNING
) -> ort.SessionOptions:
    """Options for a session whose first provider is `provider`."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; fallbacks are reported through fallback_reason
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if provider == DML:
        options.enable_mem_pattern = False  # DirectML requires both of these
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def _default_factory(path: str, options: ort.SessionOptions, providers: list[str]) -> Any:
    return ort.InferenceSession(path, sess_options=options, providers=providers)


class InferenceEngine:
    """One ONNX Runtime session on the best provider for `device`, falling back to the CPU if the GPU fails.

    `available` and `session_factory` are injectable so tests can simulate GPU providers and failures.
    """

    def __init__(
        self,
        path: Path | str,
        device: Device = "auto",
        threads: int = DEFAULT_THREADS,
        available: list[str] | None = None,
        session_factory: SessionFactory | None = None,
        *,
        spinning: bool = DEFAULT_SPINNING,
        platform: str | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self.path = Path(path)
        self.device = device
        self.threads = threads
        self.spinning = spinning
        self.fallback_reason: str | None = None
        self._factory = session_factory or _default_factory
        self._lock: threading.Lock | None = None
        providers_available = available if available is not None else available_providers()
        wanted = choose_providers(device, providers_available, platform or sys.platform)
        self.requested = wanted
        if device == "gpu" and wanted == [CPU]:
            usable = [p for p in providers_available if p != CPU and p != "AzureExecutionProvider"]
            self.fallback_reason = (
                "You asked for the GPU, but this onnxruntime build has no GPU execution provider for this "
                f"system (available: {', '.join(usable) or 'CPU only'}); using the CPU."
            )
        self._session = self._build(wanted)

    # ------------------------------------------------------------------------------------------ build

    def _build(self, wanted: list[str]) -> Any:
        gpu = wanted[0]
        if gpu != CPU:
            try:
                session = self._factory(str(self.path), session_options(gpu, self.threads, self.spinning), wanted)
                active = session.get_providers()[0]
                if active != gpu:
                    raise RuntimeError(f"onnxruntime did not enable it and used {active} instead")
                self._session = session
                self._lock = threading.Lock() if gpu == DML else None
                self._warm_up()
                return session
            except Exception as exc:  # any GPU failure -> CPU, with the reason kept for the user
                self._lock = None
                self.fallback_reason = (
                    f"The GPU ({_short(gpu)}) could not run the model, so LocalLens uses the CPU. "
                    f"Error: {_one_line(exc)}"
                )
        try:
            return self._factory(str(self.path), session_options(CPU, self.threads, self.spinning), [CPU])
        except Exception as exc:
            raise ModelLoadError(f"could not load model {self.path}: {_one_line(exc)}") from exc

    def _warm_up(self) -> None:
        feeds: dict[str, np.ndarray] = {
            meta.name: np.zeros(tuple(d or 1 for d in meta.shape), dtype=meta.dtype) for meta in self.input_meta
        }
        self.run(feeds)

    # ------------------------------------------------------------------------------------------ use

    @property
    def provider(self) -> str:
        """The provider in use (the session's first)."""
        return self._session.get_providers()[0]

    @property
    def is_gpu(self) -> bool:
        return is_gpu_provider(self.provider)

    @property
    def input_meta(self) -> list[TensorMeta]:
        return [TensorMeta.from_ort(arg) for arg in self._session.get_inputs()]

    @property
    def output_meta(self) -> list[TensorMeta]:
        return [TensorMeta.from_ort(arg) for arg in self._session.get_outputs()]

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Run the session; with DirectML only one run at a time."""
        if self._lock is None:
            return self._session.run(None, dict(feeds))
        with self._lock:
            return self._session.run(None, dict(feeds))


def _short(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
