"""SIGTERM with the real awslambdaric, idle in its native next(): the handlers run at
once and the process ends with status 0, thread polling off and on. The usual
hand-written signal.signal handler, for comparison, never runs with polling off."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import paths
from support.fake_runtime import run_idle_then_sigterm

CODE = paths.PYTHON_DIR / "tests" / "functions" / "sigterm"


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_the_library_runs_the_handler_at_once_and_exits_0(polling: bool, tmp_path: Path) -> None:
    m = run_idle_then_sigterm(CODE, {"SIGTERM_MODE": "library"}, polling=polling, mark=tmp_path / "mark")
    assert m.handler_ms is not None, m.output
    assert not m.killed_by_us, f"still running {m.gone_ms:.1f} ms after SIGTERM:\n{m.output}"
    assert m.exit == "code:0", m.output
    # Generous bounds: this only proves "at once", not the figure (see python/bench).
    assert m.handler_ms < 150 and m.gone_ms < 300, m
    assert "exiting with status 0" in m.output


def test_the_handwritten_pattern_never_runs_with_polling_off(tmp_path: Path) -> None:
    m = run_idle_then_sigterm(CODE, {"SIGTERM_MODE": "handwritten"}, polling=False, mark=tmp_path / "mark")
    assert m.handler_ms is None, "the main thread is in native code: Python never runs the handler"
    assert m.killed_by_us and m.exit == "signal:SIGKILL"


def test_the_handwritten_pattern_runs_with_polling_on(tmp_path: Path) -> None:
    m = run_idle_then_sigterm(CODE, {"SIGTERM_MODE": "handwritten"}, polling=True, mark=tmp_path / "mark")
    assert m.handler_ms is not None and not m.killed_by_us, m
