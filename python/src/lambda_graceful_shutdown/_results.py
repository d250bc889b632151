"""What the shutdown's handlers came to: :class:`HandlerStatus`, :class:`HandlerOutcome`
and :class:`Summary` (exported by the package and by :mod:`.runner`).

Apart from the runner because only a shutdown (or ``trigger()``) needs them: an
enum and two named tuples take a third of a millisecond to make, so they are
imported after ``install()`` by the signal watcher's thread, or on first use.
"""

from __future__ import annotations

import enum
from collections import namedtuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import NamedTuple, Optional, Tuple

    class _HandlerOutcome(NamedTuple):
        name: str
        index: int
        status: HandlerStatus
        duration_ms: float
        error: Optional[str] = None

    class _Summary(NamedTuple):
        signal: str
        handlers: Tuple[HandlerOutcome, ...]
        total_ms: float
else:
    # collections.namedtuple, not typing.NamedTuple: the same classes without typing.
    _HandlerOutcome = namedtuple("HandlerOutcome", ("name", "index", "status", "duration_ms", "error"),
                                 defaults=(None,))
    _Summary = namedtuple("Summary", ("signal", "handlers", "total_ms"))

__all__ = ["HandlerOutcome", "HandlerStatus", "Summary"]


class HandlerStatus(str, enum.Enum):
    """How one handler ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"


class HandlerOutcome(_HandlerOutcome):
    """What happened to one handler: its ``name``, ``index`` and ``status``;
    ``duration_ms``, from its start to its end (or to the budget's end), 0 if
    skipped; ``error``, the error text of a failed handler."""

    __slots__ = ()


class Summary(_Summary):
    """What happened to all the handlers, in registration order: ``signal``
    (``SIGTERM``, ``SIGINT`` or ``trigger``), ``handlers`` (a
    :class:`HandlerOutcome` each) and ``total_ms``, from the signal to the last
    handler's end."""

    __slots__ = ()

    def _count(self, status: HandlerStatus) -> int:
        return sum(1 for h in self.handlers if h.status is status)

    @property
    def completed(self) -> int:
        return self._count(HandlerStatus.COMPLETED)

    @property
    def failed(self) -> int:
        return self._count(HandlerStatus.FAILED)

    @property
    def timed_out(self) -> int:
        return self._count(HandlerStatus.TIMED_OUT)

    @property
    def skipped(self) -> int:
        return self._count(HandlerStatus.SKIPPED)

    @property
    def all_completed(self) -> bool:
        return self.completed == len(self.handlers)

    def handler(self, name: str) -> Optional[HandlerOutcome]:
        """The handler with this name, if one was registered."""
        return next((h for h in self.handlers if h.name == name), None)
