"""engine.py: provider choice, per-provider session options, GPU -> CPU fallback with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from synthetic_model import build_model, expected_probability

from desktop_app.core import engine
from desktop_app.core.engine import COREML, CPU, CUDA, DML, InferenceEngine, ModelLoadError, choose_providers

AZURE = "AzureExecutionProvider"
ALL = [DML, CUDA, COREML, AZURE, CPU]


@pytest.mark.parametrize(
    ("device", "available", "platform", "expected"),
    [
        ("auto", ALL, "win32", [DML, CPU]),
        ("auto", ALL, "linux", [CUDA, CPU]),
        ("auto", ALL, "darwin", [CUDA, CPU]),
        ("auto", [COREML, CPU], "darwin", [COREML, CPU]),
        ("auto", [COREML, CPU], "linux", [CPU]),
        ("auto", [DML, CPU], "linux", [CPU]),
        ("auto", [CUDA, DML, CPU], "win32", [DML, CPU]),
        ("auto", [AZURE, CPU], "linux", [CPU]),
        ("auto", [AZURE], "linux", [CPU]),
        ("auto", [], "win32", [CPU]),
        ("gpu", [DML, CPU], "win32", [DML, CPU]),
        ("gpu", [AZURE, CPU], "win32", [CPU]),
        ("cpu", ALL, "win32", [CPU]),
        ("cpu", ALL, "darwin", [CPU]),
    ],
)
def test_choose_providers(device: str, available: list[str], platform: str, expected: list[str]) -> None:
    assert choose_providers(device, available, platform) == expected  # type: ignore[arg-type]


def test_choose_providers_rejects_unknown_device() -> None:
    with pytest.raises(ValueError, match="unknown device 'tpu'; choose one of auto, cpu, gpu"):
        choose_providers("tpu", [CPU], "linux")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("engine") / "synthetic.onnx")


def _white_feed() -> dict[str, np.ndarray]:
    return {"input_1": np.ones((1, 256, 256, 3), dtype=np.float32)}


class FakeGpuSession:
    """Wraps a real CPU session but reports `provider` first, optionally failing its runs."""

    def __init__(self, path: str, provider: str, fail_run: bool = False) -> None:
        self._real = ort.InferenceSession(path, providers=[CPU])
        self._provider = provider
        self.fail_run = fail_run
        self.runs = 0
        self.lock_held: list[bool] = []
        self.engine: InferenceEngine | None = None

    def get_providers(self) -> list[str]:
        return [self._provider, CPU]

    def get_inputs(self) -> Any:
        return self._real.get_inputs()

    def get_outputs(self) -> Any:
        return self._real.get_outputs()

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.runs += 1
        if self.engine is not None and self.engine._lock is not None:
            self.lock_held.append(self.engine._lock.locked())
        if self.fail_run:
            raise RuntimeError("D3D12 device removed (0x887A0005)")
        return self._real.run(names, feeds)


class RecordingFactory:
    """A session factory that records what it was asked for and can make GPU providers fail."""

    def __init__(self, fail_build: bool = False, fail_run: bool = False, silent_drop: bool = False) -> None:
        self.fail_build, self.fail_run, self.silent_drop = fail_build, fail_run, silent_drop
        self.calls: list[tuple[list[str], ort.SessionOptions]] = []
        self.sessions: list[Any] = []

    def __call__(self, path: str, options: ort.SessionOptions, providers: list[str]) -> Any:
        self.calls.append((list(providers), options))
        if providers[0] == CPU or self.silent_drop:
            session: Any = ort.InferenceSession(path, sess_options=options, providers=[CPU])
        elif self.fail_build:
            raise RuntimeError(f"{providers[0]} failed: LoadLibrary failed with error 126")
        else:
            session = FakeGpuSession(path, providers[0], self.fail_run)
        self.sessions.append(session)
        return session


def test_cpu_engine_runs_with_cpu_options(model_path: Path) -> None:
    factory = RecordingFactory()
    eng = InferenceEngine(model_path, device="auto", threads=2, available=[AZURE, CPU], session_factory=factory)
    assert eng.provider == CPU
    assert eng.fallback_reason is None
    assert not eng.is_gpu
    [(providers, options)] = factory.calls
    assert providers == [CPU]
    assert options.intra_op_num_threads == 2
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    [out] = eng.run(_white_feed())
    assert out.shape == (1, 256, 256, 1)
    np.testing.assert_allclose(out[0, :, :, 0], expected_probability(np.full((256, 256, 3), 255, np.uint8)), atol=1e-6)


def test_default_threads_and_spinning(model_path: Path) -> None:
    factory = RecordingFactory()
    InferenceEngine(model_path, available=[CPU], session_factory=factory)
    options = factory.calls[0][1]
    assert options.intra_op_num_threads == engine.DEFAULT_THREADS == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_input_and_output_meta(model_path: Path) -> None:
    eng = InferenceEngine(model_path, device="cpu")
    assert eng.input_meta == [engine.TensorMeta("input_1", (1, 256, 256, 3), np.float32)]
    assert eng.output_meta == [engine.TensorMeta("segment_back", (1, 256, 256, 1), np.float32)]


def test_directml_session_options_and_run_lock(model_path: Path) -> None:
    factory = RecordingFactory()
    eng = InferenceEngine(model_path, available=[DML, CPU], session_factory=factory, platform="win32")
    assert eng.provider == DML
    assert eng.is_gpu
    assert eng.fallback_reason is None
    [(providers, options)] = factory.calls
    assert providers == [DML, CPU]
    assert options.enable_mem_pattern is False
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    session = factory.sessions[0]
    assert session.runs == 1  # the warm-up
    session.engine = eng
    eng.run(_white_feed())
    assert session.lock_held == [True]
    assert not eng._lock.locked()


def test_cuda_session_has_no_run_lock(model_path: Path) -> None:
    factory = RecordingFactory()
    eng = InferenceEngine(model_path, available=[CUDA, CPU], session_factory=factory, platform="linux")
    assert eng.provider == CUDA
    assert eng._lock is None
    assert factory.calls[0][1].enable_mem_pattern is True


@pytest.mark.parametrize(
    ("provider", "platform", "failure", "error"),
    [
        (DML, "win32", {"fail_build": True}, "LoadLibrary failed with error 126"),
        (CUDA, "linux", {"fail_build": True}, "LoadLibrary failed with error 126"),
        (DML, "win32", {"fail_run": True}, "D3D12 device removed"),
        (CUDA, "linux", {"silent_drop": True}, "did not enable it"),
    ],
    ids=["dml-build", "cuda-build", "dml-warmup", "cuda-silently-dropped"],
)
def test_gpu_failure_falls_back_to_cpu_with_reason(
    model_path: Path, provider: str, platform: str, failure: dict[str, bool], error: str
) -> None:
    factory = RecordingFactory(**failure)
    eng = InferenceEngine(model_path, available=[provider, CPU], session_factory=factory, platform=platform)
    assert eng.provider == CPU
    assert not eng.is_gpu
    assert eng._lock is None
    assert eng.fallback_reason is not None
    assert eng.fallback_reason.startswith(f"The GPU ({provider.removesuffix('ExecutionProvider')}) could not")
    assert "uses the CPU" in eng.fallback_reason
    assert error in eng.fallback_reason
    assert [call[0] for call in factory.calls] == [[provider, CPU], [CPU]]
    [out] = eng.run(_white_feed())
    assert out.shape == (1, 256, 256, 1)
    assert float(out.min()) > 0.99


def test_gpu_requested_without_gpu_provider_reports_why(model_path: Path) -> None:
    eng = InferenceEngine(model_path, device="gpu", available=[AZURE, CPU], platform="linux")
    assert eng.provider == CPU
    assert eng.fallback_reason == (
        "You asked for the GPU, but this onnxruntime build has no GPU execution provider for this system "
        "(available: CPU only); using the CPU."
    )


def test_auto_without_gpu_has_no_reason(model_path: Path) -> None:
    eng = InferenceEngine(model_path, device="auto", available=[CPU], platform="linux")
    assert eng.fallback_reason is None


def test_unloadable_model_raises_model_load_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match=r"could not load model .*bad\.onnx"):
        InferenceEngine(bad, device="cpu")


def test_threads_must_be_positive(model_path: Path) -> None:
    with pytest.raises(ValueError, match="threads must be at least 1, not 0"):
        InferenceEngine(model_path, threads=0)


def test_available_providers_always_has_cpu() -> None:
    assert CPU in engine.available_providers()


def test_as_device_keeps_known_devices_and_turns_anything_else_into_auto() -> None:
    from desktop_app.core.engine import as_device

    texts = ("cpu", "gpu", "auto", "GPU", "", "tpu")
    assert [as_device(t) for t in texts] == ["cpu", "gpu", "auto", "auto", "auto", "auto"]
