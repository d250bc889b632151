"""Graceful shutdown for AWS Lambda functions in Python.

Shutdown handlers that run in the function process on SIGTERM, even while the
Lambda runtime client blocks the main thread, within a budget, each isolated,
reported to the ``graceful-shutdown`` extension (the shutdown layer).
"""

from ._core import GracefulShutdown
from .config import BadSetting, Config, ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from ._handoff import HandoffRequest, HandoffResult, aws_json_request, handoff
    from ._results import HandlerOutcome, HandlerStatus, Summary

__all__ = [
    "BadSetting",
    "Config",
    "ConfigError",
    "GracefulShutdown",
    "HandlerOutcome",
    "HandlerStatus",
    "HandoffRequest",
    "HandoffResult",
    "Summary",
    "aws_json_request",
    "handoff",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # What only the shutdown (or a test's trigger()) needs is imported on first
    # use: the import stays cheap at cold start.
    if name in ("HandlerOutcome", "HandlerStatus", "Summary"):
        from . import _results

        return getattr(_results, name)
    if name in ("handoff", "aws_json_request", "HandoffRequest", "HandoffResult"):
        # Only a function that hands work off to the extension loads it
        # (docs/protocol.md, "Handoff"); kept as an attribute from then on.
        from . import _handoff

        value = getattr(_handoff, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
