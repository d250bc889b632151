"""The library's log lines.

They go through :mod:`logging` (logger ``lambda_graceful_shutdown``), so the
Lambda runtime client's handler formats them (Text or JSON, as
``AWS_LAMBDA_LOG_FORMAT`` says). Lambda's root logger passes only warnings
by default; this logger passes ``INFO`` unless ``AWS_LAMBDA_LOG_LEVEL`` (or
the function itself) sets its level. When no handler is configured at all,
each line goes to stderr as one line, so that warnings are never silent.
"""

from __future__ import annotations

import logging
import os
import sys

LOGGER = logging.getLogger("lambda_graceful_shutdown")

_LAMBDA_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}


def _ready() -> logging.Logger:
    if LOGGER.level == logging.NOTSET:
        wanted = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").strip().upper()
        LOGGER.setLevel(_LAMBDA_LEVELS.get(wanted, logging.INFO))
    return LOGGER


def _emit(level: int, message: str) -> None:
    logger = _ready()
    if not logger.isEnabledFor(level):
        return
    if logger.hasHandlers():
        logger.log(level, message)
    else:
        to_stderr(f"{logging.getLevelName(level)} {message}")


def debug(message: str) -> None:
    _emit(logging.DEBUG, message)


def info(message: str) -> None:
    _emit(logging.INFO, message)


def warning(message: str) -> None:
    _emit(logging.WARNING, message)


def error(message: str) -> None:
    _emit(logging.ERROR, message)


def warn_line(message: str) -> None:
    """A cold-start warning that must be seen."""
    _emit(logging.WARNING, message)


def to_stderr(line: str) -> None:
    """``line`` on stderr in one write; a closed stderr is ignored."""
    try:
        os.write(2, (line + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def flush_all() -> None:
    """Flush every log handler and the standard streams, before ``os._exit``."""
    logger: logging.Logger | None = LOGGER
    while logger is not None:
        for handler in list(logger.handlers):
            try:
                handler.flush()
            except Exception:  # a broken handler must not stop the exit
                pass
        logger = logger.parent if logger.propagate else None
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
