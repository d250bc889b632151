"""The shared cases that need no emulator-only knob, under AWS's Runtime Interface
Emulator with the real shutdown layer and awslambdaric, thread polling off and on:
the same verdicts as in the emulator. Managed-instances mode with two workers too.
(The RIE names the reason of its shutdown SandboxTerminated; the reason is the one
thing not compared.)"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from support import cases, paths, rie
from support.emulator import Run
from support.ports import reserved_port

COMPARED = {"outcome", "handlers", "statuses", "verdictEndsWith", "verdictContains", "jsonVerdict", "output",
            "outputContains", "outputLacks", "outputCount", "runtimeLogContains"}


def applicable(case: Dict[str, Any]) -> bool:
    return (case["layer"] and case["extraSigterms"] == 0 and case["runtimeShareMs"] == 300
            and case["shutdownMs"] == 2000 and case["timeoutMs"] == 3000 and all(e == "{}" for e in case["events"]))


CASES = [c for c in cases.cases() if applicable(c)]


def as_run(r: rie.RieRun) -> Run:
    return Run(0, [], [{"at_ms": 0.0, "source": "runtime", "line": line} for line in r.log], "")


@pytest.fixture
def open_dir() -> Any:
    """A scratch directory every user can traverse (pytest's own are private to root):
    in managed-instances mode the RIE runs the extension and the runtime unprivileged."""
    path = Path(tempfile.mkdtemp(prefix="graceful-shutdown-rie-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_case(case: Dict[str, Any], polling: bool, tmp_path: Path, workers: int = 1) -> rie.RieRun:
    staged = rie.stage(tmp_path / "run", paths.PROBE, [paths.SRC], managed_instances=workers > 1)
    output = staged["out"] / "probe-output.txt"
    with reserved_port() as port:
        env = {"PROBE_HANDLERS": case["handlers"], "PROBE_OUTPUT": str(output),
               "GRACEFUL_SHUTDOWN_PORT": str(port), "GRACEFUL_SHUTDOWN_SECRET_FILE": str(staged["out"] / "secret")}
        env.update(case["env"])
        if workers > 1:
            env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(workers)
        events = list(itertools.islice(itertools.cycle(case["events"]), case["invocations"]))
        result = rie.run(staged, env, events=events, polling=polling, managed_instances=workers > 1)
    if workers == 1:
        expect = {k: v for k, v in case["expect"].items() if k in COMPARED}
        cases.check(dict(case, expect=expect), as_run(result), cases.read_lines(output), 0)
    result.output = cases.read_lines(output)  # type: ignore[attr-defined]
    return result


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_under_the_rie(case: Dict[str, Any], polling: bool, open_dir: Path) -> None:
    run_case(case, polling, open_dir)


def worker_pairs(verdict: str) -> Dict[str, str]:
    """``wN=<pid>`` pairs of a several-workers verdict."""
    return {k: cases.verdict_field(verdict, k) for k in ("w1", "w2")}


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_managed_instances_every_worker_runs_its_handlers_and_the_verdict_has_each(
        polling: bool, open_dir: Path) -> None:
    case = next(c for c in cases.cases() if c["name"] == "all_handlers_complete")
    result = run_case(dict(case, invocations=2), polling, open_dir, workers=2)
    out: List[str] = result.output  # type: ignore[attr-defined]
    ctx = result.describe()
    cases.check_two_workers(result.verdict_line() or "", out, ctx)
    # No process was left for a SIGKILL: the workers exited and so did the client's main process.
    assert not any("SIGKILL" in line or "Signo:9" in line for line in result.log), ctx
