"""The shared shutdown cases (tests/cases/shutdown.json), with the real shutdown
layer and the real awslambdaric in the lifecycle emulator, thread polling off
(the main thread blocked in the client's native next()) and on."""

from __future__ import annotations

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


def run_case(case: Dict[str, Any], polling: bool, tmp_path: Path, **stage: Any) -> None:
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
        )
    sent = 0
    if extra is not None:
        extra.join(10)
        assert extra.error is None and extra.sent == case["extraSigterms"], f"{extra.error}\n{run.describe()}"
        sent = extra.sent
    cases.check(case, run, cases.read_lines(output), sent)
