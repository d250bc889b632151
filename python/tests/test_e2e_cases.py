"""The shared shutdown cases (tests/cases/shutdown.json), with the real shutdown
layer and the real awslambdaric in the lifecycle emulator, thread polling off
(the main thread blocked in the client's native next()) and on: each run and
checked by the one driver of every language, shutdown-conformance (see
support/conformance.py); and Managed Instances with two workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import cases, conformance, emulator
from support.ports import reserved_port

CASES = conformance.names()
POLLING = pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])


@POLLING
@pytest.mark.parametrize("case", CASES)
def test_case(case: str, polling: bool, tmp_path: Path) -> None:
    """The driver (shutdown-conformance) runs the case and checks every expectation."""
    conformance.run(case, tmp_path, polling=polling).assert_passed(case)


NAMES_EACH = "the_verdict_names_each_handler_with_its_status"
KILLED_HALFWAY = "the_verdict_stays_true_when_the_runtime_is_killed_halfway"
STARVED = [KILLED_HALFWAY, NAMES_EACH]

# 128 MB's CPU share for the whole run. The init limit is raised from
# Lambda's 10 s: on 7 % of a busy core the Python client's init alone can take
# several seconds here, and these tests are about the shutdown.
STARVED_ARGS = ["--memory-mb", "128", "--init-timeout-ms", "60000"]

# On 7 % of a core, what `NAMES_EACH` can truly end with. The quota is 7.2 ms
# of CPU per 100 ms: once a period's share is spent (the panicking handler's
# traceback alone takes a few ms), every thread of the runtime waits for the
# next period, so `close-pool`'s 20 ms sleep can end after the 150 ms budget.
# Then `timed_out` is the true verdict for it, and `slow`, whose turn never
# comes, is `not_started`; the test checks those two together (and the count
# they make), and the driver every other expectation, instead of a race
# against the quota.
STARVED_LEFT_OUT = {NAMES_EACH: ["handlers", "verdictEndsWith", "output", "statuses.close-pool", "statuses.slow"]}


@POLLING
@pytest.mark.parametrize("case", STARVED)
def test_case_on_7_percent_of_a_core(case: str, polling: bool, tmp_path: Path) -> None:
    """With the CPU Lambda gives 128 MB (--memory-mb 128: a cgroup CPU quota of about
    7 % of a core), the verdict is the same: `started` is written before each handler
    runs, so a handler cut off by the SIGKILL still shows as running."""
    left_out = [a for name in STARVED_LEFT_OUT.get(case, []) for a in ("--leave-out", name)]
    result = conformance.run(case, tmp_path, polling=polling, extra_args=STARVED_ARGS + left_out + ["--json"])
    ran, counts = result.json_lines()
    ctx = result.describe()
    assert ran["ok"] and result.returncode == 0, ctx
    assert counts == {"passed": 1, "failed": 0}, ctx
    notes = [e["message"] for e in ran["events"] if e["source"] == "lambda" and e["kind"] == "note"]
    assert any("CPU share 7.2 % of a vCPU" in n for n in notes), notes
    if case == NAMES_EACH:
        statuses = conformance.handler_statuses(ran)
        close, slow = statuses["close-pool"], statuses["slow"]
        # In order, within one budget: `slow` (2 s) runs past the budget unless
        # `close-pool` already took the rest of it; then `slow` never starts.
        assert (close, slow) in (("ok", "timed_out"), ("timed_out", "not_started")), ctx
        ok = sum(1 for s in statuses.values() if s == "ok")
        assert ok == 1 + (close == "ok") and len(statuses) == 4, ctx


@POLLING
def test_a_kill_just_as_a_handler_starts_on_7_percent_of_a_core_still_shows_it_running(
        polling: bool, tmp_path: Path) -> None:
    """The moment the handler's first line is written, the runtime is SIGKILLed (by the
    driver, in place of the platform's SIGKILL at the end of its share). Its `started`
    was written to the extension before it ran (not queued for a thread that may not
    get the CPU in time), so the verdict says running, not not_started: every
    expectation of the case holds."""
    conformance.run(KILLED_HALFWAY, tmp_path, polling=polling,
                    extra_args=STARVED_ARGS + ["--kill-runtime-after", "start slow"]).assert_passed(KILLED_HALFWAY)


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_managed_instances_every_worker_runs_its_handlers_and_the_verdict_has_each(
        polling: bool, tmp_path: Path) -> None:
    """Managed Instances (--max-concurrency 2: AWS_LAMBDA_MAX_CONCURRENCY=2): the client
    forks two workers; each runs its handlers within the budget, and the emulator waits
    for every process of the runtime domain, so a worker still running its handlers
    after the client's main process has gone would be seen, and SIGKILLed at the
    share's end. The same expectations as under the RIE."""
    case = cases.case("all_handlers_complete")
    fn = emulator.stage_function(tmp_path, polling=polling)
    layer = emulator.stage_layer(tmp_path)
    output = tmp_path / "probe-output.txt"
    with reserved_port() as port:
        env = {"PROBE_HANDLERS": case["handlers"], "PROBE_OUTPUT": str(output),
               "GRACEFUL_SHUTDOWN_PORT": str(port), "GRACEFUL_SHUTDOWN_SECRET_FILE": str(tmp_path / "secret")}
        env.update(case["env"])
        run = emulator.run(fn, layer, env=env, invocations=2, extra_args=["--max-concurrency", "2"])
    ctx = run.describe()
    assert run.returncode == 0, ctx
    verdict = cases.check_two_workers(run.verdict_line(), cases.read_lines(output), ctx)
    # No process was left for the SIGKILL at the end of the runtime's share.
    assert run.signals("runtime") == ["SIGTERM"], ctx
    notes = {e["message"]: e["at_ms"] for e in run.of("lambda", "note")}
    assert not any("SIGKILL to the runtime domain" in n for n in notes), ctx
    # The client's main process dies of the SIGTERM at once (no handler there); its two
    # workers then run their handlers. The emulator waits for both (named by pid) before
    # the extension gets SHUTDOWN.
    assert run.exit_of("runtime") == "signal:SIGTERM", ctx
    workers = [w["worker"] for w in verdict["workers"]]
    waiting = [n for n in notes if "waiting for the runtime domain's processes" in n]
    assert len(waiting) == 1 and all(f"pid {pid} " in waiting[0] for pid in workers), (workers, ctx)
    # (Their last lines may be read from the pipe just after they have gone: only the
    # events' order is compared.)
    gone = [at for n, at in notes.items() if "every process of the runtime domain is gone" in n]
    shutdown_event = run.first_at("graceful-shutdown", "shutdown_event")
    assert gone and shutdown_event is not None and gone[0] <= shutdown_event, ctx

