"""Running the handlers: order, concurrency, isolation, budget, timed-out and skipped handlers."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List

from support.capture import Captured

from lambda_graceful_shutdown.runner import Handler, HandlerStatus, describe, run_handlers


def handler(name: str, log: List[str], work_s: float = 0.0, error: Exception | None = None) -> Handler:
    def call() -> None:
        log.append(f"start {name}")
        time.sleep(work_s)
        if error is not None:
            raise error
        log.append(f"end {name}")

    return Handler(name, call)


def run(handlers: List[Handler], concurrent: bool = False, budget_ms: int = 250):
    captured = Captured()
    summary = run_handlers(handlers, concurrent, budget_ms, time.monotonic(), "trigger", captured.reporter)
    captured.reporter.flush(5)
    return summary, captured.reports


class Boom(BaseException):
    pass


def test_in_order_with_errors_isolated() -> None:
    log: List[str] = []
    handlers = [
        handler("a", log, 0.01),
        Handler("raises-base", lambda: (_ for _ in ()).throw(Boom("boom"))),
        handler("b", log, 0.01, OSError("disk full")),
        handler("c", log),
    ]
    summary, reports = run(handlers)
    assert log == ["start a", "end a", "start b", "start c", "end c"]
    assert [h.status for h in summary.handlers] == [
        HandlerStatus.COMPLETED, HandlerStatus.FAILED, HandlerStatus.FAILED, HandlerStatus.COMPLETED]
    assert summary.handlers[1].error == "Boom: boom"
    assert summary.handlers[2].error == "OSError: disk full"
    assert (summary.completed, summary.failed, summary.timed_out, summary.skipped) == (2, 2, 0, 0)
    assert reports[0] == {"type": "shutdownStarted", "signal": "trigger"}
    assert reports[1] == {"type": "started", "handler": "a", "index": 0}
    assert reports[2]["type"] == "finished" and reports[2]["handler"] == "a" and reports[2]["durationMs"] >= 10
    assert reports[4]["type"] == "failed" and reports[4]["error"] == "Boom: boom" and reports[4]["index"] == 1
    assert reports[6]["type"] == "failed" and reports[6]["error"] == "OSError: disk full"
    assert reports[-1] == {"type": "allDone", "completed": 2, "failed": 2, "timedOut": 0,
                           "totalMs": reports[-1]["totalMs"]}
    assert [r["type"] for r in reports] == [
        "shutdownStarted", "started", "finished", "started", "failed", "started", "failed", "started",
        "finished", "allDone"]


def test_in_order_the_budget_cuts_the_running_handler_and_skips_the_rest() -> None:
    log: List[str] = []
    release = threading.Event()
    slow_ended = threading.Event()

    def slow() -> None:
        log.append("start slow")
        release.wait(10)
        slow_ended.set()

    handlers = [handler("a", log, 0.04), Handler("slow", slow), handler("late", log)]
    began = time.monotonic()
    summary, reports = run(handlers, budget_ms=100)
    took = time.monotonic() - began
    assert 0.1 <= took < 0.5, took
    assert log == ["start a", "end a", "start slow"]
    assert summary.handlers[1].status is HandlerStatus.TIMED_OUT
    assert 40 <= summary.handlers[1].duration_ms <= 100, "slow got what was left of the budget"
    assert summary.handlers[2].status is HandlerStatus.SKIPPED
    assert summary.handlers[2].duration_ms == 0
    assert {"type": "timedOut", "handler": "slow", "index": 1,
            "durationMs": reports[4]["durationMs"]} == reports[4]
    assert not any(r.get("handler") == "late" for r in reports), "a skipped handler is not reported"
    assert reports[-1]["type"] == "allDone" and reports[-1]["timedOut"] == 1 and reports[-1]["completed"] == 1
    assert 100 <= reports[-1]["totalMs"] < 500
    release.set()
    assert slow_ended.wait(5)


def test_concurrently_all_start_at_once_and_overrunners_time_out() -> None:
    log: List[str] = []
    gate = threading.Barrier(3, timeout=5)

    def joined(name: str, work_s: float) -> Handler:
        def call() -> None:
            log.append(f"start {name}")
            gate.wait()  # all three run at the same time, or this fails
            time.sleep(work_s)
            log.append(f"end {name}")
        return Handler(name, call)

    summary, reports = run([joined("a", 0.08), joined("b", 0.01), joined("slow", 10)], concurrent=True,
                           budget_ms=200)
    assert sorted(log[:3]) == ["start a", "start b", "start slow"]
    assert "end slow" not in log
    assert [h.status for h in summary.handlers] == [
        HandlerStatus.COMPLETED, HandlerStatus.COMPLETED, HandlerStatus.TIMED_OUT]
    assert summary.handlers[1].duration_ms < 70, "b's own duration, not the time it was looked at"
    assert 180 <= summary.total_ms < 600
    types = [r["type"] for r in reports]
    assert types[:4] == ["shutdownStarted", "started", "started", "started"]
    assert types[-1] == "allDone"


def test_async_handlers_run_and_an_abandoned_one_is_cancelled() -> None:
    cancelled = threading.Event()
    log: List[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        log.append("quick")

    async def forever() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fails() -> None:
        raise ValueError("async failure")

    summary, _ = run([Handler("quick", quick), Handler("forever", forever), Handler("fails", fails)],
                     concurrent=True, budget_ms=100)
    assert log == ["quick"]
    assert [h.status for h in summary.handlers] == [
        HandlerStatus.COMPLETED, HandlerStatus.TIMED_OUT, HandlerStatus.FAILED]
    assert summary.handlers[2].error == "ValueError: async failure"
    assert cancelled.wait(5), "the abandoned coroutine is cancelled at its await"


def test_a_sync_function_returning_an_awaitable_is_awaited() -> None:
    done: List[Any] = []

    async def work() -> None:
        done.append(True)

    summary, _ = run([Handler("returns-coro", lambda: work())])
    assert summary.all_completed and done == [True]


def test_errors_carry_their_causes() -> None:
    try:
        try:
            raise KeyError("db")
        except KeyError as inner:
            raise RuntimeError("close failed") from inner
    except RuntimeError as outer:
        assert describe(outer) == "RuntimeError: close failed: KeyError: 'db'"
    assert describe(SystemExit()) == "SystemExit"


def test_no_handlers_is_a_completed_empty_summary() -> None:
    summary, reports = run([])
    assert summary.handlers == () and summary.all_completed
    assert [r["type"] for r in reports] == ["shutdownStarted", "allDone"]


def test_summary_lookup_by_name() -> None:
    log: List[str] = []
    summary, _ = run([handler("flush", log)])
    found = summary.handler("flush")
    assert found is not None and found.status is HandlerStatus.COMPLETED and found.index == 0
    assert summary.handler("nope") is None
    assert isinstance(summary.handlers[0].status, str) and summary.handlers[0].status == "completed"

