"""The shared contract: names, defaults and limits from ``spec/limits.json``.

The file ships inside the package (``limits.json``, a link to the repository's
``spec/limits.json`` that the build resolves into a real file), so the names
and numbers are read, never copied by hand.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any, Dict, Tuple

_parsed: Dict[str, Any] | None = None


def limits() -> Dict[str, Any]:
    """The parsed ``limits.json`` shipped with the package (read once)."""
    global _parsed
    if _parsed is None:
        _parsed = _read()
    return _parsed


def _read() -> Dict[str, Any]:
    import json  # the runtime client has loaded it already

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limits.json")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:  # installed in a zip: ask the import system (slower to import)
        from importlib import resources

        text = resources.files(__package__).joinpath("limits.json").read_text(encoding="utf-8")
    data: Dict[str, Any] = json.loads(text)
    return data


def reserved_by(port: int) -> str | None:
    """Who uses ``port`` already, if it is one of the reserved ports."""
    for entry in limits()["port"]["reserved"]:
        if entry["port"] == port:
            return str(entry["usedBy"])
    return None


def env_names() -> Tuple[str, str, str, str]:
    """The variables: port, timeout, secret file, metrics."""
    env = limits()["env"]
    return env["port"], env["timeoutMs"], env["secretFile"], env["metrics"]


EXTENSION_NAME: str = limits()["extensionName"]
ENV_PORT, ENV_TIMEOUT_MS, ENV_SECRET_FILE, ENV_METRICS = env_names()
DEFAULT_PORT: int = limits()["port"]["default"]
DEFAULT_TIMEOUT_MS: int = limits()["timeoutMs"]["default"]
DEFAULT_SECRET_FILE: str = limits()["secretFileDefault"]
REPORT_PATH: str = limits()["reportPath"]
SECRET_HEADER: str = limits()["secretHeader"]
MAX_REPORT_BYTES: int = limits()["maxReportBytes"]
#: Longest handler name a report carries, in bytes once escaped as JSON (without the quotes).
MAX_NAME_BYTES: int = limits()["maxNameBytes"]
#: Longest error text a report carries, measured the same way.
MAX_ERROR_BYTES: int = limits()["maxErrorBytes"]
#: Longest ``worker`` a report carries, measured the same way.
MAX_WORKER_BYTES: int = limits()["maxWorkerBytes"]
RUNTIME_SHARE_MS: int = limits()["shutdown"]["runtimeShareMs"]
#: The shutdown timings every library shares (``library`` in the file): the
#: exit is planned ``KILL_MARGIN_MS`` before Lambda's SIGKILL; pending reports
#: may hold it at least ``FLUSH_LIMIT_MS``; the last-resort watchdog waits at
#: least ``WATCHDOG_GRACE_MS`` past the budget; a report's connect and
#: write/answer limits, and the write limit on a handler's path.
KILL_MARGIN_MS: int = limits()["library"]["killMarginMs"]
FLUSH_LIMIT_MS: int = limits()["library"]["flushLimitMs"]
WATCHDOG_GRACE_MS: int = limits()["library"]["watchdogGraceMs"]
REPORT_CONNECT_TIMEOUT_MS: int = limits()["library"]["reportConnectTimeoutMs"]
REPORT_IO_TIMEOUT_MS: int = limits()["library"]["reportIoTimeoutMs"]
REPORT_NOW_TIMEOUT_MS: int = limits()["library"]["reportNowTimeoutMs"]
#: The handoff (docs/protocol.md, "Handoff"): where it is posted, the largest
#: body the extension reads, and how long a library waits for its answer.
HANDOFF_PATH: str = limits()["handoff"]["path"]
HANDOFF_MAX_BODY_BYTES: int = limits()["handoff"]["maxBodyBytes"]
HANDOFF_TIMEOUT_MS: int = limits()["library"]["handoffTimeoutMs"]
