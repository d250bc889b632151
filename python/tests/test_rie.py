"""The shared cases that need no emulator-only setting, under AWS's Runtime Interface
Emulator with the real shutdown layer and awslambdaric, thread polling off and on:
the same verdicts as in the emulator, run and checked by the one driver
(shutdown-conformance --backend rie, which picks those cases and compares the
verdict, the probe's output and the log; the RIE names the reason of its shutdown
SandboxTerminated and keeps no timeline). Managed-instances mode with two workers too."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any, List

import pytest

from support import cases, conformance, paths, rie
from support.ports import reserved_port

CASES = conformance.names("rie")


@pytest.fixture
def open_dir() -> Any:
    """A scratch directory every user can traverse (pytest's own are private to root):
    in managed-instances mode the RIE runs the extension and the runtime unprivileged."""
    path = Path(tempfile.mkdtemp(prefix="graceful-shutdown-rie-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_some_shared_cases_need_no_emulator_only_setting() -> None:
    assert CASES, "the driver runs no shared case under the RIE"


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
@pytest.mark.parametrize("case", CASES)
def test_case_under_the_rie(case: str, polling: bool, open_dir: Path) -> None:
    conformance.run(case, open_dir, polling=polling, backend="rie",
                    extra_args=["--rie", str(rie.rie_binary())]).assert_passed(case)


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_managed_instances_every_worker_runs_its_handlers_and_the_verdict_has_each(
        polling: bool, open_dir: Path) -> None:
    case = cases.case("all_handlers_complete")
    staged = rie.stage(open_dir / "run", paths.PROBE, [paths.SRC], managed_instances=True)
    output = staged["out"] / "probe-output.txt"
    with reserved_port() as port:
        env = {"PROBE_HANDLERS": case["handlers"], "PROBE_OUTPUT": str(output),
               "GRACEFUL_SHUTDOWN_PORT": str(port), "GRACEFUL_SHUTDOWN_SECRET_FILE": str(staged["out"] / "secret"),
               "AWS_LAMBDA_MAX_CONCURRENCY": "2"}
        env.update(case["env"])
        events = list(itertools.islice(itertools.cycle(case["events"]), 2))
        result = rie.run(staged, env, events=events, polling=polling, managed_instances=True)
    out: List[str] = cases.read_lines(output)
    ctx = result.describe()
    cases.check_two_workers(result.verdict_line(), out, ctx)
    # No process was left for a SIGKILL: the workers exited and so did the client's main process.
    assert not any("SIGKILL" in line or "Signo:9" in line for line in result.log), ctx
