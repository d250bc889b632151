"""The library's settings, read once from the environment into a plain object.

The extension refuses bad values at init (``Extension.ConfigInvalid``), so a
bad value only reaches the library when the layer is missing. Then the
library logs one line naming the variable and the value, and uses the
default: a typo must never stop a function from starting.
"""

from __future__ import annotations

import json
import os
import re
from typing import Callable, List, Mapping, NamedTuple, Optional, Tuple

from . import _limits
from ._limits import (
    DEFAULT_PORT,
    DEFAULT_SECRET_FILE,
    DEFAULT_TIMEOUT_MS,
    ENV_PORT,
    ENV_SECRET_FILE,
    ENV_TIMEOUT_MS,
)

_DIGITS = re.compile(r"\+?[0-9]+")


class Config(NamedTuple):
    """Where the reports go and how long the handlers may take. (A named tuple
    rather than a dataclass: dataclasses import inspect, slow at cold start.)"""

    #: Loopback port of the extension's report listener (``GRACEFUL_SHUTDOWN_PORT``).
    port: int = DEFAULT_PORT
    #: Budget for all handlers together, from the signal (``GRACEFUL_SHUTDOWN_TIMEOUT_MS``).
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    #: File holding the per-environment secret (``GRACEFUL_SHUTDOWN_SECRET_FILE``).
    secret_file: str = DEFAULT_SECRET_FILE

    @staticmethod
    def from_env(environ: Optional[Mapping[str, str]] = None) -> "Config":
        """Read the settings from the environment; log each bad value, use its default."""
        from ._log import warn_line

        config, problems = Config.from_lookup((os.environ if environ is None else environ).get)
        for problem in problems:
            warn_line(f"graceful-shutdown: {problem}")
        return config

    @staticmethod
    def from_lookup(lookup: Callable[[str], Optional[str]]) -> Tuple["Config", List["BadSetting"]]:
        """The settings from any lookup, and one message per bad value. Pure."""
        problems: List[BadSetting] = []
        port, timeout_ms, secret_file = DEFAULT_PORT, DEFAULT_TIMEOUT_MS, DEFAULT_SECRET_FILE
        raw = lookup(ENV_PORT)
        if raw is not None:
            try:
                port = parse_port(raw)
            except ConfigError as error:
                problems.append(BadSetting(error, str(DEFAULT_PORT)))
        raw = lookup(ENV_TIMEOUT_MS)
        if raw is not None:
            try:
                timeout_ms = parse_timeout_ms(raw)
            except ConfigError as error:
                problems.append(BadSetting(error, str(DEFAULT_TIMEOUT_MS)))
        raw = lookup(ENV_SECRET_FILE)
        if raw is not None:
            if raw.strip() == "" or "\x00" in raw:
                problems.append(
                    BadSetting(ConfigError(ENV_SECRET_FILE, "a file path", raw), DEFAULT_SECRET_FILE)
                )
            else:
                secret_file = raw
        return Config(port, timeout_ms, secret_file), problems


class ConfigError(ValueError):
    """A refused value: ``VAR: expected ..., got "value"``."""

    def __init__(self, var: str, expected: str, value: str) -> None:
        self.var, self.expected, self.value = var, expected, value
        super().__init__(f"{var}: expected {expected}, got {_quoted(value)}")


class BadSetting(NamedTuple):
    """A variable whose value was refused; ``default`` was used instead."""

    error: ConfigError
    default: str

    @property
    def var(self) -> str:
        return self.error.var

    def __str__(self) -> str:
        return f"{self.error}; using the default {self.default}"


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _whole_number(raw: str) -> Optional[int]:
    text = raw.strip()
    return int(text) if _DIGITS.fullmatch(text) else None


def parse_port(raw: str) -> int:
    """``GRACEFUL_SHUTDOWN_PORT``: a port in the allowed range that no common Lambda part uses."""
    spec = _limits.limits()["port"]
    expected = f"a port number from {spec['min']} to {spec['max']}"
    port = _whole_number(raw)
    if port is None or not spec["min"] <= port <= spec["max"]:
        raise ConfigError(ENV_PORT, expected, raw)
    user = _limits.reserved_by(port)
    if user is not None:
        raise ConfigError(ENV_PORT, f"a port not used by {user} (default {spec['default']})", raw)
    return port


def parse_timeout_ms(raw: str) -> int:
    """``GRACEFUL_SHUTDOWN_TIMEOUT_MS``: whole milliseconds inside the runtime's share."""
    spec = _limits.limits()["timeoutMs"]
    phase = _limits.limits()["shutdown"]
    ms = _whole_number(raw)
    if ms is None:
        raise ConfigError(ENV_TIMEOUT_MS, "milliseconds", raw)
    if not spec["min"] <= ms <= spec["max"]:
        raise ConfigError(
            ENV_TIMEOUT_MS,
            f"milliseconds from {spec['min']} to {spec['max']} (the runtime's "
            f"{phase['runtimeShareMs']} ms share of the shutdown phase, less "
            f"{phase['runtimeExitReserveMs']} ms for the last reports and the exit)",
            raw,
        )
    return ms
