"""Running the handlers once: each in its own thread, in order or all at once,
inside one budget counted from the signal.

Budget rules (the same as the Rust library's):

- In order (the default), each handler gets what is left of the budget. One
  still running when the budget is gone is abandoned and reported
  ``timedOut``. Handlers that have not started by then are *skipped*: they
  never run, are not reported one by one (the extension's verdict lists them
  as ``not_started``, from the names in ``hello``) and count as skipped in the
  :class:`Summary`.
- Concurrently, every handler starts at once, and every one still running
  when the budget is gone is abandoned and reported ``timedOut``.

Each handler runs in a daemon thread of its own, so a handler that blocks
cannot hold up the budget; an ``async def`` handler runs on an event loop of
its own in that thread, and is cancelled when abandoned. A Python thread
cannot be killed: an abandoned synchronous handler keeps its thread until the
process exits, which it does right after the last reports.
"""

from __future__ import annotations

import threading
import time

from . import _log
from . import report as r
from ._params import Handler, isawaitable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any, Awaitable, List, Optional, Protocol, Sequence, Tuple

    from ._results import HandlerOutcome, HandlerStatus, Summary
    from .report import Report

    class Reports(Protocol):
        """Where the reports of the shutdown go (a ``Reporter``)."""

        def send_now(self, report: Report, limit_s: float = ...) -> bool: ...

        def flush(self, limit_s: float, answered: bool = ...) -> bool: ...

__all__ = ["Handler", "HandlerOutcome", "HandlerStatus", "Summary", "describe", "run_handlers"]


def __getattr__(name: str) -> Any:
    # The result classes, from ._results on first use (they are slow to make;
    # the shutdown needs them only once its first handler has started).
    if name in ("HandlerOutcome", "HandlerStatus", "Summary"):
        from . import _results

        return getattr(_results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: How long each report of the shutdown may wait for the reporter's ordering
#: lock before it is written from the shutdown thread. Every report of the
#: shutdown is written from that thread (so the sending thread, which only
#: reads the answers then, seldom holds the lock); the lock is only held to
#: connect and write (tens of microseconds on loopback), never for an answer;
#: a report that misses it is written by the sending thread as soon as it runs.
SYNC_REPORT_LIMIT_S = 0.020


def describe(error: BaseException) -> str:
    """``Type: message``, then the causes, joined with ``: ``."""
    parts: List[str] = []
    seen = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return ": ".join(parts)


def _millis(seconds: float) -> int:
    return max(0, int(seconds * 1000))


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _asyncio() -> Any:
    # Imported only for async handlers: asyncio takes tens of milliseconds to
    # import, which would land on every cold start.
    import asyncio

    return asyncio


class _Run:
    """One handler running in its own daemon thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.done = threading.Event()
        self.error: Optional[BaseException] = None
        self.ended_at = 0.0
        self._loop: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._abandoned = False
        self.thread = threading.Thread(
            target=self._main, name=f"graceful-shutdown-handler:{handler.name[:40]}", daemon=True
        )

    def _main(self) -> None:
        try:
            result = self.handler.call()
            if isawaitable(result):
                self._run_async(result)
        except BaseException as e:  # isolation: anything a handler raises is its failure
            self.error = e
        finally:
            self.ended_at = time.monotonic()
            self.done.set()

    def _run_async(self, awaitable: Awaitable[Any]) -> None:
        asyncio = _asyncio()
        loop = asyncio.new_event_loop()
        try:
            with self._lock:
                if self._abandoned:
                    return
                self._loop = loop
                coro = awaitable if asyncio.iscoroutine(awaitable) else _awaited(awaitable)
                self._task = loop.create_task(coro)
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            if not self._abandoned:
                raise
        finally:
            with self._lock:
                self._loop = None
            loop.close()

    def abandon(self) -> None:
        """The budget is gone: cancel an async handler at its next ``await``."""
        with self._lock:
            self._abandoned = True
            if self._loop is not None and self._task is not None:
                try:
                    self._loop.call_soon_threadsafe(self._task.cancel)
                except RuntimeError:  # the loop just closed
                    pass


def run_handlers(
    handlers: Sequence[Handler],
    concurrent: bool,
    budget_ms: int,
    start: float,
    signal: str,
    reporter: Reports,
) -> Summary:
    """Run every handler once within ``budget_ms`` from ``start`` (``time.monotonic()``)."""
    deadline = start + budget_ms / 1000
    reporter.send_now(r.shutdown_started(signal), SYNC_REPORT_LIMIT_S)
    _log.info(
        f"graceful-shutdown: running shutdown handlers signal={signal} handlers={len(handlers)} "
        f"budget_ms={budget_ms} concurrent={str(concurrent).lower()}"
    )
    outcomes: List[HandlerOutcome] = []
    if concurrent:
        running = [(index, _start(index, h, reporter)) for index, h in enumerate(handlers)]
        for index, (run, began) in running:
            outcomes.append(_finish(index, run, began, deadline, reporter))
    else:
        for index, handler in enumerate(handlers):
            if time.monotonic() >= deadline:
                from ._results import HandlerOutcome, HandlerStatus

                _log.warning(
                    f"graceful-shutdown: shutdown handler skipped: the {budget_ms} ms budget was used up "
                    f"before its turn handler={handler.name}"
                )
                outcomes.append(HandlerOutcome(handler.name, index, HandlerStatus.SKIPPED, 0.0))
                continue
            run, began = _start(index, handler, reporter)
            outcomes.append(_finish(index, run, began, deadline, reporter))
    from ._results import Summary

    summary = Summary(signal, tuple(outcomes), (time.monotonic() - start) * 1000)
    # The last report: written before the exit, with every one before it.
    reporter.send_now(
        r.all_done(summary.completed, summary.failed, summary.timed_out, _millis(summary.total_ms / 1000)),
        SYNC_REPORT_LIMIT_S,
    )
    _log.info(
        f"graceful-shutdown: shutdown handlers done completed={summary.completed} failed={summary.failed} "
        f"timed_out={summary.timed_out} skipped={summary.skipped} total_ms={_millis(summary.total_ms / 1000)}"
    )
    return summary


def _start(index: int, handler: Handler, reporter: Reports) -> Tuple[_Run, float]:
    reporter.send_now(r.started(handler.name, index), SYNC_REPORT_LIMIT_S)
    _log.debug(f"graceful-shutdown: shutdown handler started handler={handler.name} index={index}")
    run = _Run(handler)
    began = time.monotonic()
    run.thread.start()
    return run, began


def _finish(index: int, run: _Run, began: float, deadline: float, reporter: Reports) -> HandlerOutcome:
    # Here, not at the top: the first handler starts before they are needed.
    from ._results import HandlerOutcome, HandlerStatus

    name = run.handler.name
    ended = run.done.wait(max(0.0, deadline - time.monotonic()))
    duration = (run.ended_at if ended else time.monotonic()) - began
    ms = _millis(duration)
    if not ended:
        run.abandon()
        reporter.send_now(r.timed_out(name, index, ms), SYNC_REPORT_LIMIT_S)
        _log.error(
            "graceful-shutdown: shutdown handler timed out: still running when the budget ran out; "
            f"abandoned handler={name} duration_ms={ms}"
        )
        return HandlerOutcome(name, index, HandlerStatus.TIMED_OUT, duration * 1000)
    if run.error is not None:
        error = r.fit(describe(run.error), r.MAX_ERROR_BYTES)
        reporter.send_now(r.failed(name, index, ms, error), SYNC_REPORT_LIMIT_S)
        _log.error(f"graceful-shutdown: shutdown handler failed handler={name} duration_ms={ms} error={error}")
        return HandlerOutcome(name, index, HandlerStatus.FAILED, duration * 1000, error)
    reporter.send_now(r.finished(name, index, ms), SYNC_REPORT_LIMIT_S)
    _log.info(f"graceful-shutdown: shutdown handler completed handler={name} duration_ms={ms}")
    return HandlerOutcome(name, index, HandlerStatus.COMPLETED, duration * 1000)
