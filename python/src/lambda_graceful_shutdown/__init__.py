"""Graceful shutdown for AWS Lambda functions in Python.

Shutdown handlers that run in the function process on SIGTERM, even while the
Lambda runtime client blocks the main thread, within a budget, each isolated,
reported to the ``graceful-shutdown`` extension (the shutdown layer).
"""

from ._core import GracefulShutdown
from .config import BadSetting, Config, ConfigError
from .runner import HandlerOutcome, HandlerStatus, Summary

__all__ = [
    "BadSetting",
    "Config",
    "ConfigError",
    "GracefulShutdown",
    "HandlerOutcome",
    "HandlerStatus",
    "Summary",
]
__version__ = "0.1.0"
