"""The library's settings, read once from the environment into a plain object.

The extension refuses bad values at init (``Extension.ConfigInvalid``), so a
bad value only reaches the library when the layer is missing. Then the
library logs one line naming the variable and the value, and uses the
default: a typo must never stop a function from starting.
"""

from __future__ import annotations

import os
from collections import namedtuple

from . import _limits
from ._limits import (
    DEFAULT_PORT,
    DEFAULT_SECRET_FILE,
    DEFAULT_TIMEOUT_MS,
    ENV_PORT,
    ENV_SECRET_FILE,
    ENV_TIMEOUT_MS,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Callable, List, Mapping, NamedTuple, Optional, Tuple

    class _Config(NamedTuple):
        port: int = DEFAULT_PORT
        timeout_ms: int = DEFAULT_TIMEOUT_MS
        secret_file: str = DEFAULT_SECRET_FILE

    class _BadSetting(NamedTuple):
        error: ConfigError
        default: str
else:
    # collections.namedtuple, not typing.NamedTuple: the same classes without
    # importing typing (milliseconds at cold start; the runtime client does not).
    _Config = namedtuple("Config", ("port", "timeout_ms", "secret_file"),
                         defaults=(DEFAULT_PORT, DEFAULT_TIMEOUT_MS, DEFAULT_SECRET_FILE))
    _BadSetting = namedtuple("BadSetting", ("error", "default"))


class Config(_Config):
    """Where the reports go and how long the handlers may take. (A named tuple
    rather than a dataclass: dataclasses import inspect, slow at cold start.)

    - ``port``: loopback port of the extension's report listener (``GRACEFUL_SHUTDOWN_PORT``).
    - ``timeout_ms``: budget for all handlers together, from the signal (``GRACEFUL_SHUTDOWN_TIMEOUT_MS``).
    - ``secret_file``: file holding the per-environment secret (``GRACEFUL_SHUTDOWN_SECRET_FILE``).
    """

    __slots__ = ()

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


class BadSetting(_BadSetting):
    """A variable whose value was refused (``error``); ``default`` was used instead."""

    __slots__ = ()

    @property
    def var(self) -> str:
        return self.error.var

    def __str__(self) -> str:
        return f"{self.error}; using the default {self.default}"


def _quoted(value: str) -> str:
    import json  # only for a refused value

    return json.dumps(value, ensure_ascii=False)


def _whole_number(raw: str) -> Optional[int]:
    """``raw`` as a whole number if it is ASCII digits, with one ``+`` in front at
    most, between blanks (the extension's rule); otherwise None."""
    text = raw.strip()
    digits = text[1:] if text.startswith("+") else text
    return int(text) if digits and digits.isascii() and digits.isdigit() else None


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
