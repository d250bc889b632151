"""The shared shutdown cases (tests/cases/shutdown.json), with the real shutdown
layer and the real awslambdaric in the lifecycle emulator, thread polling off
(the main thread blocked in the client's native next()) and on."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Dict

import pytest

from support import cases, emulator
from support.ports import reserved_port

CASES = cases.cases()


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: Dict[str, Any], polling: bool, tmp_path: Path) -> None:
    run_case(case, polling, tmp_path)


STARVED = [c for c in CASES if c["name"] in (
    "the_verdict_stays_true_when_the_runtime_is_killed_halfway", "the_verdict_names_each_handler_with_its_status")]


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
@pytest.mark.parametrize("case", STARVED, ids=[c["name"] for c in STARVED])
def test_case_on_7_percent_of_a_core(case: Dict[str, Any], polling: bool, tmp_path: Path) -> None:
    """With the CPU Lambda gives 128 MB (--memory-mb 128: a cgroup CPU quota of about
    7 % of a core), the verdict is the same: `started` is written before each handler
    runs, so a handler cut off by the SIGKILL still shows as running."""
    run = run_case(case, polling, tmp_path, extra_args=["--memory-mb", "128"])
    notes = [e["message"] for e in run.of("lambda", "note")]
    assert any("CPU share 7.2 % of a vCPU" in n for n in notes), notes


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_a_kill_just_as_a_handler_starts_on_7_percent_of_a_core_still_shows_it_running(
        polling: bool, tmp_path: Path) -> None:
    """The moment the handler's first line is written, the runtime is SIGKILLed. Its
    `started` was written to the extension before it ran (not queued for a thread
    that may not get the CPU in time), so the verdict says running, not not_started."""
    case = dict(next(c for c in CASES if c["name"] == "the_verdict_stays_true_when_the_runtime_is_killed_halfway"),
                handlers="flush:ok,slow:sleep=2000,never:ok",
                expect={"outcome": "runtime_killed", "runtimeExit": "signal:SIGKILL",
                        "statuses": {"flush": "ok", "slow": "running", "never": "not_started"}})
    run = run_case(case, polling, tmp_path, extra_args=["--memory-mb", "128"],
                   killer=lambda output: cases.ExtraSigterms(output, 1, signal.SIGKILL, after="start slow"))
    verdict = run.verdict_line() or ""
    assert "slow=running" in verdict and "outcome=runtime_killed" in verdict, run.describe()


def run_case(case: Dict[str, Any], polling: bool, tmp_path: Path, extra_args: Any = (), killer: Any = None,
             **stage: Any) -> Any:
    fn = emulator.stage_function(tmp_path, polling=polling, **stage)
    layer = emulator.stage_layer(tmp_path) if case["layer"] else None
    output = tmp_path / "probe-output.txt"
    extra = None
    with reserved_port() as port:
        env = {
            "PROBE_HANDLERS": case["handlers"],
            "PROBE_OUTPUT": str(output),
            "GRACEFUL_SHUTDOWN_PORT": str(port),
            "GRACEFUL_SHUTDOWN_SECRET_FILE": str(tmp_path / "secret"),
        }
        env.update(case["env"])
        if case["extraSigterms"]:
            extra = cases.ExtraSigterms(output, case["extraSigterms"])
        elif killer is not None:
            extra = killer(output)
        if extra is not None:
            extra.start()
        run = emulator.run(
            fn,
            layer,
            env=env,
            events=case["events"],
            invocations=case["invocations"],
            timeout_ms=case["timeoutMs"],
            runtime_share_ms=case["runtimeShareMs"],
            shutdown_ms=case["shutdownMs"],
            extra_args=extra_args,
        )
    sent = 0
    if extra is not None:
        extra.join(10)
        assert extra.error is None and extra.sent == extra.count, f"{extra.error}\n{run.describe()}"
        sent = extra.sent if extra.sig == signal.SIGTERM else 0
    cases.check(case, run, cases.read_lines(output), sent)
    return run
