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


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_sigint_starts_the_shutdown_too(polling: bool, tmp_path: Path) -> None:
    import signal

    m = run_idle_then_sigterm(CODE, {"SIGTERM_MODE": "library"}, polling=polling, mark=tmp_path / "mark",
                              sig=signal.SIGINT)
    assert m.handler_ms is not None and m.exit == "code:0" and not m.killed_by_us, m.output
    assert "running shutdown handlers signal=SIGINT" in m.output


def test_the_handwritten_pattern_never_runs_with_polling_off(tmp_path: Path) -> None:
    m = run_idle_then_sigterm(CODE, {"SIGTERM_MODE": "handwritten"}, polling=False, mark=tmp_path / "mark")
    assert m.handler_ms is None, "the main thread is in native code: Python never runs the handler"
    assert m.killed_by_us and m.exit == "signal:SIGKILL"


def test_the_handwritten_pattern_runs_with_polling_on(tmp_path: Path) -> None:
    # It runs; whether its sys.exit(0) then ends the process is another matter: the
    # client's polling thread may still sit in next(), and the interpreter waits for it.
    # A long share: the question is whether it runs at all, not how fast on a busy machine.
    m = run_idle_then_sigterm(CODE, {"SIGTERM_MODE": "handwritten"}, polling=True, mark=tmp_path / "mark",
                              share_ms=3000)
    assert m.handler_ms is not None, m


def test_a_handler_that_holds_the_interpreter_is_cut_off_by_the_watchdog(tmp_path: Path) -> None:
    # sum() over a huge range is one C call that never lets another Python thread run.
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "hog.py"
    script.write_text(
        "import os, sys\n"
        "from lambda_graceful_shutdown import Config, GracefulShutdown\n"
        "s = GracefulShutdown(Config(timeout_ms=50, secret_file='/nonexistent'))\n"
        "@s.on_shutdown\n"
        "def hog():\n"
        "    open(sys.argv[1], 'w').close()\n"
        "    sum(range(10**12))\n"
        "s.install()\n"
        "print('ready', flush=True)\n"
        "os.system('exec sleep 60')  # the main thread blocked in native code\n"
    )
    env = dict(os.environ, PYTHONPATH=str(paths.SRC))
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, str(script), str(started)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(10)
        took = time.monotonic() - sent
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert started.exists(), "the handler ran"
    assert code == 1, "faulthandler ends it with status 1"
    assert 0.25 < took < 2.0, took
    assert proc.stderr is not None and b"in hog" in proc.stderr.read(), "the stuck handler's stack is dumped"
